"""Which logged prediction a request id names (the ``prediction_ids`` table), mirrored in this
process: dicts per endpoint that catch up on the rows added since they last looked (a range of
the primary key), so a batch of 10,000 labels costs 10,000 dict lookups instead of 10,000 index
probes through SQL. Ids the mirror lacks (it is bounded, and a row committed late can sit below
its high-water mark) are asked of the table, so every answer is the table's."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.service.context import Registry
from mlpipex.store import schema_monitor as t

MAX_MIRRORED = 2_000_000  # ids per endpoint; past it the mirror starts again from new rows
# Request ids looked up per query: well under SQLite's bound on parameters.
_CHUNK = 900

Hit = tuple[int, int]  # (version, time) of a logged prediction
Found = dict[str, Hit]


@dataclass
class _Mirror:
    """One database's ids, per endpoint."""

    last_id: int = 0
    endpoints: dict[str, Found] = field(default_factory=dict)


_mirrors: dict[str, _Mirror] = {}
_lock = threading.Lock()


def lookup(reg: Registry, endpoint: str, ids: Sequence[str]) -> list[Hit | None]:
    """Per id: (version, time) of the prediction it names (the latest, if one was reused), or
    None for an id the log does not know."""
    with _lock, reg.store.read() as conn:
        mirror = _mirrors.setdefault(reg.store.url, _Mirror())
        _catch_up(conn, mirror)
        hits = list(map(mirror.endpoints.get(endpoint, {}).get, ids))
        if None in hits:
            pairs = list(zip(ids, hits, strict=True))
            asked = _query(conn, endpoint, sorted({i for i, h in pairs if h is None}))
            hits = [h if h is not None else asked.get(i) for i, h in pairs]
    return hits


def _catch_up(conn: Connection, mirror: _Mirror) -> None:
    c = t.prediction_ids.c
    rows = conn.execute(
        sa.select(c.id, c.endpoint, c.request_id, c.version, c.time)
        .where(c.id > mirror.last_id)
        .order_by(c.id)
    ).all()
    if not rows:
        return
    for r in rows:
        found = mirror.endpoints.setdefault(r[1], {})
        if len(found) >= MAX_MIRRORED:  # start again: what is dropped is asked of the table
            found = mirror.endpoints[r[1]] = {}
        found[r[2]] = (r[3], r[4])
    mirror.last_id = rows[-1][0]


def _query(conn: Connection, endpoint: str, ids: Sequence[str]) -> Found:
    c = t.prediction_ids.c
    found: Found = {}
    for start in range(0, len(ids), _CHUNK):
        for r in conn.execute(
            sa.select(c.request_id, c.version, c.time)
            .where(c.endpoint == endpoint, c.request_id.in_(ids[start : start + _CHUNK]))
            .order_by(c.id)
        ):
            found[r[0]] = (r[1], r[2])
    return found
