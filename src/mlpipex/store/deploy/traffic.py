"""Queries over what agents report: the agents themselves and their traffic samples (request,
error and latency counts per endpoint and version), summed over windows for the rollout's
analysis, alerts, charts and the metrics scrape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.latency import merge
from mlpipex.store import schema_deploy as t


def upsert_agent(
    conn: Connection, ws: str, name: str, url: str, generation: int, errors: list[str], now: int
) -> None:
    """The agent of that name in the workspace (an agent of the same name elsewhere is another)."""
    conn.execute(sa.delete(t.agents).where(t.agents.c.workspace == ws, t.agents.c.name == name))
    conn.execute(
        sa.insert(t.agents).values(
            workspace=ws, name=name, url=url, generation=generation, errors=errors, last_seen=now
        )
    )


@dataclass(frozen=True, slots=True)
class AgentRecord:
    name: str
    url: str
    generation: int
    errors: tuple[str, ...]
    last_seen: int


def agents(conn: Connection, ws: str) -> list[AgentRecord]:
    rows = conn.execute(
        sa.select(t.agents).where(t.agents.c.workspace == ws).order_by(t.agents.c.name)
    )
    return [AgentRecord(a.name, a.url, a.generation, tuple(a.errors), a.last_seen) for a in rows]


@dataclass(frozen=True, slots=True)
class TrafficSample:
    """What one agent counted for one version of an endpoint since its previous report."""

    endpoint: str
    version: int
    agent: str
    time: int
    requests: int
    errors: int
    client_errors: int
    latency_buckets: tuple[int, ...]  # counts per bucket of LATENCY_BUCKETS_MS, and beyond
    latency_sum_ms: float


_SAMPLE_COLUMNS = [f.name for f in fields(TrafficSample)]


def insert_samples(conn: Connection, ws: str, samples: Sequence[TrafficSample]) -> None:
    """Samples of the workspace's endpoints."""
    if samples:
        conn.execute(
            sa.insert(t.traffic_samples),
            [
                {**asdict(s), "latency_buckets": list(s.latency_buckets), "workspace": ws}
                for s in samples
            ],
        )


def window(
    conn: Connection, ws: str, endpoint: str, version: int, since: int, until: int
) -> tuple[int, int, int, list[int]]:
    """(requests, errors, client errors, merged latency buckets) of one version of the
    workspace's endpoint in a window."""
    rows = conn.execute(
        sa.select(
            t.traffic_samples.c.requests,
            t.traffic_samples.c.errors,
            t.traffic_samples.c.client_errors,
            t.traffic_samples.c.latency_buckets,
        ).where(
            t.traffic_samples.c.workspace == ws,
            t.traffic_samples.c.endpoint == endpoint,
            t.traffic_samples.c.version == version,
            t.traffic_samples.c.time > since,
            t.traffic_samples.c.time <= until,
        )
    ).all()
    return (
        sum(r.requests for r in rows),
        sum(r.errors for r in rows),
        sum(r.client_errors for r in rows),
        merge([r.latency_buckets for r in rows]),
    )


def samples_since(conn: Connection, ws: str, endpoint: str, since: int) -> list[TrafficSample]:
    cols = [t.traffic_samples.c[n] for n in _SAMPLE_COLUMNS]
    rows = conn.execute(
        sa.select(*cols)
        .where(
            t.traffic_samples.c.workspace == ws,
            t.traffic_samples.c.endpoint == endpoint,
            t.traffic_samples.c.time > since,
        )
        .order_by(t.traffic_samples.c.time)
    )
    return [
        TrafficSample(**{**r._asdict(), "latency_buckets": tuple(r.latency_buckets)}) for r in rows
    ]


def totals(conn: Connection, ws: str) -> list[tuple[str, int, int, int, int, list[int], float]]:
    """Per (endpoint, version) of the workspace, everything ever reported: requests, errors,
    client errors, latency buckets and latency sum (the counters a metrics scrape exposes)."""
    acc: dict[tuple[str, int], list[Any]] = {}
    rows = conn.execute(
        sa.select(
            t.traffic_samples.c.endpoint,
            t.traffic_samples.c.version,
            t.traffic_samples.c.requests,
            t.traffic_samples.c.errors,
            t.traffic_samples.c.client_errors,
            t.traffic_samples.c.latency_buckets,
            t.traffic_samples.c.latency_sum_ms,
        ).where(t.traffic_samples.c.workspace == ws)
    )
    for r in rows:
        a = acc.setdefault((r.endpoint, r.version), [0, 0, 0, [], 0.0])
        a[0] += r.requests
        a[1] += r.errors
        a[2] += r.client_errors
        a[3].append(r.latency_buckets)
        a[4] += r.latency_sum_ms
    return [(e, v, a[0], a[1], a[2], merge(a[3]), a[4]) for (e, v), a in sorted(acc.items())]
