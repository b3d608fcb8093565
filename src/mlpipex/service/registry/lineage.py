"""Lineage of a version: datasets -> (pipeline stage) -> run -> version -> stage history ->
deployments (every rollout that took it in or out of an endpoint)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.models import DatasetRef, Event, ModelVersion
from mlpipex.service.context import Registry
from mlpipex.service.registry.versions import get_version
from mlpipex.store.deploy import endpoints as deploy
from mlpipex.store.events import log as events
from mlpipex.store.tracking import runs


@dataclass(frozen=True)
class StageChange:
    time: int
    actor: str
    from_stage: str
    to_stage: str
    reason: str


@dataclass(frozen=True)
class Lineage:
    version: ModelVersion
    datasets: tuple[DatasetRef, ...]
    run: dict[str, Any] | None
    stages: list[StageChange]
    deployments: list[dict[str, Any]] = field(default_factory=list)


def lineage(reg: Registry, name: str, version: int) -> Lineage:
    v = get_version(reg, f"{name}/{version}", files=False)
    with reg.store.read() as conn:
        history = events.query(
            conn, reg.workspace, model=name, version=version, kind=ev.TRANSITION_DONE
        )
        run = _run(conn, reg.workspace, v)
        rollouts = [
            {
                "endpoint": endpoint,
                "deployment": d.id,
                "from_version": d.from_version,
                "to_version": d.to_version,
                "state": d.state,
                "strategy": d.strategy,
                "started_at": d.started_at,
                "reason": d.reason,
            }
            for endpoint, d in deploy.deployments_with_version(conn, reg.workspace, name, version)
        ]
    return Lineage(v, v.datasets, run, [_change(e) for e in history], rollouts)


def _run(conn: Connection, ws: str, v: ModelVersion) -> dict[str, Any] | None:
    """The source run as recorded by tracking (params, metrics, commit, inputs), or what the
    version says of it when the run is not in this registry."""
    if v.run_id is None:
        return None
    row = runs.run_row(conn, ws, v.run_id)
    if row is None:
        return {"id": v.run_id, "commit": v.commit, "metrics": v.metrics}
    exp = runs.experiment_row(conn, ws, id=row.experiment_id)
    commit = row.commit and row.commit + (" (dirty)" if row.commit_dirty else "")
    d = runs.details_of(conn, [row.id], params_and_tags=False)
    return {
        "id": row.id,
        "name": row.name,
        "experiment": exp.name if exp else str(row.experiment_id),
        "status": row.status,
        "commit": commit,
        "entry_point": row.entry_point,
        "params": runs.params_of(conn, [row.id]).get(row.id, {}),
        "metrics": {k: val for k, val, _, _ in d.metrics[row.id]},
        "datasets": {i.name: i.digest for i in d.inputs[row.id]},
    }


def _change(e: Event) -> StageChange:
    p = e.payload
    return StageChange(e.time, e.actor, str(p.get("from")), str(p.get("to")), e.reason)
