"""Queries over MLflow 3 logged models: rows, tags, params, and their artifact files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema_mlflow as m
from mlpipex.store.engine import upsert_into
from mlpipex.store.ids import in_ids
from mlpipex.store.tracking.records import LoggedModelRecord
from mlpipex.store.tracking.runs import (
    experiment_ids_in,
    in_workspace,
    read_value,
    stored_value,
)

LM = m.logged_models.c


def insert(conn: Connection, **values: Any) -> None:
    conn.execute(sa.insert(m.logged_models).values(**values))


def row(conn: Connection, ws: str, model_id: str) -> LoggedModelRecord | None:
    """The logged model, when its experiment is in the workspace."""
    q = sa.select(m.logged_models).where(LM.id == model_id, in_workspace(LM.experiment_id, ws))
    found = conn.execute(q).first()
    return None if found is None else LoggedModelRecord.of(found)


def update(conn: Connection, model_id: str, **values: Any) -> None:
    conn.execute(sa.update(m.logged_models).where(LM.id == model_id).values(**values))


def delete(conn: Connection, model_id: str) -> None:
    conn.execute(sa.delete(m.artifact_files).where(m.artifact_files.c.scope == model_id))
    conn.execute(sa.delete(m.logged_models).where(LM.id == model_id))


def _upsert(conn: Connection, table: sa.Table, model_id: str, items: Mapping[str, str]) -> None:
    if not items:
        return
    conn.execute(sa.delete(table).where(table.c.model_id == model_id, table.c.key.in_(list(items))))
    conn.execute(
        sa.insert(table), [{"model_id": model_id, "key": k, "value": v} for k, v in items.items()]
    )


def set_tags(conn: Connection, model_id: str, tags: Mapping[str, str]) -> None:
    _upsert(conn, m.logged_model_tags, model_id, tags)


def set_params(conn: Connection, model_id: str, params: Mapping[str, str]) -> None:
    _upsert(conn, m.logged_model_params, model_id, params)


def delete_tag(conn: Connection, model_id: str, key: str) -> bool:
    t = m.logged_model_tags.c
    res = conn.execute(sa.delete(m.logged_model_tags).where(t.model_id == model_id, t.key == key))
    return bool(res.rowcount)


_PAIRS = {
    table: sa.select(table.c.model_id, table.c.key, table.c.value).where(in_ids(table.c.model_id))
    for table in (m.logged_model_tags, m.logged_model_params)
}


def _pairs(conn: Connection, table: sa.Table, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for mid, k, v in conn.execute(_PAIRS[table], {"ids": list(ids)}):
        out[mid][k] = v
    return out


def tags_of(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    return _pairs(conn, m.logged_model_tags, ids)


def params_of(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    return _pairs(conn, m.logged_model_params, ids)


def search(
    conn: Connection,
    ws: str,
    experiment_ids: Sequence[int],
    conditions: Sequence[sa.ColumnElement[bool]],
    order: Sequence[sa.ColumnElement[Any]],
    limit: int,
    offset: int,
) -> list[LoggedModelRecord]:
    q = (
        sa.select(m.logged_models)
        .where(LM.experiment_id.in_(experiment_ids_in(ws, experiment_ids)), *conditions)
        .order_by(*order, LM.created_at.desc(), LM.id)
        .limit(limit)
        .offset(offset)
    )
    return [LoggedModelRecord.of(r) for r in conn.execute(q)]


# -- metrics logged with a model_id ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelMetric:
    """A metric a run logged for a logged model, on the dataset it was measured on."""

    model_id: str
    run_id: str
    key: str
    value: float
    timestamp: int
    step: int
    dataset_name: str | None = None
    dataset_digest: str | None = None


MM = m.logged_model_metrics.c


def existing(conn: Connection, ws: str, ids: Sequence[str]) -> set[str]:
    """Which of ids are logged models in the workspace."""
    q = sa.select(LM.id).where(LM.id.in_(ids), in_workspace(LM.experiment_id, ws))
    return set(conn.execute(q).scalars())


def put_metrics(conn: Connection, metrics: Sequence[ModelMetric]) -> None:
    """Record each metric once: the same key, time, step and run again is kept as first logged
    (MLflow's primary key)."""
    if not metrics:
        return
    rows = []
    for x in metrics:
        value, is_nan = stored_value(x.value)
        rows.append(
            {
                "model_id": x.model_id,
                "run_id": x.run_id,
                "key": x.key,
                "value": value,
                "is_nan": is_nan,
                "timestamp": x.timestamp,
                "step": x.step,
                "dataset_name": x.dataset_name,
                "dataset_digest": x.dataset_digest,
            }
        )
    conn.execute(upsert_into(conn, m.logged_model_metrics).on_conflict_do_nothing(), rows)


_METRICS = (
    sa.select(m.logged_model_metrics)
    .where(in_ids(MM.model_id))
    .order_by(MM.key, MM.step, MM.timestamp)
)


def metrics_of(conn: Connection, ids: Sequence[str]) -> dict[str, list[ModelMetric]]:
    out: dict[str, list[ModelMetric]] = defaultdict(list)
    for r in conn.execute(_METRICS, {"ids": list(ids)}):
        out[r.model_id].append(
            ModelMetric(
                r.model_id,
                r.run_id,
                r.key,
                read_value(r.value, r.is_nan),
                r.timestamp,
                r.step,
                r.dataset_name,
                r.dataset_digest,
            )
        )
    return out


def with_dataset(name: str, digest: str | None) -> sa.Select[tuple[str]]:
    """The ids of logged models with a metric measured on the dataset (any digest when None)."""
    cond = MM.dataset_name == name
    if digest:
        cond = sa.and_(cond, MM.dataset_digest == digest)
    return sa.select(MM.model_id).where(cond)
