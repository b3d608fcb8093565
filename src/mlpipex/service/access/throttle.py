"""Backoff after failed sign-ins (HTTP Basic and the UI's form), per user name and per client
address. Kept in the database, so several server replicas count together: a few free attempts,
then a lock that doubles with each further failure, up to a ceiling. A name that does not exist
is counted and locked like any other, so a lock says nothing about who has an account."""

from __future__ import annotations

from mlpipex.errors import Throttled
from mlpipex.service.context import Registry
from mlpipex.store.access import users as access

FREE_ATTEMPTS = {"user": 5, "client": 20}  # a client address may be many people behind a NAT
WINDOW_MS = 15 * 60_000  # failures are forgotten after this long without one
MAX_DELAY_S = 15 * 60


def delay_s(failures: int, free: int) -> int:
    """Seconds locked after the given count of failures in a row."""
    return 0 if failures < free else min(2 ** min(failures - free, 30), MAX_DELAY_S)


def _keys(user: str, client: str | None) -> list[tuple[str, str]]:
    keys = [("user", user[:256])]
    return [*keys, ("client", client[:256])] if client else keys


def check(reg: Registry, user: str, client: str | None) -> None:
    """Throttled when the user name or the client is locked; nothing else is done then."""
    now = reg.clock()
    with reg.store.read() as conn:
        until = access.locked_until(conn, _keys(user, client))
    if until > now:
        wait = -(-(until - now) // 1000)
        raise Throttled(
            f"too many failed sign-ins; try again in {wait} s", wait, hint="wait, then retry"
        )


def failed(reg: Registry, user: str, client: str | None) -> None:
    now = reg.clock()
    with reg.store.write() as conn:
        for scope, key in _keys(user, client):
            n = access.count_failure(conn, scope, key, now, now - WINDOW_MS)
            if wait := delay_s(n, FREE_ATTEMPTS[scope]):
                access.lock(conn, scope, key, now + wait * 1000)
        access.forget_failures(conn, now - WINDOW_MS)


def succeeded(reg: Registry, user: str) -> None:
    """A right password clears the user's count (the client's decays: one good account must
    not reset the count of a client guessing at others)."""
    with reg.store.write() as conn:
        access.clear_failures(conn, "user", user[:256])
