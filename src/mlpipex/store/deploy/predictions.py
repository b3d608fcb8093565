"""Queries over the prediction log's index: which Parquet object holds an endpoint's hour, and
which logged prediction a request id names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    if files:
        conn.execute(
            sa.insert(t.prediction_logs),
            [
                {
                    "workspace": ws,
                    "endpoint": f.endpoint,
                    "hour": f.hour,
                    "digest": f.digest,
                    "rows": f.rows,
                    "versions": list(f.versions),
                    "first_time": f.first_time,
                    "last_time": f.last_time,
                }
                for f in files
            ],
        )
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
