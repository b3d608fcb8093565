"""The append-only, hash-chained event log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.events import GENESIS, event_hash
from mlpipex.domain.models import Event
from mlpipex.store import schema as t
from mlpipex.store import webhooks
from mlpipex.store.engine import upsert_into


def append(
    conn: Connection,
    *,
    time: int,
    actor: str,
    kind: str,
    model: str | None = None,
    version: int | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event, chained to the previous one; the head row serializes concurrent appends."""
    payload = payload or {}
    head = _locked_head(conn)
    seq, prev = head.seq + 1, head.hash
    h = event_hash(
        seq=seq,
        time=time,
        actor=actor,
        kind=kind,
        model=model,
        version=version,
        reason=reason,
        payload=payload,
        prev_hash=prev,
    )
    conn.execute(
        sa.insert(t.events).values(
            seq=seq,
            time=time,
            actor=actor,
            kind=kind,
            model=model,
            version=version,
            reason=reason,
            payload=payload,
            prev_hash=prev,
            hash=h,
        )
    )
    conn.execute(sa.update(t.chain_head).where(t.chain_head.c.id == 1).values(seq=seq, hash=h))
    webhooks.enqueue(conn, seq, kind, time)
    return Event(seq, time, actor, kind, model, version, reason, payload, prev, h)


def _locked_head(conn: Connection) -> sa.Row[Any]:
    """The chain's head row, locked; created once (two first writers cannot both create it)."""
    select = sa.select(t.chain_head).where(t.chain_head.c.id == 1).with_for_update()
    head = conn.execute(select).first()
    if head is None:
        conn.execute(
            upsert_into(conn, t.chain_head)
            .values(id=1, seq=0, hash=GENESIS)
            .on_conflict_do_nothing()
        )
        head = conn.execute(select).first()
    assert head is not None
    return head


def _event(r: sa.Row[Any]) -> Event:
    return Event(
        r.seq,
        r.time,
        r.actor,
        r.kind,
        r.model,
        r.version,
        r.reason,
        r.payload or {},
        r.prev_hash,
        r.hash,
    )


def query(
    conn: Connection,
    *,
    model: str | None = None,
    version: int | None = None,
    kind: str | None = None,
    limit: int | None = None,
    before: int | None = None,
    newest_first: bool = False,
) -> list[Event]:
    q = sa.select(t.events)
    if model is not None:
        q = q.where(t.events.c.model == model)
    if version is not None:
        q = q.where(t.events.c.version == version)
    if kind is not None:
        q = q.where(t.events.c.kind == kind)
    if before is not None:
        q = q.where(t.events.c.seq < before)
    q = q.order_by(t.events.c.seq.desc() if newest_first else t.events.c.seq)
    if limit is not None:
        q = q.limit(limit)
    return [_event(r) for r in conn.execute(q)]


def scan(conn: Connection, batch: int = 5000) -> Iterator[Event]:
    """Every event in order, in batches, for verifying the whole chain."""
    last = 0
    while True:
        rows = conn.execute(
            sa.select(t.events).where(t.events.c.seq > last).order_by(t.events.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield _event(r)
        last = rows[-1].seq


def head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(sa.select(t.chain_head).where(t.chain_head.c.id == 1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def query_seqs(conn: Connection, seqs: list[int]) -> list[Event]:
    if not seqs:
        return []
    return [_event(r) for r in conn.execute(sa.select(t.events).where(t.events.c.seq.in_(seqs)))]
