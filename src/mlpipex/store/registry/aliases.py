"""Queries over aliases: a model's names for its versions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema as t


def alias_version(conn: Connection, model_id: int, alias: str) -> int | None:
    return conn.execute(
        sa.select(t.aliases.c.version).where(
            t.aliases.c.model_id == model_id, t.aliases.c.alias == alias
        )
    ).scalar()


def set_alias(conn: Connection, model_id: int, alias: str, version: int) -> None:
    conn.execute(
        sa.delete(t.aliases).where(t.aliases.c.model_id == model_id, t.aliases.c.alias == alias)
    )
    conn.execute(sa.insert(t.aliases).values(model_id=model_id, alias=alias, version=version))


def delete_alias(conn: Connection, model_id: int, alias: str) -> bool:
    res = conn.execute(
        sa.delete(t.aliases).where(t.aliases.c.model_id == model_id, t.aliases.c.alias == alias)
    )
    return bool(res.rowcount)


def delete_aliases_of(conn: Connection, model_id: int, version: int) -> None:
    conn.execute(
        sa.delete(t.aliases).where(t.aliases.c.model_id == model_id, t.aliases.c.version == version)
    )
