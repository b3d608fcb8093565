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
from mlpipex.store.engine import upsert_into
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
    """The domain's model from its record, its tags and aliases read in one statement."""
    q = _details(conn.dialect.name == "postgresql", False)
    return _with_details(row, conn.execute(q, {"id": row.id}).one())


def model_with_details(
    conn: Connection, ws: str, name: str
) -> tuple[ModelRecord, RegisteredModel] | None:
    """The model's record and domain value (with its tags and aliases) in one statement."""
    q = _details(conn.dialect.name == "postgresql", True)
    r = conn.execute(q, {"ws": ws, "name": name}).first()
    if r is None:
        return None
    row = ModelRecord.of(r)
    return row, _with_details(row, r)


def _with_details(row: ModelRecord, r: sa.Row[Any]) -> RegisteredModel:
    return RegisteredModel(
        name=row.name,
        description=row.description,
        policy=row.policy,
        tags={k: v for k, v in r.d_tags or ()},  # PostgreSQL aggregates no rows to NULL
        aliases={a: v for a, v in r.d_aliases or ()},
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_version=row.last_version,
    )


@functools.cache  # built once per dialect and shape
def _details(pg: bool, by_name: bool) -> sa.Select[Any]:
    """The model's tags and aliases, each as one JSON array of pairs, with its row (by name) or
    alone (by id)."""
    m, mt, a = t.models, t.model_tags, t.aliases

    def pairs(label: str, table: sa.Table, key: sa.Column[Any], value: sa.Column[Any]) -> Any:
        pair = (sa.func.json_build_array if pg else sa.func.json_array)(key, value)
        agg = sa.func.json_agg(pair) if pg else sa.func.json_group_array(pair)
        sub = sa.select(agg).where(table.c.model_id == m.c.id).correlate(m).scalar_subquery()
        return sa.type_coerce(sub, sa.JSON).label(label)

    cols = (
        pairs("d_tags", mt, mt.c.key, mt.c.value),
        pairs("d_aliases", a, a.c.alias, a.c.version),
    )
    if by_name:
        return MODEL.add_columns(*cols)
    return sa.select(*cols).select_from(m).where(m.c.id == sa.bindparam("id"))


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
    set_tag(conn, t.model_tags, model_id, key, value)


def set_tag(conn: Connection, table: sa.Table, owner: int, key: str, value: str) -> None:
    """A model's or version's tag (table: its tags' table, keyed by the owner's id and the key)
    set in one statement: inserted, or its value moved."""
    q = _tag_upsert(conn.dialect.name, table)
    conn.execute(q, {table.primary_key.columns.values()[0].name: owner, "key": key, "value": value})


@functools.cache  # built once per dialect and table: every tag change sends it
def _tag_upsert(dialect: str, table: sa.Table) -> Any:
    ins = upsert_into(dialect, table)
    keys = table.primary_key.columns.values()
    return ins.on_conflict_do_update(index_elements=keys, set_={"value": ins.excluded.value})


def delete_model_tag(conn: Connection, model_id: int, key: str) -> bool:
    res = conn.execute(
        sa.delete(t.model_tags).where(
            t.model_tags.c.model_id == model_id, t.model_tags.c.key == key
        )
    )
    return bool(res.rowcount)
