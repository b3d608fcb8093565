from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

import mlpipex.store.engine as engine_mod
from mlpipex.client import Client
from mlpipex.errors import Unavailable
from mlpipex.store import Store


def test_schema_head_constant_matches_the_migrations() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine_mod.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == engine_mod.SCHEMA_HEAD


def test_sqlite_is_migrated_on_first_use_and_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'r' / 'registry.db'}")
    assert store.schema_revision() == engine_mod.SCHEMA_HEAD
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.upgrade()  # idempotent
    assert store.schema_revision() == engine_mod.SCHEMA_HEAD
    store.close()


def test_an_unreachable_database_is_unavailable_without_the_password() -> None:
    import pytest

    with pytest.raises(Unavailable) as exc:
        Store("postgresql+psycopg://user:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(exc.value) and "127.0.0.1" in str(exc.value)


def test_db_upgrade_command(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("db", "upgrade", env={"MLPIPEX_URI": str(tmp_path / ".mlpipex")})
    assert r.code == 0 and engine_mod.SCHEMA_HEAD in r.out
    db = sa.create_engine(f"sqlite:///{tmp_path / '.mlpipex' / 'registry.db'}")
    with db.connect() as conn:
        assert "registered_models" in sa.inspect(conn).get_table_names()
    db.dispose()


def test_recording_a_setting_twice_keeps_the_first(tmp_path: Path) -> None:
    # Many processes opening a new registry at once each record the objects URL: no collision.
    from mlpipex.store import registry

    store = Store(f"sqlite:///{tmp_path / 'registry.db'}")
    with store.write() as conn:
        registry.record_setting(conn, "objects_uri", "/first")
        registry.record_setting(conn, "objects_uri", "/second")
    with store.read() as conn:
        assert registry.get_setting(conn, "objects_uri") == "/first"


def test_a_new_registry_and_its_key_are_private_to_their_owner(tmp_path: Path) -> None:
    from mlpipex.client import Client

    root = tmp_path / ".mlpipex"
    with Client(str(root)) as c:
        c.create_model("m")
        c.registry.secrets.seal("x")  # creates the key file
        files = [root / "registry.db", root / "registry.db-wal", root / "registry.db-shm"]
        files.append(root / "secret.key")
        for f in files:
            assert f.stat().st_mode & 0o777 == 0o600, f


@pytest.mark.direct
def test_a_lookup_runs_outside_a_transaction_and_leaves_the_pool_as_it_was(client: Client) -> None:
    store = client.registry.store
    pg = store.dialect == "postgresql"
    with store.lookup() as conn:
        if pg:  # each statement commits alone, so a SET LOCAL ends with its own statement
            conn.exec_driver_sql("SET LOCAL statement_timeout = '4321ms'")
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() != "4321ms"
        else:  # SQLite keeps the transaction control its writers rely on (_sqlite_begin)
            assert conn.connection.dbapi_connection.isolation_level is None  # type: ignore[union-attr]
    for _ in range(3):  # the connections lookups used serve transactions again
        with store.write() as conn:
            if pg:
                conn.exec_driver_sql("SET LOCAL statement_timeout = '4321ms'")
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "4321ms"
            else:
                assert conn.connection.dbapi_connection.isolation_level is None  # type: ignore[union-attr]
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_a_write_lock_held_elsewhere_is_unavailable_with_the_database_named(
    tmp_path: Path,
) -> None:
    """SQLite's BEGIN goes to the driver itself; a lock it cannot take within the busy timeout
    is still the registry's Unavailable, as any other database error."""
    db = tmp_path / "registry.db"
    store = Store(f"sqlite:///{db}")
    with store.engine.connect() as conn:  # the pool's one connection: no minute-long wait here
        conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Unavailable, match="database is locked") as exc, store.write():
            pass
        assert str(db) in str(exc.value)
        with store.read() as conn:  # readers never wait (WAL)
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        other.rollback()
        other.close()
    with store.write() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_a_file_that_is_not_a_database_is_unavailable_in_the_store_s_words(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    root = tmp_path / ".mlpipex"
    root.mkdir()
    (root / "registry.db").write_bytes(b"not a database " * 100)
    with pytest.raises(Unavailable, match="file is not a database") as exc:
        Store(f"sqlite:///{root / 'registry.db'}")
    assert "sqlite3" not in str(exc.value) and str(root) in str(exc.value)
    r = cli("models", "list", env={"MLPIPEX_URI": str(root)})
    assert r.code == Unavailable.exit_code and "file is not a database" in r.err
    assert "Traceback" not in r.err and "sqlite3" not in r.err


def test_a_database_another_process_holds_is_unavailable_on_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pragmas every connection runs first wait for the lock, then fail as the store's
    error, however the driver words it."""
    db = tmp_path / "registry.db"
    Store(f"sqlite:///{db}").engine.dispose()  # made and migrated, no connection left open
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("CREATE TABLE held (x)")
    monkeypatch.setattr(engine_mod, "BUSY_TIMEOUT_S", 0.05)
    monkeypatch.setattr(engine_mod, "_ENGINES", type(engine_mod._ENGINES)())
    try:
        with pytest.raises(Unavailable, match="database is locked") as exc:
            Store(f"sqlite:///{db}")
        assert "sqlite3" not in str(exc.value) and str(db) in str(exc.value)
    finally:
        other.rollback()
        other.close()


@pytest.mark.parametrize("folder", ["a%20b?x=1", "a%41b", "q?mode=memory&cache=shared"])
def test_a_registry_in_a_folder_named_like_a_url_opens_there(tmp_path: Path, folder: str) -> None:
    """The folder's name is a path, never a URL's escapes or options."""
    root = tmp_path / folder / ".mlpipex"
    with Client(str(root)) as c:
        c.create_model("fraud")
        assert c.registry.store.url == f"sqlite:///{root / 'registry.db'}"
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]
    db = root / "registry.db"
    assert db.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM registered_models").fetchall() == [("fraud",)]
    with Client(str(root)) as c:  # opened again: the same registry
        assert [m.name for m in c.list_models().items] == ["fraud"]
