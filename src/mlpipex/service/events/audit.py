"""Reading the event log and verifying its hash chain."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mlpipex.domain.events import ADMIN_ONLY_FIELDS, GENESIS, REDACTED, event_hash
from mlpipex.domain.models import Event
from mlpipex.service.context import Registry
from mlpipex.store.events import log as events


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""


def list_events(
    reg: Registry,
    model: str | None = None,
    version: int | None = None,
    kind: str | None = None,
    limit: int | None = None,
    before: int | None = None,
    newest_first: bool = False,
) -> list[Event]:
    reg.require("viewer", model)
    with reg.store.read() as conn:
        found = events.query(
            conn,
            reg.workspace,
            model=model,
            version=version,
            kind=kind,
            limit=limit,
            before=before,
            newest_first=newest_first,
        )
    return found if reg.actor.can("admin") else [_redacted(e) for e in found]


def _redacted(e: Event) -> Event:
    """The event as a non-admin reads it (its hash still covers the stored payload)."""
    hidden = ADMIN_ONLY_FIELDS.get(e.kind, frozenset()) & e.payload.keys()
    if not hidden:
        return e
    return replace(e, payload={k: REDACTED if k in hidden else v for k, v in e.payload.items()})


def verify_chain(reg: Registry) -> ChainReport:
    """Recompute every hash of the workspace's chain; name the first event altered, removed or
    out of place."""
    reg.require("viewer")
    prev, expected_seq, n = GENESIS, 1, 0
    with reg.store.read() as conn:
        for e in events.scan(conn, reg.workspace):
            n += 1
            if e.seq != expected_seq:
                return ChainReport(False, n, expected_seq, f"event {expected_seq} is missing")
            if e.prev_hash != prev:
                return ChainReport(
                    False, n, e.seq, f"event {e.seq} does not follow event {e.seq - 1}"
                )
            h = event_hash(
                seq=e.seq,
                time=e.time,
                actor=e.actor,
                kind=e.kind,
                model=e.model,
                version=e.version,
                reason=e.reason,
                payload=e.payload,
                prev_hash=e.prev_hash,
            )
            if h != e.hash:
                return ChainReport(False, n, e.seq, f"event {e.seq} ({e.kind}) was altered")
            prev, expected_seq = e.hash, e.seq + 1
        head_seq, head_hash = events.head(conn, reg.workspace)
    if head_seq != expected_seq - 1 or head_hash != prev:
        return ChainReport(False, n, expected_seq, f"events after {expected_seq - 1} were removed")
    return ChainReport(True, n)
