"""repro --set-param: params changed without editing params.yaml by hand, the changed stages
run, and the run is recorded as an experiment run linked to its commit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpipex.client import Client
from tests.data.conftest import Run, commit, write

PIPELINE = """stages:
  train:
    cmd: python3 train.py
    params: [train.lr, train.epochs, {extra.yaml: [depth]}]
    metrics: [metrics.json]
"""
TRAIN = """import json, re
lr = float(re.search(r"lr: (.*)", open("params.yaml").read()).group(1))
json.dump({"acc": lr * 2, "tag": "x"}, open("metrics.json", "w"))
"""


@pytest.fixture
def project(repo: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    write(repo / "mlpipex.yaml", PIPELINE)
    write(repo / "train.py", TRAIN)
    write(repo / "params.yaml", "train:\n  lr: 0.1\n  epochs: 5\n")
    write(repo / "extra.yaml", "depth: 3\n")
    sha = commit(repo, "pipeline")
    monkeypatch.setenv("MLPIPEX_URI", str(repo / ".mlpipex"))
    return repo, sha


def test_set_param_runs_and_records_an_experiment_run(
    project: tuple[Path, str], mpx: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sha = project
    assert mpx("repro", "-S", "train.lr=0.25", "-S", "extra.yaml:depth=7") == 0
    assert "running stage train" in capsys.readouterr().out
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"] == {"lr": 0.25, "epochs": 5}
    assert yaml.safe_load((repo / "extra.yaml").read_text()) == {"depth": 7}
    with Client(str(repo / ".mlpipex")) as c:
        (run,) = c.search_runs([c.set_experiment("repro").id]).items
        assert run.status == "FINISHED"
        assert run.commit == sha and run.commit_dirty
        assert run.params == {"train.lr": "0.25", "train.epochs": "5", "extra.yaml:depth": "7"}
        assert run.metrics == {"acc": 0.5}
        assert run.tags["mlpipex.set_params"] == "train.lr=0.25 extra.yaml:depth=7"


def test_a_failing_stage_records_a_failed_run(project: tuple[Path, str], mpx: Run) -> None:
    repo, _ = project
    write(repo / "mlpipex.yaml", "stages:\n  s:\n    cmd: exit 3\n    params: [train.lr]\n")
    assert mpx("repro", "-S", "train.lr=1") == 1
    with Client(str(repo / ".mlpipex")) as c:
        (run,) = c.search_runs([c.set_experiment("repro").id]).items
        assert run.status == "FAILED"


@pytest.mark.parametrize("bad", ["train.lr", "=1", "train..lr=1", ":x=1", "../x.yaml:a=1"])
def test_bad_set_params_change_nothing(project: tuple[Path, str], mpx: Run, bad: str) -> None:
    repo, _ = project
    before = (repo / "params.yaml").read_text()
    assert mpx("repro", "-S", "train.lr=9", "-S", bad) == 1
    assert (repo / "params.yaml").read_text() == before
