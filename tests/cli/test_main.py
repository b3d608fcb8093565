"""The root command: `--version`, and commands that import only what they run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipex import __version__
from tests.conftest import CliResult

_PROBE = """
import sys
from mlpipex.cli.main import main
code = main(sys.argv[2:])
print(code, *sorted(m for m in sys.argv[1].split(",") if m in sys.modules))
"""
HEAVY = ("httpx", "fsspec", "sqlalchemy", "fastapi", "mlpipex.cli.quickstart", "mlpipex.server")
HEAVY += ("typer", "pydantic", "rich", "pydantic_settings", "mlpipex.client")


def _loaded(cwd: Path, *args: str, watch: tuple[str, ...] = HEAVY) -> list[str]:
    """The exit code of the CLI run with ``args`` in a fresh process, then which of the modules
    ``watch`` names it loaded."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(watch), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return out.strip().splitlines()[-1].split()


def test_version(cli: Callable[..., CliResult]) -> None:
    r = cli("--version")
    assert (r.code, r.out) == (0, f"mlpipex {__version__}\n")


def test_light_commands_leave_heavy_modules_unloaded(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "mlpipex.yaml").write_text("stages:\n  a:\n    cmd: echo hi\n")
    assert _loaded(tmp_path, "--version") == ["0"]
    assert _loaded(tmp_path, "data", "status") == ["0"]
    assert _loaded(tmp_path, "repro", "--dry") == ["0"]
    assert _loaded(tmp_path, "repro") == ["0"]
    # a registry command needs the database layer, and still not the server, httpx or fsspec
    loaded = _loaded(tmp_path, "--uri", str(tmp_path / "r"), "models", "list")
    assert loaded == [
        "0",
        "mlpipex.client",
        "pydantic",
        "pydantic_settings",
        "rich",
        "sqlalchemy",
        "typer",
    ]


def test_registering_a_plain_file_leaves_the_flavors_unloaded(tmp_path: Path) -> None:
    # the flavors import numpy and pandas (half a second); only a model package needs them
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "model.bin").write_bytes(b"weights")
    args = ["--uri", str(tmp_path / "r"), "register", "m", str(tmp_path / "model.bin")]
    args += ["--commit", "c" * 40, "--dataset", f"train={tmp_path / 'a.csv'}", "--metric", "a=1"]
    assert _loaded(tmp_path, *args, watch=("numpy", "pandas", "mlpipex.flavors")) == ["0"]


def _one_version(cli: Callable[..., CliResult], tmp_path: Path, registry: Path) -> None:
    """Model m, version 1 at @champion, in the registry folder given."""
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "model.bin").write_bytes(b"weights")
    uri = ("--uri", str(registry))
    reg = ["--commit", "c" * 40, "--dataset", f"train={tmp_path / 'a.csv'}", "--metric", "auc=0.9"]
    assert cli(*uri, "register", "m", str(tmp_path / "model.bin"), *reg).code == 0
    assert cli(*uri, "alias", "set", "m", "champion", "1").code == 0


