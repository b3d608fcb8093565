"""Requests the server makes on a user's behalf (webhooks): only to public addresses, and to the
very address that was checked.

A name is resolved once; every address it gives must be global, IPv4 forms embedded in IPv6
(mapped, 6to4, NAT64, Teredo, compatible) included, or the URL is refused. The request then goes
to the first checked address, with the URL's name kept as the Host header and the TLS server
name (and certificate check), so a second DNS answer (rebinding) is never asked for.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from mlpipex.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not global, yet missing from some Python versions' is_global (3.11 counts 192.0.0.9 and
# multicast as global): the shared CGNAT range (cloud metadata at 100.100.100.200 lives there),
# IETF protocol assignments, benchmarking, "this network", reserved and every multicast range.
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "ff00::/8",
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_COMPAT = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and would reach through a gateway)."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in n for n in _NAT64) or ip in _COMPAT:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public(ip: IPAddress) -> bool:
    """True only for a globally routable unicast address, whatever IPv4 it embeds."""
    if not ip.is_global or any(ip.version == n.version and ip in n for n in _NOT_GLOBAL):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        return all(is_public(v4) for v4 in embedded_ipv4(ip))
    return True


@dataclass(frozen=True, slots=True)
class Pinned:
    """A URL whose host was resolved and checked: where to connect and what to call it."""

    url: str  # the URL with the checked address in place of the name
    host: str  # the Host header (the name, with its port when not the scheme's default)
    server_name: str  # the TLS server name and the name the certificate must carry


def pin(url: str, allow_private: bool, what: str = "webhook") -> Pinned:
    """Resolve url's host once and check every address; Invalid when one is not public (unless
    allow_private). Returns the URL to request, pinned to the first address."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a ValueError past 65535 or when not a number
    except ValueError:  # also an unclosed [ around an IPv6 address
        raise Invalid(f"{what} URL {url[:200]!r} is not a valid URL") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise Invalid(f"{what} URL {url[:200]!r} must be http(s)://host/...")
    name = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(name, port, proto=socket.IPPROTO_TCP)
    except OSError:
        raise Invalid(f"{what} host {name[:200]!r} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    refused = [a for a in addresses if not is_public(a)]
    if refused and not allow_private:
        raise Invalid(
            f"{what} URL {url[:200]!r} resolves to a private address ({refused[0]})",
            hint="the server refuses every address that is not public unless started with "
            "MLPIPEX_ALLOW_PRIVATE_WEBHOOKS=true",
        )
    import httpx  # here: every registry open imports this module, few send anything

    target = httpx.URL(url).copy_with(host=str(addresses[0]))
    return Pinned(str(target), httpx.URL(url).netloc.decode("ascii"), name)


def post(pinned: Pinned, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST body to the pinned address; the receiver's HTTP status."""
    import httpx

    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        # follow_redirects=False: a redirect would lead to an address nobody checked
        r = client.post(
            pinned.url,
            content=body,
            headers={**headers, "Host": pinned.host},
            extensions={"sni_hostname": pinned.server_name},
        )
    return r.status_code
