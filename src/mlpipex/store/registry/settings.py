"""The registry's settings: keys recorded once for every client (the object store's URL)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.store import schema as t
from mlpipex.store.engine import upsert_into

# one statement for every key, which ``scripts/gen_sql.py`` also compiles for the plain reader
SETTING = sa.select(t.settings.c.value).where(
    t.settings.c.key == sa.bindparam("key", type_=sa.String)
)


def get_setting(conn: Connection, key: str) -> str | None:
    return conn.execute(SETTING, {"key": key}).scalar()


def record_setting(conn: Connection, key: str, value: str) -> None:
    """Record key's value unless one is recorded: the first of concurrent writers wins (many
    processes opening a new registry at once must not collide on the key)."""
    ins = upsert_into(conn, t.settings).values(key=key, value=value)
    conn.execute(ins.on_conflict_do_nothing())
