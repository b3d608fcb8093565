"""`get_version_plain` answers as `open_registry` + `get_version` do, or leaves it to them
(None) whenever the open would write, refuse or read another schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.errors import NotFound
from mlpipex.location import PlainSettings, resolve
from mlpipex.service.open import open_registry
from mlpipex.service.registry.plain import get_version_plain
from mlpipex.service.registry.versions import get_version


@pytest.fixture
def root(tmp_path: Path) -> Path:
    data = tmp_path / "a.csv"
    data.write_text("x\n1\n")
    with Client(str(tmp_path / ".mlpipex")) as c:
        c.register("m", data, commit="c" * 40, datasets={"a": str(data)}, metrics={"auc": 0.5})
        c.register("m", data, commit="d" * 40, datasets={"a": str(data)}, metrics={"auc": 0.6})
        c.set_alias("m", "champion", 1)
        c.promote("m", 2, "Staging")
    return tmp_path / ".mlpipex"


def _store_answer(root: Path, settings: PlainSettings, ref: str) -> object:
    reg = open_registry(
        resolve(str(root), settings.objects), settings, create=False, read_only=True
    )
    try:
        return get_version(reg, ref)
    except NotFound as exc:
        return exc.message
    finally:
        reg.close()


def _plain_answer(root: Path, settings: PlainSettings, ref: str) -> object:
    try:
        return get_version_plain(resolve(str(root), settings.objects), settings, ref)
    except NotFound as exc:
        return exc.message


@pytest.mark.parametrize(
    "ref", ["m/1", "m@champion", "m:staging", "m/latest", "m:Production", "m/3", "x/1", "m@no"]
)
def test_the_plain_answer_is_the_stores(root: Path, ref: str) -> None:
    settings = PlainSettings()
    assert _plain_answer(root, settings, ref) == _store_answer(root, settings, ref)
    given = PlainSettings(objects=str(root / "objects"))  # the objects URL not read
    assert _plain_answer(root, given, ref) == _store_answer(root, given, ref)


def test_an_open_that_would_record_the_objects_url_is_left_to_the_store(root: Path) -> None:
    with sqlite3.connect(root / "registry.db") as db:
        db.execute("DELETE FROM settings WHERE key = 'objects_uri'")
    settings = PlainSettings()
    assert _plain_answer(root, settings, "m/1") is None
    assert _store_answer(root, settings, "m/1") is not None  # records it
    assert _plain_answer(root, settings, "m/1") == _store_answer(root, settings, "m/1")


def test_what_the_open_refuses_or_builds_otherwise_is_left_to_the_store(root: Path) -> None:
    for settings in (
        PlainSettings(workspace="other"),  # no such workspace
        PlainSettings(workspace="Bad_Name"),
        PlainSettings(objects="memory://objects"),  # built through fsspec
    ):
        assert _plain_answer(root, settings, "m/1") is None, settings
    assert _plain_answer(root.parent / "nowhere", PlainSettings(), "m/1") is None
    with sqlite3.connect(root / "registry.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0012'")
    assert _plain_answer(root, PlainSettings(), "m/1") is None
