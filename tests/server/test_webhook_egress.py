"""Webhooks reach only public addresses, and only the address that was checked: embedded and
shared IPv4 ranges refused; a name that resolves elsewhere after the check (DNS rebinding) is
never asked again. Name resolution runs inside a network namespace (tests/netns.py)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlpipex.service.events.egress import is_public
from tests.netns import isolated
from tests.server.test_webhooks import SECRET, Receiver

App = Callable[..., TestClient]

REFUSED = [
    "100.100.100.200",  # cloud metadata, in the shared CGNAT range
    "100.64.0.1",
    "192.0.0.9",
    "192.0.0.170",
    "169.254.169.254",
    "127.0.0.1",
    "10.0.0.1",
    "0.0.0.0",
    "239.1.2.3",
    "198.18.0.1",
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::a00:1",
    "::a9fe:a9fe",  # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "fe80::1",
    "fc00::1",
    "::1",
    "ff0e::1",
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2002:808:808::1", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://100.100.100.200/latest/meta-data",
        "http://192.0.0.9/",
        "http://[2002:a9fe:a9fe::]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[::ffff:a9fe:a9fe]/",
    ],
)
def test_creating_a_webhook_to_a_non_global_literal_is_refused(make_app: App, url: str) -> None:
    r = make_app().post("/api/v1/webhooks", json={"url": url, "events": ["*"], "secret": SECRET})
    assert r.status_code == 400 and "private address" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "url", ["http://1.1.1.1:99999/", "http://[::1/", "http://1.1.1.1:port/", "http://[zz]/"]
)
def test_a_webhook_url_that_does_not_parse_is_refused(make_app: App, url: str) -> None:
    r = make_app().post("/api/v1/webhooks", json={"url": url, "events": ["*"], "secret": SECRET})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID", r.text


class Resolver:
    """DNS answers for names under .test, per call (the last answer repeats); the rest as usual."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not (isinstance(host, str) and host in self.answers):
            return self._real(host, port, *args, **kwargs)
        self.calls.append(host)
        seq = self.answers[host]
        ip = seq[min(len(self.calls), len(seq)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port)))]


@pytest.fixture
def listener() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _hook(c: TestClient, host: str, receiver: Receiver) -> int:
    url = f"http://{host}:{receiver.server.server_address[1]}/hook"
    # Subscribed to no kind these tests cause, so the background sender never resolves the
    # name: only the test delivery does, and the resolver's count is exact.
    body = {"url": url, "events": ["version_registered"], "secret": SECRET}
    r = c.post("/api/v1/webhooks", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.mark.slow
@isolated
def test_delivery_connects_to_the_checked_address(
    make_app: App, listener: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Public when created and when checked for sending; loopback (the receiver) after that.
    resolver = Resolver(monkeypatch, {"rebind.test": ["93.184.216.34"] * 2 + ["127.0.0.1"]})
    c = make_app()
    r = c.post(f"/api/v1/webhooks/{_hook(c, 'rebind.test', listener)}/test")
    assert r.status_code == 400  # 93.184.216.34 is unreachable in the namespace
    assert listener.requests == []  # the rebound answer was never asked for
    assert resolver.calls == ["rebind.test"] * 2


@pytest.mark.slow
@isolated
def test_allowed_private_delivery_keeps_the_name_as_host(
    make_app: App, listener: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = Resolver(monkeypatch, {"hooks.test": ["127.0.0.1"]})
    c = make_app(allow_private_webhooks=True)
    wid = _hook(c, "hooks.test", listener)
    assert c.post(f"/api/v1/webhooks/{wid}/test").json() == {"status": 204}
    port = listener.server.server_address[1]
    assert listener.requests[0]["headers"]["Host"] == f"hooks.test:{port}"
    assert resolver.calls == ["hooks.test"] * 2  # once to create, once to send
