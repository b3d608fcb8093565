"""repro: dependency order, only changed stages, params, the run cache, and the bad cases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipex.data.lineage import stage_producing
from tests.data.conftest import Run, write

PIPELINE = {
    "stages": {
        "prepare": {
            "cmd": "echo prepare >> log && mkdir -p prepared && cp data/* prepared/",
            "deps": ["data", "prepare.sh"],
            "outs": ["prepared"],
        },
        "train": {
            "cmd": "echo train >> log && cat prepared/* > model.pkl && "
            "grep lr params.yaml >> model.pkl",
            "deps": ["prepared"],
            "params": ["train.lr"],
            "outs": ["model.pkl"],
        },
        "evaluate": {
            "cmd": "echo evaluate >> log && wc -c < model.pkl > metrics.json",
            "deps": ["model.pkl"],
            "metrics": ["metrics.json"],
        },
    }
}


@pytest.fixture
def project(repo: Path) -> Path:
    write(repo / "mlpipex.yaml", yaml.safe_dump(PIPELINE))
    write(repo / "params.yaml", "train:\n  lr: 0.1\n")
    write(repo / "prepare.sh", "# prepare\n")
    write(repo / "data" / "a.csv", "1,2\n")
    return repo


def _log(repo: Path) -> list[str]:
    path = repo / "log"
    lines = path.read_text().split() if path.exists() else []
    path.unlink(missing_ok=True)
    return lines


def test_repro_runs_only_what_changed(project: Path, mpx: Run) -> None:
    assert mpx("repro") == 0
    assert _log(project) == ["prepare", "train", "evaluate"]
    lock = yaml.safe_load((project / "mlpipex.lock").read_text())
    assert lock["stages"]["train"]["params"] == {"params.yaml": {"train.lr": 0.1}}
    assert "/prepared" in (project / ".gitignore").read_text()
    assert "metrics.json" not in (project / ".gitignore").read_text()
    assert mpx("repro") == 0
    assert _log(project) == []

    write(project / "params.yaml", "train:\n  lr: 0.2\n")
    assert mpx("repro") == 0
    assert _log(project) == ["train", "evaluate"]

    write(project / "data" / "b.csv", "3,4\n")
    assert mpx("repro", "train") == 0
    assert _log(project) == ["prepare", "train"]
    assert mpx("data", "repro") == 0
    assert _log(project) == ["evaluate"]


def test_run_cache_restores_a_combination_seen_before(project: Path, mpx: Run) -> None:
    assert mpx("repro") == 0
    first = (project / "model.pkl").read_bytes()
    write(project / "params.yaml", "train:\n  lr: 0.5\n")
    assert mpx("repro") == 0
    write(project / "params.yaml", "train:\n  lr: 0.1\n")
    _log(project)
    assert mpx("repro") == 0
    assert _log(project) == []  # train and evaluate came back from the run cache
    assert (project / "model.pkl").read_bytes() == first
    assert mpx("repro") == 0
    assert _log(project) == []


def test_dry_run_says_what_would_run_and_runs_nothing(
    project: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mpx("repro", "--dry") == 0
    assert _log(project) == []
    assert capsys.readouterr().out.count("would run") == 3
    assert not (project / "mlpipex.lock").exists()


def test_failing_stage_caches_nothing_and_keeps_the_lock(project: Path, mpx: Run) -> None:
    assert mpx("repro") == 0
    lock = (project / "mlpipex.lock").read_text()
    spec = yaml.safe_load((project / "mlpipex.yaml").read_text())
    spec["stages"]["train"]["cmd"] = "echo partial > model.pkl && exit 3"
    write(project / "mlpipex.yaml", yaml.safe_dump(spec))
    cache = project / ".mlpipex" / "cache"
    before = {p for p in cache.rglob("*") if p.is_file()}
    assert mpx("repro") == 1
    assert (project / "mlpipex.lock").read_text() == lock
    assert {p for p in cache.rglob("*") if p.is_file()} == before


def test_cycle_and_missing_dependency_are_named(
    project: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = yaml.safe_load((project / "mlpipex.yaml").read_text())
    spec["stages"]["prepare"]["deps"].append("metrics.json")
    write(project / "mlpipex.yaml", yaml.safe_dump(spec))
    assert mpx("repro") == 1
    assert "cycle" in capsys.readouterr().err
    spec["stages"]["prepare"]["deps"] = ["nowhere.csv"]
    write(project / "mlpipex.yaml", yaml.safe_dump(spec))
    assert mpx("repro") == 4
    assert "nowhere.csv" in capsys.readouterr().err
    spec["stages"]["prepare"]["deps"] = ["data"]
    spec["stages"]["train"]["params"] = ["train.momentum"]
    write(project / "mlpipex.yaml", yaml.safe_dump(spec))
    assert mpx("repro") == 4
    assert "train.momentum" in capsys.readouterr().err


def test_dag_and_stage_producing(
    project: Path, mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mpx("dag") == 0
    assert capsys.readouterr().out.split("\n")[:3] == [
        "prepare",
        "train  <- prepare",
        "evaluate  <- train",
    ]
    assert mpx("dag", "--dot") == 0
    assert '"train" -> "evaluate";' in capsys.readouterr().out
    assert mpx("repro") == 0
    assert stage_producing(project, "prepared/a.csv") == "prepare"
    assert stage_producing(project, project / "model.pkl") == "train"
    assert stage_producing(project, "data/a.csv") is None
