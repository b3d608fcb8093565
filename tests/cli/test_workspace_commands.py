"""Workspaces from the CLI: `mlpipex workspace ...`, and `--workspace` / MLPIPEX_WORKSPACE
picking where every other command acts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult, register_args

Cli = Callable[..., CliResult]


def _register(cli: Cli, env: dict[str, str], tmp_path: Path, *ws: str) -> CliResult:
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 20)
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,0\n")
    return cli(*ws, *register_args(model, data), env=env)


def test_the_same_model_name_in_two_workspaces_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    env = {"MLPIPEX_URI": str(tmp_path / ".mlpipex"), "MLPIPEX_USER": "root"}
    assert cli("models", "create", "seed", env=env).code == 0
    made = cli("workspace", "create", "team-a", "-d", "fraud team", env=env)
    assert made.code == 0 and "--workspace team-a" in made.out
    assert cli("workspace", "create", "team-b", env=env).code == 0
    assert _register(cli, env, tmp_path, "--workspace", "team-a").code == 0
    assert _register(cli, env, tmp_path, "--workspace", "team-a").code == 0
    assert _register(cli, env, tmp_path, "-w", "team-b").code == 0
    a = cli("--workspace", "team-a", "versions", "fraud", env=env)
    b = cli("versions", "fraud", env={**env, "MLPIPEX_WORKSPACE": "team-b"})
    assert a.code == 0 and b.code == 0
    assert [line.split()[0] for line in a.out.splitlines()[1:]] == ["2", "1"]
    assert [line.split()[0] for line in b.out.splitlines()[1:]] == ["1"]
    # `show` (the fast path, without typer) reads MLPIPEX_WORKSPACE too
    assert cli("show", "fraud/2", env={**env, "MLPIPEX_WORKSPACE": "team-a"}).code == 0
    missing = cli("show", "fraud/2", env={**env, "MLPIPEX_WORKSPACE": "team-b"})
    assert missing.code == 4 and "fraud/2 does not exist" in missing.err
    assert cli("show", "fraud/1", env=env).code == 4  # not in default
    default = cli("models", "list", env=env)
    assert "seed" in default.out and "fraud" not in default.out
    listed = cli("workspace", "list", env=env)
    assert all(w in listed.out for w in ("default", "team-a", "team-b"))
    verified = cli("--workspace", "team-b", "audit", "--verify", env=env)
    assert verified.code == 0 and "intact" in verified.out


def test_quotas_and_refusals_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    env = {"MLPIPEX_URI": str(tmp_path / ".mlpipex"), "MLPIPEX_USER": "root"}
    assert cli("workspace", "create", "team-a", env=env).code == 0
    q = cli("workspace", "quota", "team-a", "--versions", "1", "--bytes", "1K", env=env)
    assert q.code == 0 and "versions 1" in q.out and "bytes 1024" in q.out
    assert _register(cli, env, tmp_path, "-w", "team-a").code == 0
    refused = _register(cli, env, tmp_path, "-w", "team-a")
    assert refused.code == 5 and "limited to 1 versions" in refused.err
    assert "workspace quota team-a" in refused.err  # says what to do
    shown = cli("workspace", "show", "team-a", env=env)
    assert shown.code == 0 and "versions" in shown.out and "1" in shown.out
    missing = cli("-w", "team-z", "models", "list", env=env)
    assert missing.code == 4 and "workspace 'team-z' does not exist" in missing.err
    bad = cli("workspace", "quota", "team-a", "--bytes", "lots", env=env)
    assert bad.code == 1 and "not a size" in bad.err
    held = cli("workspace", "delete", "team-a", env=env)
    assert held.code == 5 and "holds 1 models" in held.err
