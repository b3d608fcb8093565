"""Queries over registered models and their tags."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from mlpipex.domain.models import RegisteredModel
from mlpipex.domain.stage import Stage
from mlpipex.store import schema as t
from mlpipex.store.registry.records import ModelRecord

# one statement for every name, which ``scripts/gen_sql.py`` also compiles for the plain reader
MODEL = sa.select(t.models).where(
    t.models.c.workspace == sa.bindparam("ws", type_=sa.String),
    t.models.c.name == sa.bindparam("name", type_=sa.String),
)


def model_row(conn: Connection, ws: str, name: str, *, lock: bool = False) -> ModelRecord | None:
    row = conn.execute(_model_by_name(lock), {"ws": ws, "name": name}).first()
    return None if row is None else ModelRecord.of(row)


# The statements below are built once (per shape) with bound parameters: SQLAlchemy otherwise
# builds each and computes its cache key on every call, which costs more than SQLite running it.
@functools.cache
def _model_by_name(lock: bool) -> sa.Select[Any]:
    return MODEL.with_for_update() if lock else MODEL


@functools.cache
def _of_model(table: sa.Table, *cols: str) -> sa.Select[Any]:
    return sa.select(*(table.c[c] for c in cols)).where(table.c.model_id == sa.bindparam("id"))


def insert_model(
    conn: Connection,
    ws: str,
    name: str,
    description: str,
    policy: dict[str, Any] | None,
    now: int,
) -> int:
    return int(
        conn.execute(
            sa.insert(t.models)
            .values(
                workspace=ws,
                name=name,
                description=description,
                policy=policy,
                last_version=0,
                created_at=now,
                updated_at=now,
            )
            .returning(t.models.c.id)
        ).scalar_one()
    )


def ensure_model(conn: Connection, ws: str, name: str, now: int) -> tuple[ModelRecord, bool]:
    """The model, created when missing; safe against a concurrent creator."""
    row = model_row(conn, ws, name)
    if row is not None:
        return row, False
    try:
        with conn.begin_nested():
            insert_model(conn, ws, name, "", None, now)
        created = True
    except IntegrityError:
        created = False
    row = model_row(conn, ws, name)
    assert row is not None
    return row, created


def update_model(
    conn: Connection,
    model_id: int,
    now: int,
    *,
    name: str | None = None,
    description: str | None = None,
) -> None:
    """Rename and/or describe the model (None: unchanged); with neither, only mark it updated."""
    values = {"name": name, "description": description}
    changed = {k: v for k, v in values.items() if v is not None}
    conn.execute(
        sa.update(t.models).where(t.models.c.id == model_id).values(updated_at=now, **changed)
    )


def set_policy(conn: Connection, model_id: int, policy: dict[str, Any] | None, now: int) -> None:
    """The model's own policy (None: back to the registry's default)."""
    conn.execute(
        sa.update(t.models).where(t.models.c.id == model_id).values(policy=policy, updated_at=now)
    )


def delete_model(conn: Connection, model_id: int) -> None:
    conn.execute(sa.delete(t.models).where(t.models.c.id == model_id))


def to_model(conn: Connection, row: ModelRecord) -> RegisteredModel:
    tags: dict[str, str] = dict(
        conn.execute(_of_model(t.model_tags, "key", "value"), {"id": row.id}).all()
    )
    aliases: dict[str, int] = dict(
        conn.execute(_of_model(t.aliases, "alias", "version"), {"id": row.id}).all()
    )
    return RegisteredModel(
        name=row.name,
        description=row.description,
        policy=row.policy,
        tags=tags,
        aliases=aliases,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_version=row.last_version,
    )


def list_model_rows(
    conn: Connection,
    ws: str,
    query: str | None,
    limit: int,
    after: str | None,
    only: frozenset[str] | None = None,
) -> list[ModelRecord]:
    """Models by name; ``only`` restricts them in the query (what a user may see)."""
    q = sa.select(t.models).where(t.models.c.workspace == ws).order_by(t.models.c.name).limit(limit)
    if only is not None:
        q = q.where(t.models.c.name.in_(sorted(only)))
    if query:
        q = q.where(t.models.c.name.ilike(f"%{_escape_like(query)}%", escape="\\"))
    if after:
        q = q.where(t.models.c.name > after)
    return [ModelRecord.of(r) for r in conn.execute(q)]


def stage_summary(conn: Connection, model_ids: Sequence[int]) -> dict[int, dict[str, list[int]]]:
    """model id -> stage -> versions in it (stage None left out)."""
    out: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    rows = conn.execute(
        sa.select(t.versions.c.model_id, t.versions.c.stage, t.versions.c.version)
        .where(t.versions.c.model_id.in_(model_ids), t.versions.c.stage != Stage.NONE)
        .order_by(t.versions.c.version)
    )
    for mid, stage, version in rows:
        out[mid][stage].append(version)
    return out


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def set_model_tag(conn: Connection, model_id: int, key: str, value: str) -> None:
    conn.execute(
        sa.delete(t.model_tags).where(
            t.model_tags.c.model_id == model_id, t.model_tags.c.key == key
        )
    )
    conn.execute(sa.insert(t.model_tags).values(model_id=model_id, key=key, value=value))


def delete_model_tag(conn: Connection, model_id: int, key: str) -> bool:
    res = conn.execute(
        sa.delete(t.model_tags).where(
            t.model_tags.c.model_id == model_id, t.model_tags.c.key == key
        )
    )
    return bool(res.rowcount)
