"""Reading a version from a SQLite registry with the stdlib driver, read-only, running the SQL
SQLAlchemy compiled from the store's own statements (``sqlite_sql.py``), so that `show` starts
without importing SQLAlchemy (about 110 ms). The rows become the same records and domain values
(``records.py``) the store's ``find_version`` returns. Whatever it cannot read exactly as the
store would (another schema, a file SQLite refuses, a number SQLite cannot hold) raises
``Unreadable``, and the caller asks the store instead."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mlpipex.domain.models import ModelVersion
from mlpipex.store.registry import sqlite_sql as sql
from mlpipex.store.registry.records import (
    ModelRecord,
    VersionLookup,
    VersionRecord,
    to_version,
)

_BUSY_TIMEOUT_S = 60  # as the engine waits for a writer (store/engine.py)


class Unreadable(Exception):
    """This read needs the store itself (``Store``); not an error to show anyone."""


class PlainReader:
    """A read-only connection to a registry's SQLite file at the schema ``sqlite_sql`` was
    compiled for; use as a context manager."""

    def __init__(self, path: Path) -> None:
        try:
            uri = f"{path.resolve().as_uri()}?mode=ro"
            self._conn = sqlite3.connect(
                uri, uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None
            )
        except (sqlite3.Error, ValueError) as exc:
            raise Unreadable(str(exc)) from exc
        try:
            # one read transaction, as the store's lookup is: every read sees one snapshot
            self._execute("BEGIN", {})
            # a registry of another schema is migrated (or refused) by the store
            version = self._execute("SELECT version_num FROM alembic_version", {}).fetchone()
            if version is None or version[0] != sql.SCHEMA:
                raise Unreadable("another schema")
        except BaseException:
            self._conn.close()
            raise

    def __enter__(self) -> PlainReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def setting(self, key: str) -> str | None:
        """As ``settings.get_setting``."""
        rows = self._rows(sql.SETTING, key=key)
        return None if not rows or rows[0].value is None else str(rows[0].value)

    def workspace_exists(self, name: str) -> bool:
        """Whether ``access.workspaces.get`` finds the workspace."""
        return bool(self._rows(sql.WORKSPACE, name=name))

    def find_version(
        self, ws: str, model: str, *, version: int | None = None, alias: str | None = None
    ) -> VersionLookup | None:
        """As ``versions.find_version(..., details=True, files=True)``."""
        rows = (
            self._rows(sql.VERSION_BY_ALIAS, ws=ws, model=model, alias=alias)
            if alias is not None
            else self._rows(sql.VERSION_BY_NUMBER, ws=ws, model=model, number=version)
        )
        if not rows:
            return None
        row = rows[0]
        found = None if row.id is None else VersionRecord.of(row)
        full = None if found is None else to_version(found, row, files=True)
        return VersionLookup(row.found_model_id, row.alias_version, found, full)

    def model(self, ws: str, name: str) -> ModelRecord | None:
        """As ``models.model_row``."""
        rows = self._rows(sql.MODEL, ws=ws, name=name)
        return ModelRecord.of(rows[0]) if rows else None

    def newest_version(self, model_id: int, *, stage: str | None = None) -> ModelVersion | None:
        """As ``versions.newest_version(..., files=True)``."""
        rows = (
            self._rows(sql.NEWEST_IN_STAGE, model_id=model_id, stage=stage)
            if stage is not None
            else self._rows(sql.NEWEST_VERSION, model_id=model_id)
        )
        return to_version(VersionRecord.of(rows[0]), rows[0], files=True) if rows else None

    def _rows(self, q: sql.Compiled, **given: object) -> list[Any]:
        """The rows q gives, each value as SQLAlchemy's result processors give it."""
        cur = self._execute(q.sql, {**q.fixed, **given})
        names = [d[0] for d in cur.description]
        return [SimpleNamespace(**_decoded(q, names, r)) for r in cur.fetchall()]

    def _execute(self, text: str, params: dict[str, object]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(text, params)
        except (sqlite3.Error, OverflowError) as exc:  # OverflowError: an int past 64 bits
            raise Unreadable(str(exc)) from exc


def _decoded(q: sql.Compiled, names: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(names, row, strict=True))
    for name in q.json:
        if out[name] is not None:
            out[name] = json.loads(out[name])
    for name in q.flags:
        if out[name] is not None:
            out[name] = bool(out[name])
    return out
