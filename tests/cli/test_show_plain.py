"""`show REF` on a SQLite registry reads through the stdlib driver without SQLAlchemy, and says
exactly what the typer command says through the client and SQLAlchemy (`show -- REF` sends it
there): the same lines, errors and exit codes, each run as its own process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlpipex.client import Client

_PROBE = """
import sys
from mlpipex.cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
heavy = ("sqlalchemy", "typer", "pydantic", "rich", "mlpipex.client")
sys.stderr.write("\\n@loaded " + " ".join(m for m in heavy if m in sys.modules))
sys.exit(code)
"""


def _registry(root: Path, tmp_path: Path) -> None:
    """fraud: six versions (metrics, tags, datasets, files, descriptions, unicode), stages
    Production, Archived and Staging, three aliases; a model with a stored policy; and fraud
    again in workspace team."""
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,0\n")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for i in range(3):
        (pkg / f"part{i}.bin").write_bytes(bytes([i]) * (i + 1) * 100)
    with Client(str(root), user="ana") as c:
        for n in range(1, 7):
            c.register(
                "fraud",
                pkg if n == 3 else data,
                commit=f"{n:x}" * 40,
                datasets={"train": str(data), "eval ü": f"s3://b/eval#sha256:{'e' * 64}"},
                metrics={"auc": 0.9 + n / 1000, "loss": 1 / 3, "n": 10**n},
                tags={"team": "risk", "note ✓": "ünïcödé" * n} if n % 2 else {},
                description="" if n == 4 else f"version {n}\nsecond line, 日本",
                flavor="sklearn" if n == 2 else None,
            )
        c.promote("fraud", 1, "Production")
        c.promote("fraud", 2, "Production")  # archives 1
        c.promote("fraud", 3, "Staging")
        c.set_alias("fraud", "champion", 2)
        c.set_alias("fraud", "challenger", 3)
        c.set_alias("fraud", "z_last", 3)
        c.create_model(
            "a.b-c_d 2", policy={"stages": ["None", "Canary", "Production"], "replace": {}}
        )
        c.register("a.b-c_d 2", data, commit="f" * 40, datasets={"d": str(data)}, metrics={"m": 1})
        c.create_workspace("team")
    with Client(str(root), workspace="team", user="bo") as c:
        c.register("fraud", data, commit="9" * 40, datasets={"t": str(data)}, metrics={"x": 1})


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )


# (environment, reference, whether the plain reader answers it without SQLAlchemy)
_CASES = [
    *(({}, f"fraud/{n}", True) for n in range(1, 7)),
    ({}, "fraud@champion", True),
    ({}, "fraud@challenger", True),
    ({}, "models:/fraud/3", True),
    ({}, "models:/fraud@z_last", True),
    ({}, "a.b-c_d 2/1", True),
    ({}, "fraud/7", True),  # no such version
    ({}, "fraud@nope", True),  # no such alias
    ({}, "nope@champion", True),  # no such model
    ({}, "fraud", True),  # names no version
    ({}, "bad!/1", True),  # not a model name
    ({}, "fraud@", True),
    ({}, "fraud:production", True),
    ({}, "fraud:Archived", True),
    ({}, "models:/fraud/Staging", True),
    ({}, "fraud/latest", True),
    ({}, "a.b-c_d 2/latest", True),
    ({}, "fraud:None", True),
    ({}, "nope:Staging", True),  # no such model
    ({"MLPIPEX_WORKSPACE": "team"}, "fraud/1", True),
    ({"MLPIPEX_WORKSPACE": "team"}, "fraud/2", True),
    ({"MLPIPEX_WORKSPACE": "team"}, "fraud:Staging", True),  # no version in that stage
    # answered by the store: an unknown stage, a model's own policy (its stages), a number past
    # SQLite's, a missing or invalid workspace
    ({}, "fraud:Nope", False),
    ({}, "a.b-c_d 2:Canary", False),
    ({}, "a.b-c_d 2:None", False),
    ({}, f"fraud/{2**70}", False),
    ({"MLPIPEX_WORKSPACE": "other"}, "fraud/1", False),
    ({"MLPIPEX_WORKSPACE": "Bad_Name"}, "fraud/1", False),
]


@pytest.mark.slow
def test_plain_show_says_what_the_store_says(tmp_path: Path) -> None:
    _registry(tmp_path / ".mlpipex", tmp_path)
    fast_exit = 0
    shown = ""
    for extra, ref, plain in _CASES:
        env = {**os.environ, **extra}
        fast = _run([sys.executable, "-c", _PROBE, "show", ref], tmp_path, env)
        typed = _run([sys.executable, "-m", "mlpipex.cli", "show", "--", ref], tmp_path, env)
        err, _, loaded = fast.stderr.rpartition("\n@loaded ")
        assert (fast.returncode, fast.stdout, err) == (
            typed.returncode,
            typed.stdout,
            typed.stderr,
        ), ref
        assert ("sqlalchemy" not in loaded.split()) is plain, ref
        if plain:  # answers and refusals alike: not even typer or rich to print them
            assert loaded.split() == [], ref
        fast_exit |= fast.returncode
        shown = shown or (fast.stdout if ref == "fraud/1" and not extra else "")
    # the cases cover answers and refusals both
    assert fast_exit != 0
    # A folder named like a URL's escapes and options: its own registry, read plainly by both
    odd = tmp_path / "a%41b?x=1"
    shutil.copytree(tmp_path / ".mlpipex", odd / ".mlpipex")
    fast = _run([sys.executable, "-c", _PROBE, "show", "fraud/1"], odd, dict(os.environ))
    typed = _run([sys.executable, "-m", "mlpipex.cli", "show", "--", "fraud/1"], odd, None)
    assert (fast.returncode, fast.stdout) == (typed.returncode, typed.stdout) == (0, shown)
    assert fast.stderr.split("@loaded")[1].split() == []
