"""Queries over the prediction log's index (which Parquet object holds an endpoint's hour),
which logged prediction a request id names, and the index of the labels fed back for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema_monitor as t


@dataclass(frozen=True, slots=True)
class LogFile:
    """One Parquet object of an endpoint's prediction log, covering part of an hour."""

    endpoint: str
    hour: int
    digest: str
    rows: int
    versions: tuple[int, ...]
    first_time: int
    last_time: int


@dataclass(frozen=True, slots=True)
class FeedbackFile:
    """One Parquet object of an endpoint's labels, for predictions made in one hour."""

    endpoint: str
    hour: int
    digest: str
    rows: int
    versions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NamedPrediction:
    """A logged prediction that carries a request id, as feedback finds it."""

    endpoint: str
    request_id: str
    version: int
    time: int


def index(
    conn: Connection, ws: str, files: Sequence[LogFile], named: Sequence[NamedPrediction]
) -> None:
    """Index the workspace's log files and named predictions."""
    _insert_files(conn, t.prediction_logs, ws, files)
    if named:
        conn.execute(
            sa.insert(t.prediction_ids),
            [
                {
                    "workspace": ws,
                    "endpoint": n.endpoint,
                    "request_id": n.request_id,
                    "version": n.version,
                    "time": n.time,
                }
                for n in named
            ],
        )


def files_since(
    conn: Connection, ws: str, endpoint: str, since_ms: int
) -> list[tuple[str, tuple[int, ...]]]:
    """(digest, versions) of the workspace endpoint's log objects with a prediction after
    since_ms, oldest first."""
    c = t.prediction_logs.c
    rows = conn.execute(
        sa.select(c.digest, c.versions)
        .where(c.workspace == ws, c.endpoint == endpoint, c.last_time > since_ms)
        .order_by(t.prediction_logs.c.first_time)
    ).all()
    return [(r.digest, tuple(r.versions)) for r in rows]


# Request ids looked up per query: well under SQLite's bound on parameters.
_IDS_PER_QUERY = 900


def ids_after(
    conn: Connection, ws: str, endpoint: str, after: int
) -> Sequence[tuple[int, str, int, int]]:
    """(row id, request id, version, time) of the endpoint's named predictions whose row id
    is above after, in row order. Plain tuples: a mirror catching up may read millions."""
    c = t.prediction_ids.c
    return (
        conn.execute(
            sa.select(c.id, c.request_id, c.version, c.time)
            .where(c.workspace == ws, c.endpoint == endpoint, c.id > after)
            .order_by(c.id)
        )
        .tuples()
        .all()
    )


def named(
    conn: Connection, ws: str, endpoint: str, ids: Sequence[str], since: int
) -> dict[str, tuple[int, int]]:
    """Request id -> (version, time) of the latest prediction it names made at since or later;
    ids that name none are absent."""
    c = t.prediction_ids.c
    found: dict[str, tuple[int, int]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        for r in conn.execute(
            sa.select(c.request_id, c.version, c.time)
            .where(
                c.workspace == ws,
                c.endpoint == endpoint,
                c.request_id.in_(ids[start : start + _IDS_PER_QUERY]),
                c.time >= since,
            )
            .order_by(c.id)
        ):
            found[r[0]] = (r[1], r[2])
    return found


def delete_ids_before(conn: Connection, before: int, limit: int) -> int:
    """Delete up to limit request ids (of every workspace) of predictions made before the
    given time; returns how many went."""
    c = t.prediction_ids.c
    old = sa.select(c.id).where(c.time < before).limit(limit)
    return conn.execute(sa.delete(t.prediction_ids).where(c.id.in_(old))).rowcount


def index_feedback(conn: Connection, ws: str, files: Sequence[FeedbackFile]) -> None:
    _insert_files(conn, t.feedback_logs, ws, files)


def feedback_since(
    conn: Connection, ws: str, endpoint: str, hour: int
) -> list[tuple[str, tuple[int, ...]]]:
    """(digest, versions) of the endpoint's feedback objects from that hour on, in the order
    they were stored (a later label of the same id wins)."""
    c = t.feedback_logs.c
    rows = conn.execute(
        sa.select(c.digest, c.versions)
        .where(c.workspace == ws, c.endpoint == endpoint, c.hour >= hour)
        .order_by(c.id)
    ).all()
    return [(r.digest, tuple(r.versions)) for r in rows]


def _insert_files(
    conn: Connection, table: sa.Table, ws: str, files: Sequence[LogFile | FeedbackFile]
) -> None:
    """The records' fields are the table's columns; versions is stored as a JSON list."""
    if files:
        rows = [{**asdict(f), "workspace": ws, "versions": list(f.versions)} for f in files]
        conn.execute(sa.insert(table), rows)
