"""Queries over endpoints, deployments, agents and traffic samples. Endpoints and deployments
come back as the domain's records (``domain/deployment.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.deployment import (
    Deployment,
    DeploymentState,
    Endpoint,
    Revert,
    Share,
    StepVerdict,
    Strategy,
)
from mlpipex.domain.endpoint import EndpointSpec, parse_endpoint
from mlpipex.store import schema_deploy as t

ACTIVE = [s for s in DeploymentState if s.active]


def _endpoint(row: sa.Row[Any] | None) -> Endpoint | None:
    if row is None:
        return None
    return Endpoint(
        id=row.id,
        name=row.name,
        model=row.model,
        spec=parse_endpoint(row.spec),
        traffic=tuple(Share.from_json(s) for s in row.traffic),
        stable_version=row.stable_version,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        workspace=row.workspace,
    )


def _deployment(row: sa.Row[Any] | None) -> Deployment | None:
    if row is None:
        return None
    return Deployment(
        id=row.id,
        endpoint_id=row.endpoint_id,
        from_version=row.from_version,
        to_version=row.to_version,
        strategy=Strategy(row.strategy),
        steps=tuple(row.steps),
        step=row.step,
        state=DeploymentState(row.state),
        analysis=tuple(StepVerdict.from_json(a) for a in row.analysis),
        revert=Revert.from_json(row.revert) if row.revert else None,
        reason=row.reason,
        step_started_at=row.step_started_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _deployments(rows: Any) -> list[Deployment]:
    return [d for d in (_deployment(r) for r in rows) if d is not None]


def endpoint_row(conn: Connection, ws: str, name: str, *, lock: bool = False) -> Endpoint | None:
    q = sa.select(t.endpoints).where(t.endpoints.c.workspace == ws, t.endpoints.c.name == name)
    return _endpoint(conn.execute(q.with_for_update() if lock else q).first())


def endpoint_by_id(conn: Connection, endpoint_id: int) -> Endpoint | None:
    """The endpoint whatever its workspace (the controller's read: the record names it)."""
    q = sa.select(t.endpoints).where(t.endpoints.c.id == endpoint_id)
    return _endpoint(conn.execute(q).first())


def endpoints(conn: Connection, ws: str, model: str | None = None) -> list[Endpoint]:
    q = sa.select(t.endpoints).where(t.endpoints.c.workspace == ws).order_by(t.endpoints.c.name)
    if model is not None:
        q = q.where(t.endpoints.c.model == model)
    return [e for e in (_endpoint(r) for r in conn.execute(q)) if e is not None]


def every_endpoint(conn: Connection) -> list[Endpoint]:
    """The endpoints of every workspace, each naming its own (for the background loops)."""
    q = sa.select(t.endpoints).order_by(t.endpoints.c.workspace, t.endpoints.c.name)
    return [e for e in (_endpoint(r) for r in conn.execute(q)) if e is not None]


def insert_endpoint(conn: Connection, ws: str, spec: EndpointSpec, actor: str, now: int) -> int:
    """A new endpoint of the workspace, serving nothing until its first deployment."""
    return int(
        conn.execute(
            sa.insert(t.endpoints)
            .values(
                workspace=ws,
                name=spec.name,
                model=spec.model,
                spec=spec.to_json(),
                traffic=[],
                stable_version=None,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            .returning(t.endpoints.c.id)
        ).scalar_one()
    )


def update_endpoint(
    conn: Connection,
    endpoint_id: int,
    now: int,
    *,
    spec: EndpointSpec | None = None,
    traffic: Sequence[Share] | None = None,
    stable_version: int | None = None,
) -> None:
    """Set what is given (None leaves a value as it is)."""
    values: dict[str, Any] = {"updated_at": now}
    if spec is not None:
        values["spec"] = spec.to_json()
    if traffic is not None:
        values["traffic"] = [s.to_json() for s in traffic]
    if stable_version is not None:
        values["stable_version"] = stable_version
    conn.execute(sa.update(t.endpoints).where(t.endpoints.c.id == endpoint_id).values(**values))


def delete_endpoint(conn: Connection, endpoint_id: int) -> None:
    conn.execute(sa.delete(t.endpoints).where(t.endpoints.c.id == endpoint_id))


def active_deployment(conn: Connection, endpoint_id: int) -> Deployment | None:
    return _deployment(
        conn.execute(
            sa.select(t.deployments)
            .where(t.deployments.c.endpoint_id == endpoint_id, t.deployments.c.state.in_(ACTIVE))
            .order_by(t.deployments.c.id.desc())
            .limit(1)
        ).first()
    )


def latest_deployment(conn: Connection, endpoint_id: int) -> Deployment | None:
    return _deployment(
        conn.execute(
            sa.select(t.deployments)
            .where(t.deployments.c.endpoint_id == endpoint_id)
            .order_by(t.deployments.c.id.desc())
            .limit(1)
        ).first()
    )


def deployments_of(conn: Connection, endpoint_id: int, limit: int = 20) -> list[Deployment]:
    return _deployments(
        conn.execute(
            sa.select(t.deployments)
            .where(t.deployments.c.endpoint_id == endpoint_id)
            .order_by(t.deployments.c.id.desc())
            .limit(limit)
        )
    )


def deployments_with_version(
    conn: Connection, ws: str, model: str, version: int
) -> list[tuple[str, Deployment]]:
    """(endpoint name, deployment) of every rollout to or from the version of the workspace's
    model, oldest first."""
    rows = conn.execute(
        sa.select(t.deployments, t.endpoints.c.name.label("endpoint"))
        .join(t.endpoints, t.endpoints.c.id == t.deployments.c.endpoint_id)
        .where(
            t.endpoints.c.workspace == ws,
            t.endpoints.c.model == model,
            sa.or_(t.deployments.c.to_version == version, t.deployments.c.from_version == version),
        )
        .order_by(t.deployments.c.id)
    )
    return [(r.endpoint, d) for r in rows if (d := _deployment(r)) is not None]


def insert_deployment(
    conn: Connection,
    *,
    endpoint_id: int,
    from_version: int | None,
    to_version: int,
    strategy: Strategy,
    steps: Sequence[int],
    state: DeploymentState,
    revert: Revert | None,
    now: int,
) -> int:
    """A deployment at its first step; a finished one (``state`` succeeded) ends at now."""
    values = {
        "endpoint_id": endpoint_id,
        "from_version": from_version,
        "to_version": to_version,
        "strategy": str(strategy),
        "steps": list(steps),
        "step": 0,
        "state": str(state),
        "analysis": [],
        "revert": revert.to_json() if revert else None,
        "reason": "",
        "step_started_at": now,
        "started_at": now,
        "finished_at": None if state.active else now,
    }
    return int(
        conn.execute(
            sa.insert(t.deployments).values(**values).returning(t.deployments.c.id)
        ).scalar_one()
    )


def update_deployment(
    conn: Connection,
    deployment_id: int,
    *,
    state: DeploymentState | None = None,
    step: int | None = None,
    step_started_at: int | None = None,
    analysis: Sequence[StepVerdict] | None = None,
    reason: str | None = None,
    finished_at: int | None = None,
) -> None:
    """Set what is given (None leaves a value as it is)."""
    given: dict[str, Any] = {
        "state": None if state is None else str(state),
        "step": step,
        "step_started_at": step_started_at,
        "analysis": None if analysis is None else [a.to_json() for a in analysis],
        "reason": reason,
        "finished_at": finished_at,
    }
    values = {k: v for k, v in given.items() if v is not None}
    conn.execute(
        sa.update(t.deployments).where(t.deployments.c.id == deployment_id).values(**values)
    )


def progressing(conn: Connection) -> list[Deployment]:
    """Deployments under way, unlocked (what a pass will judge, read before it writes)."""
    return _deployments(conn.execute(_PROGRESSING))


def claim_progressing(conn: Connection) -> list[Deployment]:
    """Deployments under way, locked; rows another server is advancing are skipped."""
    return _deployments(conn.execute(_PROGRESSING.with_for_update(skip_locked=True)))


_PROGRESSING = (
    sa.select(t.deployments)
    .where(t.deployments.c.state == DeploymentState.PROGRESSING)
    .order_by(t.deployments.c.id)
)
