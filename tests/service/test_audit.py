from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from mlpipex.client import Client
from mlpipex.store import schema

pytestmark = pytest.mark.direct  # reaches into the database or objects, or tracks runs


def _history(client: Client, make_version: Callable[..., int]) -> None:
    make_version()
    make_version()
    client.promote("fraud", 1, "Staging")
    client.set_alias("fraud", "champion", 1)


def test_an_untouched_chain_verifies(client: Client, make_version: Callable[..., int]) -> None:
    _history(client, make_version)
    report = client.verify_audit()
    assert report.ok and report.checked == len(client.events()) == 5
    seqs = [e.seq for e in client.events()]
    assert seqs == list(range(1, 6))
    assert all(e.actor == "alice" for e in client.events())


def test_an_altered_event_is_named(client: Client, make_version: Callable[..., int]) -> None:
    _history(client, make_version)
    with client.registry.store.engine.begin() as conn:
        conn.execute(
            sa.update(schema.events).where(schema.events.c.seq == 3).values(actor="mallory")
        )
    report = client.verify_audit()
    assert not report.ok and report.broken_seq == 3 and "altered" in report.problem


def test_a_removed_event_is_named(client: Client, make_version: Callable[..., int]) -> None:
    _history(client, make_version)
    with client.registry.store.engine.begin() as conn:
        conn.execute(sa.delete(schema.events).where(schema.events.c.seq == 2))
    report = client.verify_audit()
    assert not report.ok and report.broken_seq == 2 and "missing" in report.problem


def test_removing_the_newest_events_is_detected(
    client: Client, make_version: Callable[..., int]
) -> None:
    _history(client, make_version)
    with client.registry.store.engine.begin() as conn:
        conn.execute(sa.delete(schema.events).where(schema.events.c.seq >= 4))
    report = client.verify_audit()
    assert not report.ok and "removed" in report.problem


def test_a_rehashed_forgery_breaks_the_link_to_the_next_event(
    client: Client, make_version: Callable[..., int]
) -> None:
    from mlpipex.domain.events import event_hash

    _history(client, make_version)
    e = client.events()[1]
    forged = event_hash(
        seq=e.seq,
        time=e.time,
        actor="mallory",
        kind=e.kind,
        model=e.model,
        version=e.version,
        reason=e.reason,
        payload=e.payload,
        prev_hash=e.prev_hash,
    )
    with client.registry.store.engine.begin() as conn:
        conn.execute(
            sa.update(schema.events)
            .where(schema.events.c.seq == e.seq)
            .values(actor="mallory", hash=forged)
        )
    report = client.verify_audit()
    assert not report.ok and report.broken_seq == e.seq + 1


def test_audit_cli_exit_codes(
    client: Client, make_version: Callable[..., int], backend, cli
) -> None:  # type: ignore[no-untyped-def]
    _history(client, make_version)
    ok = cli("audit", "--verify", env=backend.env())
    assert ok.code == 0 and "5 events, intact" in ok.out
    listing = cli("audit", "--model", "fraud", env=backend.env())
    assert listing.code == 0 and "transition_done" in listing.out and "alias_set" in listing.out
    with client.registry.store.engine.begin() as conn:
        conn.execute(
            sa.update(schema.events).where(schema.events.c.seq == 4).values(reason="forged")
        )
    bad = cli("audit", "--verify", env=backend.env())
    assert bad.code == 1 and "event 4" in bad.out
