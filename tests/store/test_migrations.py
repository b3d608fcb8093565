"""Migrations against real databases: the schema they build is the one the code declares, and
the workspace migration keeps every row (a rebuilt SQLite table must not cascade-delete)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

import mlpipex.store.engine as engine_mod
from mlpipex.store import Store, schema
from tests.conftest import PG_SERVER, _pg, postgres_database

_MIGRATIONS = str(Path(engine_mod.__file__).parent / "migrations")


def _upgrade(conn: sa.Connection, to: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, to)


def _differences(url: str) -> list[object]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    engine.dispose()
    # server defaults are compared loosely by alembic across dialects; types and keys are not
    return [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_default")]


def test_the_migrated_sqlite_schema_is_the_declared_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    Store(url)
    assert _differences(url) == []


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    """A new, empty database (the session's own is migrated already; a name of its own, since
    an engine is kept per URL and knows its schema current)."""
    with postgres_database(f"mlpipex_migrations_{os.getpid()}_{uuid.uuid4().hex[:8]}") as url:
        yield _pg(url)


@pytest.mark.skipif(PG_SERVER is None, reason="MLPIPEX_TEST_POSTGRES_URL is not set")
def test_the_migrated_postgresql_schema_is_the_declared_one(fresh_pg: str) -> None:
    Store(fresh_pg)
    assert _differences(fresh_pg) == []


def _seed_0011(conn: sa.Connection) -> None:
    run = conn.exec_driver_sql
    run(
        "INSERT INTO registered_models (id, name, description, last_version, created_at,"
        " updated_at) VALUES (1, 'fraud', '', 1, 1, 1)"
    )
    run(
        "INSERT INTO model_versions (id, model_id, version, stage, status, description,"
        " commit_dirty, artifact_digest, artifact_size, created_at, created_by, stage_entered_at)"
        " VALUES (1, 1, 1, 'None', 'READY', '', false, 'ab', 3, 1, 'me', 1)"
    )
    run("INSERT INTO version_metrics (version_id, key, value) VALUES (1, 'auc', 0.9)")
    run("INSERT INTO aliases (model_id, alias, version) VALUES (1, 'champion', 1)")
    run("INSERT INTO chain_head (id, seq, hash) VALUES (1, 1, 'h1')")
    run(
        "INSERT INTO events (seq, time, actor, kind, model, version, reason, payload,"
        " prev_hash, hash) VALUES (1, 1, 'me', 'model_created', 'fraud', NULL, '', '{}',"
        " 'g', 'h1')"
    )
    run(
        "INSERT INTO experiments (id, name, lifecycle_stage, created_at, updated_at)"
        " VALUES (5, 'exp', 'active', 1, 1)"
    )
    run(
        "INSERT INTO runs (id, experiment_id, name, status, lifecycle_stage, user_id,"
        " start_time, commit_dirty) VALUES ('r1', 5, 'run', 'FINISHED', 'active', 'me', 1,"
        " false)"
    )


def _migrate_from_0011(url: str) -> None:
    engine = engine_mod.make_engine(url)
    with engine.connect() as conn:
        if url.startswith("sqlite"):
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        with conn.begin():
            _upgrade(conn, "0011")
            _seed_0011(conn)
    engine.dispose()
    Store(url)  # migrates to the head, as any first use does


def _after(url: str) -> dict[str, object]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        q = conn.exec_driver_sql
        out = {
            "models": q("SELECT workspace, name FROM registered_models").all(),
            "versions": q("SELECT count(*) FROM model_versions").scalar(),
            "metrics": q("SELECT count(*) FROM version_metrics").scalar(),
            "aliases": q("SELECT count(*) FROM aliases").scalar(),
            "runs": q("SELECT count(*) FROM runs").scalar(),
            "events": q("SELECT workspace, seq, hash FROM events").all(),
            "head": q("SELECT workspace, seq, hash FROM chain_heads").all(),
            "experiments": q("SELECT workspace, name FROM experiments").all(),
            "workspaces": q("SELECT name FROM workspaces").all(),
        }
    engine.dispose()
    return out


def _expected() -> dict[str, object]:
    return {
        "models": [("default", "fraud")],
        "versions": 1,
        "metrics": 1,
        "aliases": 1,
        "runs": 1,
        "events": [("default", 1, "h1")],
        "head": [("default", 1, "h1")],
        "experiments": [("default", "exp")],
        "workspaces": [("default",)],
    }


def test_workspaces_migration_keeps_every_row_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    _migrate_from_0011(url)
    assert _after(url) == _expected()


@pytest.mark.skipif(PG_SERVER is None, reason="MLPIPEX_TEST_POSTGRES_URL is not set")
def test_workspaces_migration_keeps_every_row_on_postgresql(fresh_pg: str) -> None:
    _migrate_from_0011(fresh_pg)
    assert _after(fresh_pg) == _expected()
