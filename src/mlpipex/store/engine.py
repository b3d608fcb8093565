"""Opening the database: engine settings per dialect, schema migration on first use, and the
translation of database errors into MLPipeX's own, once, at the transaction boundary."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    DatabaseError,
    DataError,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import InterfaceError as SAInterfaceError

from mlpipex.errors import Conflict, Invalid, MLPipeXError, Unavailable

SCHEMA_HEAD = "0014"
_MIGRATION_LOCK = 72_430_119
_MIGRATIONS = Path(__file__).parent / "migrations"


BUSY_TIMEOUT_S = 60  # how long SQLite waits for a lock another process holds


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        _on_driver(dbapi_conn, f"PRAGMA {pragma}")


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front, so two writers never deadlock upgrading a read lock.
    # Sent to the driver itself: SQLAlchemy's execution path cost half of an empty transaction.
    begin = "BEGIN IMMEDIATE" if conn.get_execution_options().get("mlpipex_write") else "BEGIN"
    _on_driver(conn, begin)


def _on_driver(conn: Connection | sqlite3.Connection, sql: str) -> None:
    """Run sql on SQLite's own connection (conn's, or conn itself), outside SQLAlchemy's
    execution path; an error is raised as SQLAlchemy raises the driver's, so that the store
    translates it as any other."""
    driver = conn.connection.driver_connection if isinstance(conn, Connection) else conn
    assert driver is not None  # a connection in use always has its driver's
    try:
        driver.execute(sql)
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc


def _create_private(path: str) -> None:
    """Create the database file readable by its owner alone (it holds password and token hashes
    and sealed secrets); SQLite gives its -wal and -shm files the same mode."""
    if not path or path.startswith(":"):
        return  # in memory
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _json_loads(text: str) -> Any:
    """SQLite's JSON columns read by orjson (a page of 50 versions decodes 200 detail arrays; the
    standard library took a fifth of its time), or by the standard library where orjson refuses
    what it reads (NaN, integers past 64 bits), so every value reads as it did."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}
        # the path as it is: parsed as a URL, %XX would be decoded and ? taken for options
        literal = sa.engine.URL.create("sqlite", database=path)
        engine = sa.create_engine(literal, connect_args=connect_args, json_deserializer=_json_loads)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it costs a round trip per transaction; a dropped connection surfaces once as
    # Unavailable and the pool replaces it.
    return sa.create_engine(url, pool_size=5, max_overflow=10, pool_recycle=1800)


# Engines are shared per URL within a process (the server, the SDK, the CLI run in-process), so
# opening a registry again costs neither a new connection nor another schema check. A few are
# kept; an engine pushed out is disposed (it stays usable and reconnects if used again).
_ENGINES: OrderedDict[str, tuple[Engine, bool]] = OrderedDict()
_ENGINES_KEPT = 8
_ENGINES_LOCK = threading.Lock()


def _shared_engine(url: str) -> tuple[Engine, bool]:
    """The engine for url and whether its schema is known to be current."""
    with _ENGINES_LOCK:
        if url in _ENGINES:
            _ENGINES.move_to_end(url)
            return _ENGINES[url]
        entry = _ENGINES[url] = (make_engine(url), False)
        while len(_ENGINES) > _ENGINES_KEPT:
            _, (old, _) = _ENGINES.popitem(last=False)
            old.dispose()
        return entry


def _mark_current(url: str) -> None:
    with _ENGINES_LOCK:
        if url in _ENGINES:
            _ENGINES[url] = (_ENGINES[url][0], True)


# What the database, not the statement, is to blame for: unreachable, locked, read-only, not a
# database at all (SQLite's DatabaseError), an aborted transaction (PostgreSQL's InternalError).
# A wrong statement or one the database cannot run is a bug, never "try again".
_UNAVAILABLE = (OperationalError, SAInterfaceError, DatabaseError)
_BUGS = (ProgrammingError, NotSupportedError)


class Store:
    """The metadata database: ``read()`` and ``write()`` each give one transaction."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        try:
            self.engine, current = _shared_engine(url)
            if migrate and not current:
                self._ensure_schema()
                _mark_current(url)
        except (MLPipeXError, *_BUGS):
            raise
        except _UNAVAILABLE as exc:
            raise Unavailable(
                f"cannot open the database {_redact(url)}: {_first_line(exc.orig)}"
            ) from exc

    def close(self) -> None:
        """Release this store; the shared engine's pool stays for the next open of the URL."""

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self._translated(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A connection for reads that need no transaction. On PostgreSQL each statement then
        commits alone, one round trip where ``read()`` adds a BEGIN and a COMMIT; under READ
        COMMITTED each statement sees its own snapshot either way. Not for streamed results (a
        server-side cursor lives in a transaction). SQLite is in-process: a plain ``read()``,
        and its connections keep the transaction control ``_sqlite_begin`` relies on."""
        if self.dialect == "sqlite":
            with self.read() as conn:
                yield conn
            return
        with (
            self._translated(),
            self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
        ):
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        with (
            self._translated(),
            self.engine.connect().execution_options(mlpipex_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            raise Conflict(
                f"the registry changed under this operation ({_first_line(exc.orig)})",
                hint="run it again",
            ) from exc
        except (OverflowError, DataError) as exc:  # a number no column holds (SQLite, PostgreSQL)
            raise Invalid("a number is out of the range the registry stores") from exc
        except _BUGS:
            raise
        except _UNAVAILABLE as exc:
            raise Unavailable(
                f"database error on {_redact(self.url)}: {_first_line(exc.orig)}"
            ) from exc

    # -- schema --------------------------------------------------------------------------------
    def schema_revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError):
            return None

    def _ensure_schema(self) -> None:
        if self.schema_revision() != SCHEMA_HEAD:
            self.upgrade()

    def upgrade(self) -> None:
        """Apply the Alembic migrations, once even when many processes start together."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                # A migration that rebuilds a table (SQLite's only way to change a key) drops
                # the old one; with foreign keys enforced that would cascade into its children.
                # The pragma is read only outside a transaction, so it goes to the driver.
                _on_driver(conn, "PRAGMA foreign_keys=OFF")
                conn = conn.execution_options(mlpipex_write=True)
            else:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            finally:
                if self.dialect == "sqlite":
                    _on_driver(conn, "PRAGMA foreign_keys=ON")
                else:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                    conn.commit()


def upsert_into(conn: Connection | str, table: sa.Table) -> Any:
    """An INSERT that can say ON CONFLICT, in the connection's dialect (SQLite or PostgreSQL),
    or the dialect named (a statement built once per dialect)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = conn if isinstance(conn, str) else conn.dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def insert_many(
    conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert rows (tuples, in the order of columns) with one executemany. On SQLite the rows go
    to the driver as they are: SQLAlchemy's processing of each row's parameters costs more than
    SQLite inserting it (1,000 metric rows: about 2 ms of 5). PostgreSQL keeps SQLAlchemy's path,
    which sends many rows in one multi-row INSERT (one round trip)."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_sqlite_insert(table.name, tuple(columns)), list(rows))
        return
    conn.execute(sa.insert(table), [dict(zip(columns, r, strict=True)) for r in rows])


@functools.cache
def _sqlite_insert(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'


def _first_line(exc: object) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _redact(url: str) -> str:
    """A database URL without its password, for messages and logs (a SQLite one as it is: it
    names a path, which parsing would change)."""
    if url.startswith("sqlite"):
        return url
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]
