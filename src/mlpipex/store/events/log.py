"""The append-only, hash-chained event log."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.events import GENESIS, event_hash
from mlpipex.domain.models import Event
from mlpipex.store import schema as t
from mlpipex.store.engine import upsert_into
from mlpipex.store.events import webhooks


def append(
    conn: Connection,
    ws: str,
    *,
    time: int,
    actor: str,
    kind: str,
    model: str | None = None,
    version: int | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event to the workspace's chain, after its previous event; the workspace's head
    row serializes concurrent appends there (other workspaces append beside it)."""
    payload = payload or {}
    head = _locked_head(conn, ws)
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
    insert, move_head = _appending()
    conn.execute(
        insert,
        {
            "workspace": ws,
            "seq": seq,
            "time": time,
            "actor": actor,
            "kind": kind,
            "model": model,
            "version": version,
            "reason": reason,
            "payload": payload,
            "prev_hash": prev,
            "hash": h,
        },
    )
    conn.execute(move_head, {"ws": ws, "new_seq": seq, "new_hash": h})
    if head.hooked:  # read with the head: a workspace without webhooks costs no more statements
        webhooks.enqueue(conn, ws, seq, kind, time)
    return Event(seq, time, actor, kind, model, version, reason, payload, prev, h)


# Built once: every registration and tag change appends, and SQLAlchemy would otherwise build
# and compute the cache key of each statement on every call.
@functools.cache
def _appending() -> tuple[sa.Insert, sa.Update]:
    h = t.chain_heads.c
    move = sa.update(t.chain_heads).where(h.workspace == sa.bindparam("ws"))
    return sa.insert(t.events), move.values(
        seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash")
    )


@functools.cache
def _head() -> sa.Select[Any]:
    """The head row, locked, and whether the workspace has an active webhook (not locked)."""
    heads, w = t.chain_heads, t.webhooks.c
    ws = sa.bindparam("ws", type_=sa.String)
    hooked = sa.exists().where(w.workspace == ws, w.active.is_(True)).label("hooked")
    return sa.select(heads, hooked).where(heads.c.workspace == ws).with_for_update()


def _locked_head(conn: Connection, ws: str) -> sa.Row[Any]:
    """The workspace chain's head row, locked; created once (two first writers cannot both
    create it)."""
    head = conn.execute(_head(), {"ws": ws}).first()
    if head is None:
        conn.execute(
            upsert_into(conn, t.chain_heads)
            .values(workspace=ws, seq=0, hash=GENESIS)
            .on_conflict_do_nothing()
        )
        head = conn.execute(_head(), {"ws": ws}).first()
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
    ws: str,
    *,
    model: str | None = None,
    version: int | None = None,
    kind: str | None = None,
    limit: int | None = None,
    before: int | None = None,
    newest_first: bool = False,
) -> list[Event]:
    q = sa.select(t.events).where(t.events.c.workspace == ws)
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


def scan(conn: Connection, ws: str, batch: int = 10_000) -> Iterator[Event]:
    """Every event of the workspace's chain in order, streamed (a server-side cursor on
    PostgreSQL), in constant memory. The payload is read as text and parsed here: the driver's
    JSON decoding and full row processing cost more than hashing the chain (1,000,000 events:
    43 s then, 18 s now)."""
    e = t.events.c
    q = (
        sa.select(
            e.seq,
            e.time,
            e.actor,
            e.kind,
            e.model,
            e.version,
            e.reason,
            sa.cast(e.payload, sa.Text),
            e.prev_hash,
            e.hash,
        )
        .where(e.workspace == ws)
        .order_by(e.seq)
    )
    for r in conn.execution_options(yield_per=batch).execute(q):
        payload = json.loads(r[7]) if r[7] else {}
        yield Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], payload, r[8], r[9])


def head(conn: Connection, ws: str) -> tuple[int, str]:
    row = conn.execute(sa.select(t.chain_heads).where(t.chain_heads.c.workspace == ws)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def query_seqs(conn: Connection, ws: str, seqs: list[int]) -> list[Event]:
    if not seqs:
        return []
    q = sa.select(t.events).where(t.events.c.workspace == ws, t.events.c.seq.in_(seqs))
    return [_event(r) for r in conn.execute(q)]
