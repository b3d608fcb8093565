"""Which logged prediction a request id names (the ``prediction_ids`` table), mirrored in this
process: a dict per endpoint (of a workspace) asked about that catches up on the endpoint's rows
added since it last looked (a range of the primary key), so a batch of 10,000 labels costs
10,000 dict lookups instead of 10,000 index probes through SQL. Ids a mirror lacks (mirrors are
bounded, and a row committed late can sit below the high-water mark) are asked of the table, so
every answer is the table's.

Labels match predictions made within ``HORIZON_MS`` (90 days) of their arrival; older rows are
pruned from the table by the server's background loop (``prune``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from mlpipex.service.context import Registry
from mlpipex.store.deploy import predictions as logs

MAX_MIRRORED = 2_000_000  # ids over every mirror; past it the least recently asked go
HORIZON_MS = 90 * 86_400_000  # a label for an older prediction is unknown; its row is pruned
PRUNE_CHUNK = 10_000  # rows deleted per write transaction, so writers wait little
PRUNE_CHUNKS = 100  # per pass; the rest at the next

Hit = tuple[int, int]  # (version, time) of a logged prediction
Found = dict[str, Hit]


@dataclass
class _Mirror:
    """One endpoint's ids in one database."""

    last_id: int = 0
    found: Found = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


# (database URL, workspace, endpoint) -> its mirror, least recently asked first.
_mirrors: OrderedDict[tuple[str, str, str], _Mirror] = OrderedDict()
_lock = threading.Lock()  # guards _mirrors itself; each mirror's catch-up holds its own lock


def lookup(reg: Registry, endpoint: str, ids: Sequence[str]) -> list[Hit | None]:
    """Per id: (version, time) of the prediction it names (the latest, if one was reused), or
    None for an id the log does not know (or older than the horizon)."""
    cutoff = reg.clock() - HORIZON_MS
    ws = reg.workspace
    mirror = _mirror(reg.store.url, ws, endpoint)
    with mirror.lock, reg.store.read() as conn:
        _catch_up(conn, ws, endpoint, mirror)
        found = mirror.found
        hits = [h if h is not None and h[1] >= cutoff else None for h in map(found.get, ids)]
        if None in hits:
            pairs = list(zip(ids, hits, strict=True))
            missing = sorted({i for i, h in pairs if h is None})
            asked = logs.named(conn, ws, endpoint, missing, cutoff)
            hits = [h if h is not None else asked.get(i) for i, h in pairs]
    _evict()
    return hits


def forget(url: str) -> None:
    """Drop this process's mirrors of one database, for when its rows were removed or renumbered
    behind them (a restore, or a test emptying the tables): they would answer from before."""
    with _lock:
        for key in [k for k in _mirrors if k[0] == url]:
            del _mirrors[key]


def _mirror(url: str, ws: str, endpoint: str) -> _Mirror:
    with _lock:
        mirror = _mirrors.pop((url, ws, endpoint), None) or _Mirror()
        _mirrors[(url, ws, endpoint)] = mirror  # now the most recently asked
        return mirror


def _evict() -> None:
    """Drop the least recently asked mirrors while all of them hold more than MAX_MIRRORED."""
    with _lock:
        total = sum(len(m.found) for m in _mirrors.values())
        while total > MAX_MIRRORED and len(_mirrors) > 1:
            total -= len(_mirrors.popitem(last=False)[1].found)


def _catch_up(conn: Connection, ws: str, endpoint: str, mirror: _Mirror) -> None:
    rows = logs.ids_after(conn, ws, endpoint, mirror.last_id)
    if not rows:
        return
    found = mirror.found
    for _, request_id, version, time in rows:
        if len(found) >= MAX_MIRRORED:  # start again: what is dropped is asked of the table
            found = mirror.found = {}
        found[request_id] = (version, time)
    mirror.last_id = rows[-1][0]


def prune(reg: Registry) -> int:
    """Delete the ids of predictions older than the horizon, a chunk per transaction; returns
    how many went."""
    cutoff = reg.clock() - HORIZON_MS
    deleted = 0
    for _ in range(PRUNE_CHUNKS):
        with reg.store.write() as conn:
            n = logs.delete_ids_before(conn, cutoff, PRUNE_CHUNK)
        deleted += n
        if n < PRUNE_CHUNK:
            break
    return deleted
