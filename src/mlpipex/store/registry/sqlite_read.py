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
_JSON = frozenset(sql.JSON_COLUMNS)
_BOOL = frozenset(sql.BOOL_COLUMNS)


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
            if self._scalar("SELECT version_num FROM alembic_version", {}) != sql.SCHEMA:
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
        value = self._scalar(*_with(sql.SETTING, key=key))
        return None if value is None else str(value)

    def workspace_exists(self, name: str) -> bool:
        """Whether ``access.workspaces.get`` finds the workspace."""
        return bool(self._rows(*_with(sql.WORKSPACE, name=name)))

    def find_version(
        self, ws: str, model: str, *, version: int | None = None, alias: str | None = None
    ) -> VersionLookup | None:
        """As ``versions.find_version(..., details=True, files=True)``."""
        q = (
            _with(sql.VERSION_BY_ALIAS, ws=ws, model=model, alias=alias)
            if alias is not None
            else _with(sql.VERSION_BY_NUMBER, ws=ws, model=model, number=version)
        )
        rows = self._rows(*q)
        if not rows:
            return None
        row = rows[0]
        found = None if row.id is None else VersionRecord.of(row)
        full = None if found is None else to_version(found, row, files=True)
        return VersionLookup(row.found_model_id, row.alias_version, found, full)

    def model(self, ws: str, name: str) -> ModelRecord | None:
        """As ``models.model_row``."""
        rows = self._rows(*_with(sql.MODEL, ws=ws, name=name))
        return ModelRecord.of(rows[0]) if rows else None

    def newest_version(self, model_id: int, *, stage: str | None = None) -> ModelVersion | None:
        """As ``versions.newest_version(..., files=True)``."""
        q = (
            _with(sql.NEWEST_IN_STAGE, model_id=model_id, stage=stage)
            if stage is not None
            else _with(sql.NEWEST_VERSION, model_id=model_id)
        )
        rows = self._rows(*q)
        return to_version(VersionRecord.of(rows[0]), rows[0], files=True) if rows else None

    def _scalar(self, text: str, params: dict[str, object]) -> object:
        rows = self._execute(text, params).fetchall()
        return rows[0][0] if rows else None

    def _rows(self, text: str, params: dict[str, object]) -> list[Any]:
        cur = self._execute(text, params)
        names = [d[0] for d in cur.description]
        return [SimpleNamespace(**_decoded(names, r)) for r in cur.fetchall()]

    def _execute(self, text: str, params: dict[str, object]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(text, params)
        except (sqlite3.Error, OverflowError) as exc:  # OverflowError: an int past 64 bits
            raise Unreadable(str(exc)) from exc


def _with(
    statement: tuple[str, dict[str, object]], **given: object
) -> tuple[str, dict[str, object]]:
    text, fixed = statement
    return text, {**fixed, **given}


def _decoded(names: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    """A row's values as SQLAlchemy's result processors give them (JSON decoded, booleans)."""
    out = dict(zip(names, row, strict=True))
    for name in _JSON & out.keys():
        if out[name] is not None:
            out[name] = json.loads(out[name])
    for name in _BOOL & out.keys():
        if out[name] is not None:
            out[name] = bool(out[name])
    return out
