"""Queries over MLflow 3 logged models: rows, tags, params, and their artifact files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema_mlflow as m

LM = m.logged_models.c


def insert(conn: Connection, **values: Any) -> None:
    conn.execute(sa.insert(m.logged_models).values(**values))


def row(conn: Connection, model_id: str) -> sa.Row[Any] | None:
    return conn.execute(sa.select(m.logged_models).where(LM.id == model_id)).first()


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


def _pairs(conn: Connection, table: sa.Table, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    c = table.c
    for mid, k, v in conn.execute(sa.select(c.model_id, c.key, c.value).where(c.model_id.in_(ids))):
        out[mid][k] = v
    return out


def tags_of(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    return _pairs(conn, m.logged_model_tags, ids)


def params_of(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    return _pairs(conn, m.logged_model_params, ids)


def search(
    conn: Connection,
    experiment_ids: Sequence[int],
    conditions: Sequence[sa.ColumnElement[bool]],
    order: Sequence[sa.ColumnElement[Any]],
    limit: int,
    offset: int,
) -> list[sa.Row[Any]]:
    q = (
        sa.select(m.logged_models)
        .where(LM.experiment_id.in_(experiment_ids), *conditions)
        .order_by(*order, LM.created_at.desc(), LM.id)
        .limit(limit)
        .offset(offset)
    )
    return list(conn.execute(q).all())