def test_show_prints_plain_lines_without_rich(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    _one_version(cli, tmp_path, tmp_path / "r")
    typed = ["0", "mlpipex.client", "pydantic", "pydantic_settings", "sqlalchemy", "typer"]
    assert _loaded(tmp_path, "--uri", str(tmp_path / "r"), "show", "m@champion") == typed


def test_show_on_an_embedded_registry_runs_without_typer(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """`show REF` takes the fast path (no typer, click, pydantic, rich, client, nor SQLAlchemy on
    SQLite), and prints and exits exactly as the typer command does (`--` sends it there)."""
    _one_version(cli, tmp_path, tmp_path / ".mlpipex")
    assert _loaded(tmp_path, "show", "m@champion") == ["0"]
    for ref in ("m@champion", "m/1", "m:None", "m@nope", "m/9", "nope/1", "m@"):
        fast, typed = cli("show", ref, cwd=tmp_path), cli("show", "--", ref, cwd=tmp_path)
        assert fast == typed, ref
    assert cli("show", "m/1", cwd=tmp_path).out.startswith("version        m/1\n")
    assert cli("show", "m@nope", cwd=tmp_path).code == 4


def test_fast_path_leaves_help_and_errors_to_typer(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """Anything but plain words goes through typer: help, unknown options and their exit codes."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert "typer" in _loaded(tmp_path, "data", "status", "--help")
    bad = cli("data", "status", "--nope", cwd=tmp_path)
    assert bad.code == 2 and "No such option" in bad.err
    bad = cli("repro", "a", "b", cwd=tmp_path)
    assert bad.code == 2 and "unexpected extra argument" in bad.err.lower()
    # the same command both ways (`--` sends it to typer) prints and exits the same
    fast, typed = (
        cli("data", "status", "nowhere", cwd=tmp_path),
        cli("data", "status", "--", "nowhere", cwd=tmp_path),
    )
    assert fast == typed and fast.code != 0 and fast.err.startswith("error:")
    (tmp_path / "mlpipex.yaml").write_text("stages:\n  a:\n    cmd: echo hi\n")
    fast, typed = cli("repro", "--dry", cwd=tmp_path), cli("repro", "--dry", "--", cwd=tmp_path)
    assert fast == typed and fast.code == 0 and "would run stage a" in fast.out


_REPORT = """
import sys
from mlpipex.cli.errors import report
from mlpipex.errors import NotFound
code = report(NotFound(sys.argv[1], hint=sys.argv[2] or None), traceback=False)
sys.stderr.write("@loaded " + " ".join(m for m in ("rich", "typer") if m in sys.modules))
sys.exit(code)
"""


@pytest.mark.parametrize(
    ("message", "hint", "printed", "plain"),
    [
        ("model 'nope' does not exist", "", "error: model 'nope' does not exist\n", True),
        ("ünï ✓ 'x'", "see `a b`", "error: ünï ✓ 'x'\n  hint: see `a b`\n", True),
        # what rich reads as markup or an emoji code is printed by rich, as always
        ("tag [bold]x[/bold]", "", "error: tag x\n", False),
        ("a :thumbs_up: b", "", "error: a 👍 b\n", False),
    ],
)
def test_an_error_is_printed_as_rich_prints_it_and_without_it_when_the_same(
    message: str, hint: str, printed: str, plain: bool
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    r = subprocess.run(
        [sys.executable, "-c", _REPORT, message, hint],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**env, "PYTHONIOENCODING": "utf-8"},
        timeout=60,
        check=False,
    )
    err, _, loaded = r.stderr.rpartition("@loaded ")
    assert (r.returncode, err) == (4, printed)
    assert (loaded.split() == []) is plain


def test_an_error_to_a_terminal_is_rich_s_in_colour() -> None:
    import pty

    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    proc = subprocess.run(
        [sys.executable, "-c", _REPORT, "model 'nope' does not exist", ""],
        stderr=secondary,
        env={**env, "TERM": "xterm", "NO_COLOR": ""},
        timeout=60,
        check=False,
    )
    os.close(secondary)
    shown = os.read(primary, 4096).decode()
    os.close(primary)
    assert proc.returncode == 4 and "\x1b[" in shown and "model 'nope' does not exist" in shown
    assert shown.rpartition("@loaded ")[2].split() == ["rich"]


@pytest.mark.parametrize("args", [["--help"], ["models", "--help"]])
def test_a_reader_that_stops_reading_ends_the_command_quietly(
    tmp_path: Path, args: list[str]
) -> None:
    # `mlpipex --help | head -1`: the pipe's reader gone before the help is written; the
    # command ends as a shell expects (141, 128 + SIGPIPE) and says nothing, where it used to
    # report "internal error: SystemExit: 1" with code 70
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "mlpipex.cli", *args],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (r.returncode, r.stderr) == (141, "")
