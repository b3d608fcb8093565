from __future__ import annotations

from pathlib import Path

import pytest

from mlpipex.config import Settings, resolve
from mlpipex.errors import Invalid
from mlpipex.location import PlainSettings


def test_default_is_the_nearest_mlpipex_folder_upward(tmp_path: Path) -> None:
    (tmp_path / ".mlpipex").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    loc = resolve(None, cwd=deep)
    assert loc.kind == "local" and loc.root == tmp_path / ".mlpipex"
    assert loc.url == f"sqlite:///{tmp_path / '.mlpipex' / 'registry.db'}"


def test_without_one_it_is_created_in_the_working_directory(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert resolve(None, cwd=tmp_path).root == tmp_path / ".mlpipex"
    r = cli("models", "list", cwd=tmp_path)
    assert r.code == 0 and not (tmp_path / ".mlpipex").exists()  # reading creates nothing
    assert cli("models", "create", "m", cwd=tmp_path).code == 0
    assert (tmp_path / ".mlpipex" / "registry.db").exists()


def test_uri_forms(tmp_path: Path) -> None:
    assert resolve("postgresql://u:p@h/db").url == "postgresql+psycopg://u:p@h/db"
    assert resolve("http://cp:8080/").kind == "http"
    assert resolve(f"sqlite:///{tmp_path}/x.db").objects == str(tmp_path / "objects")
    assert resolve(str(tmp_path / "reg")).root == tmp_path / "reg"
    with pytest.raises(Invalid, match="unsupported"):
        resolve("mongodb://x")


def test_show_on_a_missing_registry_says_how_to_create_one(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("show", "m/1", cwd=tmp_path)
    assert r.code == 4 and "no MLPipeX registry" in r.err


def test_plain_settings_read_what_settings_read_or_step_aside() -> None:
    """The CLI's fast path reads the registry, objects and user as Settings would (names in any
    case); any other MLPIPEX_ variable, or one named twice, leaves the command to Settings."""
    env = {"MLPIPEX_URI": "/r", "mlpipex_objects": "/o", "MLPIPEX_USER": "ann", "HOME": "/h"}
    plain = PlainSettings.from_environment(env)
    settings = Settings(_env_file=None, **{k[8:].lower(): v for k, v in env.items() if k != "HOME"})
    assert plain is not None
    assert (plain.uri, plain.objects, plain.actor()) == (settings.uri, settings.objects, "ann")
    assert PlainSettings.from_environment({**env, "MLPIPEX_TOKEN": "t"}) is None
    assert PlainSettings.from_environment({**env, "MLPIPEX_POLICY": "permissive"}) is None
    assert PlainSettings.from_environment({**env, "mlpipex_uri": "/other"}) is None
    assert PlainSettings.from_environment({"MLPIPEX_OTHER": "x"}) == PlainSettings()
    # the same fields, so a new setting cannot be missed by the fast path
    assert set(PlainSettings.__dataclass_fields__) == set(Settings.model_fields)
