"""Registration from a run inherits its commit, dataset inputs and metrics, or is refused and the
run is left as it was (register with run_id, runs:/ URIs, and the CLI's register --run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.errors import NotFound, PolicyViolation
from mlpipex.service.tracking.runs import Run
from tests.conftest import Backend, CliResult

pytestmark = pytest.mark.direct  # reaches into the database or objects, or tracks runs


@pytest.fixture
def start(client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    monkeypatch.chdir(tmp_path)  # not a git checkout: a run has the commit it is given

    def make(commit: str | None = None) -> Run:
        return client.create_run(commit=commit, entry_point="train.py")

    return make


def _complete(client: Client, run: Run, make_file: Callable[..., Path]) -> None:
    client.log_dataset(run.id, "train", str(make_file("train.csv", content=b"a,b\n1,2\n")))
    client.log_metrics(run.id, {"auc": 0.8}, step=0)
    client.log_metrics(run.id, {"auc": 0.91}, step=1)
    client.log_artifact(run.id, make_file("model.bin", size=1000), "model")


def test_register_model_from_runs_uri_inherits_commit_datasets_and_latest_metrics(
    client: Client, start: Callable[..., Run], make_file: Callable[..., Path]
) -> None:
    run = start(commit="b" * 40)
    _complete(client, run, make_file)
    v = client.register_model(f"runs:/{run.id}/model", "fraud")
    assert (v.commit, v.run_id, v.metrics) == ("b" * 40, run.id, {"auc": 0.91})
    assert [d.name for d in v.datasets] == ["train"]
    assert [f.path for f in v.files] == ["model.bin"]
    lin = client.lineage("fraud", v.version).run
    assert lin is not None and lin["metrics"] == {"auc": 0.91} and lin["commit"] == "b" * 40
    assert lin["datasets"] == {"train": v.datasets[0].digest}


def test_register_a_path_with_run_id_inherits_and_given_values_win(
    client: Client, start: Callable[..., Run], make_file: Callable[..., Path]
) -> None:
    run = start(commit="c" * 40)
    _complete(client, run, make_file)
    v = client.register("fraud", make_file(), run_id=run.id, metrics={"auc": 0.5, "f1": 0.7})
    assert v.metrics == {"auc": 0.5, "f1": 0.7} and v.commit == "c" * 40


def test_a_run_without_them_is_refused_naming_what_is_missing_and_left_untouched(
    client: Client, start: Callable[..., Run], make_file: Callable[..., Path]
) -> None:
    run = start()
    client.log_artifact(run.id, make_file("model.bin", size=100), "model")
    before = client.get_run(run.id)
    with pytest.raises(PolicyViolation) as exc:
        client.register_model(f"runs:/{run.id}/model", "fraud")
    assert [r.split(" ")[0] for r in exc.value.reasons] == ["commit", "dataset", "metric"]
    assert "unchanged" in str(exc.value)
    assert client.get_run(run.id) == before
    assert client.list_artifacts(run.id) == client.list_artifacts(run.id, "model")
    with pytest.raises(NotFound):
        client.get_model("fraud")


def test_unknown_run_or_empty_prefix(client: Client, start: Callable[..., Run]) -> None:
    with pytest.raises(NotFound, match="run"):
        client.register_model("runs:/" + "0" * 32 + "/model", "fraud")
    run = start(commit="d" * 40)
    with pytest.raises(NotFound, match="no artifacts"):
        client.register_model(f"runs:/{run.id}/model", "fraud")


def test_cli_register_run(
    backend: Backend,
    client: Client,
    start: Callable[..., Run],
    make_file: Callable[..., Path],
    cli: Callable[..., CliResult],
) -> None:
    run = start(commit="e" * 40)
    _complete(client, run, make_file)
    r = cli("register", "fraud", "--run", run.id, env=backend.env())
    assert r.code == 0, r.err
    assert r.out.strip().splitlines()[-1] == "1"
    assert client.get_version("fraud/1").metrics == {"auc": 0.91}
    bare = start()
    r = cli("register", "fraud", str(make_file()), "--run", bare.id, env=backend.env())
    assert r.code == 1 and "commit" in r.err and "dataset" in r.err and "metric" in r.err
    r = cli("register", "fraud", env=backend.env())
    assert r.code == 1 and "--run" in r.err
