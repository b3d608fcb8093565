"""Queries over MLflow scorers: versions by (experiment, name), numbered from 1."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.evaluation import ScorerVersion
from mlpipex.store import schema_genai as g

S = g.scorers.c


def _version(r: Any) -> ScorerVersion:
    return ScorerVersion(
        str(r.experiment_id), r.name, r.version, r.scorer_id, r.serialized, r.created_at
    )


def latest(conn: Connection, experiment_id: int, name: str) -> ScorerVersion | None:
    q = (
        sa.select(g.scorers)
        .where(S.experiment_id == experiment_id, S.name == name)
        .order_by(S.version.desc())
        .limit(1)
    )
    r = conn.execute(q).first()
    return None if r is None else _version(r)


def insert(conn: Connection, experiment_id: int, v: ScorerVersion) -> None:
    conn.execute(
        sa.insert(g.scorers).values(
            experiment_id=experiment_id,
            name=v.name,
            version=v.version,
            scorer_id=v.scorer_id,
            serialized=v.serialized,
            created_at=v.creation_time,
        )
    )


def versions(conn: Connection, experiment_id: int, name: str, limit: int) -> list[ScorerVersion]:
    """A scorer's versions, oldest first."""
    q = sa.select(g.scorers).where(S.experiment_id == experiment_id, S.name == name)
    q = q.order_by(S.version).limit(limit)
    return [_version(r) for r in conn.execute(q)]


def latest_of_each(conn: Connection, experiment_ids: list[int]) -> list[ScorerVersion]:
    """Each scorer's newest version under the experiments, by experiment and name."""
    newest = (
        sa.select(S.experiment_id, S.name, sa.func.max(S.version).label("version"))
        .where(S.experiment_id.in_(experiment_ids))
        .group_by(S.experiment_id, S.name)
        .subquery()
    )
    n = newest.c
    q = (
        sa.select(g.scorers)
        .join(
            newest,
            sa.and_(S.experiment_id == n.experiment_id, S.name == n.name, S.version == n.version),
        )
        .order_by(S.experiment_id, S.name)
    )
    return [_version(r) for r in conn.execute(q)]


def get(conn: Connection, experiment_id: int, name: str, version: int) -> ScorerVersion | None:
    q = sa.select(g.scorers).where(
        S.experiment_id == experiment_id, S.name == name, S.version == version
    )
    r = conn.execute(q).first()
    return None if r is None else _version(r)


def delete(conn: Connection, experiment_id: int, name: str, version: int | None) -> int:
    q = sa.delete(g.scorers).where(S.experiment_id == experiment_id, S.name == name)
    if version is not None:
        q = q.where(S.version == version)
    return int(conn.execute(q).rowcount)
