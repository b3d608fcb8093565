"""The CLI's contract: exit codes of DESIGN.md, one-line errors, the version number printed last."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from tests.conftest import Backend, CliResult

Cli = Callable[..., CliResult]


def _register(
    cli: Cli, backend: Backend, make_file: Callable[..., Path], *extra: str, user: str = "alice"
) -> CliResult:
    data = make_file("train.csv", content=b"x\n1\n")
    return cli(
        "register",
        "fraud",
        str(make_file(size=5000)),
        "--commit",
        "b" * 40,
        "--dataset",
        f"train={data}",
        *extra,
        env=backend.env(user),
    )


def test_register_prints_the_version_last_and_refusal_exits_1(
    cli: Cli, backend: Backend, make_file: Callable[..., Path], tmp_path: Path
) -> None:
    refused = cli("register", "fraud", str(make_file()), cwd=tmp_path, env=backend.env())
    assert refused.code == 1
    assert "commit" in refused.err and "dataset" in refused.err and "metric" in refused.err
    assert "Traceback" not in refused.err
    ok = _register(cli, backend, make_file, "--metric", "auc=0.91", "--tag", "team=risk")
    assert ok.code == 0 and ok.out.strip().splitlines()[-1] == "1"
    again = _register(cli, backend, make_file, "--metric", "auc=0.92")
    assert again.out.strip().splitlines()[-1] == "2"


def test_exit_codes(
    cli: Cli, backend: Backend, make_file: Callable[..., Path], tmp_path: Path
) -> None:
    env = backend.env()
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {"gates": {"staging": {"auc": ">= 0.95"}}, "approvals": {"production": {"count": 1}}}
        )
    )
    assert cli("models", "create", "fraud", "--policy", str(policy), env=env).code == 0
    assert cli("models", "create", "fraud", env=env).code == 5  # conflict: exists
    _register(cli, backend, make_file, "--metric", "auc=0.9")
    gate = cli("promote", "fraud", "1", "--to", "staging", env=env)
    assert gate.code == 1 and "auc >= 0.95" in gate.err
    pending = cli("promote", "fraud", "1", "--to", "production", env=env)
    assert pending.code == 3 and "mlpipex approve fraud 1 --to Production" in pending.out
    assert cli("approve", "fraud", "1", "--to", "production", env=backend.env("bob")).code == 0
    assert cli("show", "fraud:production", env=env).code == 0
    assert cli("show", "fraud/42", env=env).code == 4
    assert cli("show", "nope@champion", env=env).code == 4
    assert cli("promote", "fraud", "1", env=env).code == 2  # usage: --to is required
    assert cli("promote", "fraud", "one", "--to", "staging", env=env).code == 2
    assert cli("alias", "set", "fraud", "latest", "1", env=env).code == 1
    assert cli("models", "create", "bad/name", env=env).code == 1


def test_show_accepts_every_reference_form(
    cli: Cli, backend: Backend, make_file: Callable[..., Path]
) -> None:
    env = backend.env()
    _register(cli, backend, make_file, "--metric", "auc=0.9")
    assert cli("alias", "set", "fraud", "champion", "1", env=env).code == 0
    assert cli("promote", "fraud", "1", "--to", "Staging", env=env).code == 0
    for ref in ("fraud/1", "fraud@champion", "fraud:staging", "models:/fraud/1"):
        r = cli("show", ref, env=env)
        assert r.code == 0, r.err
        assert (
            "fraud/1" in r.out
            and "Staging" in r.out
            and "@champion" in r.out
            and "auc=0.9" in r.out
        )
    import json

    data = json.loads(cli("show", "fraud@champion", "--json", env=env).out)
    assert data["version"] == 1 and data["metrics"] == {"auc": 0.9} and data["commit"] == "b" * 40


def test_listing_lineage_and_models(
    cli: Cli, backend: Backend, make_file: Callable[..., Path]
) -> None:
    env = backend.env()
    _register(cli, backend, make_file, "--metric", "auc=0.9")
    _register(cli, backend, make_file, "--metric", "auc=0.8")
    cli("promote", "fraud", "2", "--to", "staging", env=env)
    versions = cli("versions", "fraud", env=env)
    rows = [line.split()[:2] for line in versions.out.splitlines()[1:]]
    assert versions.code == 0 and rows == [["2", "Staging"], ["1", "None"]]
    page = cli("versions", "fraud", "--limit", "1", env=env)
    assert "--page-token 2" in page.out
    rest = cli("versions", "fraud", "--limit", "1", "--page-token", "2", "--json", env=env)
    import json

    assert [v["version"] for v in json.loads(rest.out)["versions"]] == [1]
    models = cli("models", "list", env=env)
    assert "fraud" in models.out and "Staging: 2" in models.out
    lineage = cli("lineage", "fraud", "2", env=env)
    assert lineage.code == 0 and "train" in lineage.out and "None -> Staging" in lineage.out
    show = cli("models", "show", "fraud", env=env)
    assert "policy (registry default)" in show.out and "Production: Archived" in show.out


def test_traceback_flag_re_raises(cli: Cli, backend: Backend) -> None:
    import pytest

    from mlpipex.errors import NotFound

    with pytest.raises(NotFound):
        cli("--traceback", "show", "fraud/1", env=backend.env())


def test_fsck_and_gc_commands(cli: Cli, backend: Backend, make_file: Callable[..., Path]) -> None:
    env = backend.env()
    _register(cli, backend, make_file, "--metric", "auc=0.9")
    assert "no corruption found" in cli("fsck", env=env).out
    assert cli("gc", "--grace", "0s", env=env).code == 0
    assert "no corruption found" in cli("fsck", env=env).out
    assert cli("gc", "--grace", "soon", env=env).code == 1
