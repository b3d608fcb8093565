"""Queries over endpoints, deployments, agents and traffic samples."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.latency import merge
from mlpipex.store import schema_deploy as t

ACTIVE = ("progressing", "paused")


def endpoint_row(conn: Connection, name: str, *, lock: bool = False) -> sa.Row[Any] | None:
    q = sa.select(t.endpoints).where(t.endpoints.c.name == name)
    return conn.execute(q.with_for_update() if lock else q).first()


def endpoint_by_id(conn: Connection, endpoint_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(t.endpoints).where(t.endpoints.c.id == endpoint_id)).first()


def endpoints(conn: Connection, model: str | None = None) -> list[sa.Row[Any]]:
    q = sa.select(t.endpoints).order_by(t.endpoints.c.name)
    if model is not None:
        q = q.where(t.endpoints.c.model == model)
    return list(conn.execute(q))


def insert_endpoint(
    conn: Connection,
    name: str,
    model: str,
    spec: dict[str, Any],
    traffic: list[dict[str, int]],
    stable: int | None,
    actor: str,
    now: int,
) -> int:
    return int(
        conn.execute(
            sa.insert(t.endpoints)
            .values(
                name=name,
                model=model,
                spec=spec,
                traffic=traffic,
                stable_version=stable,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            .returning(t.endpoints.c.id)
        ).scalar_one()
    )


def update_endpoint(conn: Connection, endpoint_id: int, now: int, **values: Any) -> None:
    conn.execute(
        sa.update(t.endpoints)
        .where(t.endpoints.c.id == endpoint_id)
        .values(updated_at=now, **values)
    )


def delete_endpoint(conn: Connection, endpoint_id: int) -> None:
    conn.execute(sa.delete(t.endpoints).where(t.endpoints.c.id == endpoint_id))


def active_deployment(conn: Connection, endpoint_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(t.deployments)
        .where(t.deployments.c.endpoint_id == endpoint_id, t.deployments.c.state.in_(ACTIVE))
        .order_by(t.deployments.c.id.desc())
        .limit(1)
    ).first()


def latest_deployment(conn: Connection, endpoint_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(t.deployments)
        .where(t.deployments.c.endpoint_id == endpoint_id)
        .order_by(t.deployments.c.id.desc())
        .limit(1)
    ).first()


def deployments_of(conn: Connection, endpoint_id: int, limit: int = 20) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(t.deployments)
            .where(t.deployments.c.endpoint_id == endpoint_id)
            .order_by(t.deployments.c.id.desc())
            .limit(limit)
        )
    )


def deployments_with_version(conn: Connection, model: str, version: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(t.deployments, t.endpoints.c.name.label("endpoint"))
            .join(t.endpoints, t.endpoints.c.id == t.deployments.c.endpoint_id)
            .where(
                t.endpoints.c.model == model,
                sa.or_(
                    t.deployments.c.to_version == version, t.deployments.c.from_version == version
                ),
            )
            .order_by(t.deployments.c.id)
        )
    )


def insert_deployment(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(
            sa.insert(t.deployments).values(**values).returning(t.deployments.c.id)
        ).scalar_one()
    )


def update_deployment(conn: Connection, deployment_id: int, **values: Any) -> None:
    conn.execute(
        sa.update(t.deployments).where(t.deployments.c.id == deployment_id).values(**values)
    )


def claim_progressing(conn: Connection) -> list[sa.Row[Any]]:
    """Deployments under way, locked; rows another server is advancing are skipped."""
    return list(
        conn.execute(
            sa.select(t.deployments)
            .where(t.deployments.c.state == "progressing")
            .order_by(t.deployments.c.id)
            .with_for_update(skip_locked=True)
        )
    )


def upsert_agent(
    conn: Connection, name: str, url: str, generation: int, errors: list[str], now: int
) -> None:
    conn.execute(sa.delete(t.agents).where(t.agents.c.name == name))
    conn.execute(
        sa.insert(t.agents).values(
            name=name, url=url, generation=generation, errors=errors, last_seen=now
        )
    )


def agents(conn: Connection) -> list[sa.Row[Any]]:
    return list(conn.execute(sa.select(t.agents).order_by(t.agents.c.name)))


def insert_samples(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(sa.insert(t.traffic_samples), rows)


def window(
    conn: Connection, endpoint: str, version: int, since: int, until: int
) -> tuple[int, int, int, list[int]]:
    """(requests, errors, client errors, merged latency buckets) of one version in a window."""
    rows = conn.execute(
        sa.select(
            t.traffic_samples.c.requests,
            t.traffic_samples.c.errors,
            t.traffic_samples.c.client_errors,
            t.traffic_samples.c.latency_buckets,
        ).where(
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


def samples_since(conn: Connection, endpoint: str, since: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(t.traffic_samples)
            .where(t.traffic_samples.c.endpoint == endpoint, t.traffic_samples.c.time > since)
            .order_by(t.traffic_samples.c.time)
        )
    )


def totals(conn: Connection) -> list[tuple[str, int, int, int, int, list[int], float]]:
    """Per (endpoint, version), everything ever reported: requests, errors, client errors,
    latency buckets and latency sum (the counters a metrics scrape exposes)."""
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
        )
    )
    for r in rows:
        a = acc.setdefault((r.endpoint, r.version), [0, 0, 0, [], 0.0])
        a[0] += r.requests
        a[1] += r.errors
        a[2] += r.client_errors
        a[3].append(r.latency_buckets)
        a[4] += r.latency_sum_ms
    return [(e, v, a[0], a[1], a[2], merge(a[3]), a[4]) for (e, v), a in sorted(acc.items())]
