"""Queries over workspaces, their quotas and what each one holds."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.workspaces import Quota, Quotas, Usage, Workspace
from mlpipex.store import schema as t
from mlpipex.store import schema_deploy as d
from mlpipex.store import schema_genai as g
from mlpipex.store import schema_mlflow as m
from mlpipex.store import schema_monitor as mon
from mlpipex.store import schema_traces as tr

_W = t.workspaces.c


def _workspace(r: sa.Row[Any]) -> Workspace:
    quotas = Quotas(r.max_models, r.max_versions, r.max_bytes, r.max_endpoints)
    return Workspace(r.name, r.description, r.default_artifact_root, r.created_at, quotas)


# one statement for every name, which ``scripts/gen_sql.py`` also compiles for the plain reader
WORKSPACE = sa.select(t.workspaces).where(_W.name == sa.bindparam("name", type_=sa.String))


def get(conn: Connection, name: str, *, lock: bool = False) -> Workspace | None:
    r = conn.execute(_by_name(lock), {"name": name}).first()
    return None if r is None else _workspace(r)


@functools.cache  # built once per shape: every registration checks the quotas
def _by_name(lock: bool) -> sa.Select[Any]:
    return WORKSPACE.with_for_update() if lock else WORKSPACE


def list_all(conn: Connection, only: frozenset[str] | None = None) -> list[Workspace]:
    q = sa.select(t.workspaces).order_by(_W.name)
    if only is not None:
        q = q.where(_W.name.in_(sorted(only)))
    return [_workspace(r) for r in conn.execute(q)]


def insert(
    conn: Connection, name: str, description: str, artifact_root: str | None, now: int
) -> None:
    conn.execute(
        sa.insert(t.workspaces).values(
            name=name, description=description, default_artifact_root=artifact_root, created_at=now
        )
    )


def update(
    conn: Connection, name: str, *, description: str | None, artifact_root: str | None
) -> None:
    """Change what is given (None: unchanged)."""
    values = {"description": description, "default_artifact_root": artifact_root}
    changed = {k: v for k, v in values.items() if v is not None}
    if changed:
        conn.execute(sa.update(t.workspaces).where(_W.name == name).values(**changed))


def set_quotas(conn: Connection, name: str, quotas: Quotas) -> None:
    conn.execute(
        sa.update(t.workspaces)
        .where(_W.name == name)
        .values(
            max_models=quotas.models,
            max_versions=quotas.versions,
            max_bytes=quotas.bytes,
            max_endpoints=quotas.endpoints,
        )
    )


def delete(conn: Connection, name: str) -> None:
    """The workspace, its roles, grants, webhooks, agents and its audit chain (the caller has
    checked it holds no model, experiment or endpoint)."""
    # its experiments (deleted ones, an unused Default) cascade to their runs
    conn.execute(sa.delete(t.experiments).where(t.experiments.c.workspace == name))
    # what its endpoints left behind, so a workspace made again by that name starts empty
    left = (
        d.traffic_samples,
        mon.alerts,
        mon.prediction_logs,
        mon.prediction_ids,
        mon.feedback_logs,
    )
    for table in (t.webhooks, t.model_grants, t.events, t.chain_heads, d.agents, *left):
        conn.execute(sa.delete(table).where(table.c.workspace == name))
    conn.execute(sa.delete(t.workspace_roles).where(t.workspace_roles.c.workspace == name))
    conn.execute(sa.delete(t.workspaces).where(_W.name == name))


def used(conn: Connection, name: str, quota: Quota) -> int:
    """How much of quota the workspace uses: one count (a registration checking its version
    quota does not also sum the bytes)."""
    return int(conn.execute(_used(quota), {"ws": name}).scalar_one())


@functools.cache  # built once per quota: a registration checks its quotas on every call
def _used(quota: Quota) -> sa.Select[Any]:
    m, v, e = t.models.c, t.versions.c, d.endpoints.c
    ws = sa.bindparam("ws", type_=sa.String)
    of_models = t.versions.join(t.models)
    match quota:
        case Quota.MODELS:
            return sa.select(sa.func.count()).where(m.workspace == ws)
        case Quota.VERSIONS:
            return sa.select(sa.func.count()).select_from(of_models).where(m.workspace == ws)
        case Quota.BYTES:
            total = sa.func.coalesce(sa.func.sum(v.artifact_size), 0)
            return sa.select(total).select_from(of_models).where(m.workspace == ws)
        case Quota.ENDPOINTS:
            return sa.select(sa.func.count()).where(e.workspace == ws)


def usage(conn: Connection, name: str) -> Usage:
    return Usage(**{q.value: used(conn, name, q) for q in Quota})


def holds(conn: Connection, name: str) -> list[str]:
    """What keeps the workspace from being deleted: 'N models', 'N experiments', ... An
    experiment counts while it is active and holds a run, a logged model or a trace (a deleted
    one, or a Default made but never used, goes with the workspace)."""
    e = t.experiments.c
    used = sa.or_(
        *(
            sa.exists().where(table.c.experiment_id == e.id)
            for table in (t.runs, m.logged_models, tr.traces)
        )
    )
    counts = {
        "models": sa.select(sa.func.count()).where(t.models.c.workspace == name),
        "experiments": sa.select(sa.func.count()).where(
            e.workspace == name, e.lifecycle_stage == "active", used
        ),
        "endpoints": sa.select(sa.func.count()).where(d.endpoints.c.workspace == name),
        "evaluation datasets": sa.select(sa.func.count()).where(
            g.eval_datasets.c.workspace == name
        ),
    }
    out = []
    for what, q in counts.items():
        if n := conn.execute(q).scalar_one():
            out.append(f"{n} {what}")
    return out
