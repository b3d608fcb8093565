"""The plain SQLite reader runs the SQL SQLAlchemy compiles from the store's statements and
returns what the store's lookup returns; the checked-in SQL must not fall behind the statements."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.store import Store, registry
from mlpipex.store.registry import sqlite_sql
from mlpipex.store.registry.sqlite_read import PlainReader, Unreadable
from tests.conftest import script


def test_checked_in_sql_is_what_sqlalchemy_compiles_now() -> None:
    gen = script("gen_sql")
    assert gen.TARGET.read_text() == gen.sqlite_sql_py(), (
        "store/registry/sqlite_sql.py is out of date: run .venv/bin/python scripts/gen_sql.py"
    )


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Path]:
    """A SQLite registry: model m (v1 with every kind of detail, v2 bare and promoted, alias
    @best on v1, two aliases on v2), model p with a policy of its own and no version, and model
    "t m" in workspace team."""
    root = tmp_path / ".mlpipex"
    data = tmp_path / "train.csv"
    data.write_text("x\n1\n")
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    with Client(str(root)) as c:
        c.register(
            "m",
            model,
            commit="c" * 40,
            datasets={"train": str(data)},
            metrics={"auc": 0.1 + 0.2, "loss": float("inf"), "big": 1e308},
            tags={"k": "v", "ünï": "cödé"},
            description="first\nsecond line",
        )
        c.register("m", model, commit="d" * 40, datasets={"train": str(data)}, metrics={"a": 1})
        c.set_alias("m", "best", 1)
        c.set_alias("m", "champion", 2)
        c.set_alias("m", "z-last", 2)
        c.promote("m", 2, "Production")
        c.create_model("p", policy={"stages": ["None", "Live"], "replace": {}})
        c.create_workspace("team")
    with Client(str(root), workspace="team") as c:
        c.register("t m", model, commit="e" * 40, datasets={"train": str(data)}, metrics={"x": 2})
    yield root / "registry.db"


_LOOKUPS = [
    ("default", "m", 1, None),
    ("default", "m", 2, None),
    ("default", "m", 3, None),  # no such version
    ("default", "m", None, "best"),
    ("default", "m", None, "champion"),
    ("default", "m", None, "nope"),  # no such alias
    ("default", "nope", 1, None),  # no such model
    ("default", "t m", 1, None),  # in another workspace
    ("team", "t m", 1, None),
    ("team", "m", None, "best"),
]


@pytest.mark.parametrize(("ws", "model", "number", "alias"), _LOOKUPS)
def test_plain_lookup_returns_what_the_store_returns(
    reg: Path, ws: str, model: str, number: int | None, alias: str | None
) -> None:
    store = Store(f"sqlite:///{reg}")
    with store.lookup() as conn:
        want = registry.find_version(
            conn, ws, model, version=number, alias=alias, details=True, files=True
        )
    with PlainReader(reg) as r:
        got = r.find_version(ws, model, version=number, alias=alias)
    assert got == want
    if number == 1 and model == "m":  # the details came through, not only the record
        assert got is not None and got.full is not None
        assert got.full.tags["ünï"] == "cödé" and got.full.metrics["auc"] == 0.1 + 0.2
        assert got.full.aliases == ("best",) and len(got.full.files) == 1


@pytest.mark.parametrize(
    ("model", "stage"),
    [("m", None), ("m", "Production"), ("m", "None"), ("m", "Staging"), ("p", None)],
)
def test_plain_newest_version_is_what_the_store_reads(
    reg: Path, model: str, stage: str | None
) -> None:
    with Store(f"sqlite:///{reg}").lookup() as conn:
        row = registry.model_row(conn, "default", model)
        assert row is not None
        want = registry.newest_version(conn, row.id, stage=stage, files=True)
    with PlainReader(reg) as r:
        assert r.model("default", model) == row
        assert r.model("team", model) is None
        assert r.newest_version(row.id, stage=stage) == want
    assert (want is None) is (stage == "Staging" or model == "p")
    assert model != "p" or (row.policy or {})["stages"] == ["None", "Live"]


def test_plain_reader_reads_settings_and_workspaces_as_the_store(reg: Path) -> None:
    with Store(f"sqlite:///{reg}").lookup() as conn:
        recorded = registry.get_setting(conn, "objects_uri")
    with PlainReader(reg) as r:
        assert r.setting("objects_uri") == recorded is not None
        assert r.setting("nope") is None
        assert r.workspace_exists("team") and r.workspace_exists("default")
        assert not r.workspace_exists("other")


def test_a_registry_of_another_schema_is_left_to_the_store(reg: Path) -> None:
    with sqlite3.connect(reg) as db:
        db.execute("UPDATE alembic_version SET version_num = '0012'")
    with pytest.raises(Unreadable):
        PlainReader(reg)
    assert sqlite_sql.SCHEMA != "0012"


def test_what_sqlite_cannot_read_is_left_to_the_store(reg: Path, tmp_path: Path) -> None:
    with PlainReader(reg) as r, pytest.raises(Unreadable):
        r.find_version("default", "m", version=2**70)  # past SQLite's integers
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    with pytest.raises(Unreadable):
        PlainReader(tmp_path / "junk.db")
    with pytest.raises(Unreadable):
        PlainReader(tmp_path / "absent.db")  # read-only: never creates a file
    assert not (tmp_path / "absent.db").exists()


def test_plain_reader_writes_nothing(reg: Path) -> None:
    before = reg.read_bytes()
    with PlainReader(reg) as r:
        assert r.find_version("default", "m", alias="best") is not None
        with pytest.raises(Unreadable):  # read-only: a write is refused by SQLite itself
            r._execute("DELETE FROM registered_models", {})
    assert reg.read_bytes() == before
