"""`mlpipex experiments list`, `runs list` (filter, order, pages, errors) and `runs show`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipex.client import Client
from tests.conftest import Backend, CliResult

pytestmark = pytest.mark.direct  # reaches into the database or objects, or tracks runs


@pytest.fixture
def run_ids(client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    exp = client.create_experiment("fraud")
    out = []
    for i, (model, auc) in enumerate([("rf", 0.95), ("xgb", 0.85)]):
        run = client.create_run(exp, run_name=f"r{i}", start_time=1000 + i, entry_point="t.py")
        client.log_param(run.id, "model", model)
        client.log_metric(run.id, "auc", auc)
        out.append(run.id)
    return out


def test_experiments_and_runs_list(
    backend: Backend, run_ids: list[str], cli: Callable[..., CliResult]
) -> None:
    r = cli("experiments", "list", env=backend.env())
    assert r.code == 0 and "fraud" in r.out
    r = cli("runs", "list", "fraud", "--filter", "metrics.auc > 0.9", env=backend.env())
    assert r.code == 0 and run_ids[0] in r.out and run_ids[1] not in r.out
    r = cli("runs", "list", "fraud", "--order-by", "metrics.auc ASC", "--json", env=backend.env())
    assert [x["id"] for x in json.loads(r.out)["runs"]] == [run_ids[1], run_ids[0]]
    r = cli("runs", "list", "fraud", "--limit", "1", env=backend.env())
    assert r.code == 0 and "--page-token" in r.out


def test_runs_show_and_errors(
    backend: Backend,
    client: Client,
    run_ids: list[str],
    cli: Callable[..., CliResult],
    make_file: Callable[..., Path],
) -> None:
    client.log_artifact(run_ids[0], make_file("notes.txt", content=b"hi"))
    r = cli("runs", "show", run_ids[0], env=backend.env())
    assert r.code == 0
    assert "param model" in r.out and "metric auc" in r.out and "notes.txt" in r.out
    r = cli("runs", "list", "fraud", "--filter", "metrics.auc > 0.9 or x", env=backend.env())
    assert r.code == 1 and "'OR'" in r.err
    assert cli("runs", "show", "0" * 32, env=backend.env()).code == 4
    assert cli("runs", "list", "nope", env=backend.env()).code == 4
