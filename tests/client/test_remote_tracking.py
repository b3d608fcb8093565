"""The fluent API and the tracking methods through a real `mlpipex server` (SQLite, and
PostgreSQL when MLPIPEX_TEST_POSTGRES_URL is set): the same values and errors as embedded."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlpipex
from mlpipex.client import Client
from mlpipex.client.remote import RemoteBackend
from mlpipex.errors import AlreadyExists, Invalid, NotFound, PolicyViolation
from tests.conftest import PG_SERVER, CliResult, _reset, _reset_postgres, start_server, stop_server


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(PG_SERVER is None, reason="MLPIPEX_TEST_POSTGRES_URL unset"),
        ),
    ],
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(URL, objects folder) of a server for this module."""
    root = tmp_path_factory.mktemp("remote-tracking")
    if request.param == "postgresql":
        uri = request.getfixturevalue("pg_url")
        _reset_postgres(uri)
    else:
        uri = str(root / ".mlpipex")
    proc, url = start_server(uri, str(root / "objects"))
    yield url, root / "objects"
    stop_server(proc)
    if request.param == "postgresql":
        _reset_postgres(uri)
    else:
        _reset(f"sqlite:///{root / '.mlpipex' / 'registry.db'}")


@pytest.fixture
def server_url(server: tuple[str, Path]) -> str:
    return server[0]


@pytest.fixture
def env(server_url: str, fluent: Callable[[dict[str, str]], str]) -> str:
    """The fluent API pointed at the server from a git checkout; the commit."""
    return fluent({"MLPIPEX_URI": server_url, "MLPIPEX_USER": "alice"})


@pytest.fixture
def c(env: str) -> Iterator[Client]:
    client = Client()
    assert isinstance(client._backend, RemoteBackend)
    yield client
    client.close()


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    x = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 5})
    return x, (x.a > 19).astype(int)


def _name(prefix: str) -> str:
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_runs_params_metrics_tags_and_artifacts(env: str, c: Client, tmp_path: Path) -> None:
    exp = _name("fraud")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "roc.txt").write_text("roc")
    with mlpipex.start_run(experiment=exp, run_name="outer", tags={"team": "risk"}) as outer:
        mlpipex.log_params({"model": "rf", "depth": 3})
        mlpipex.log_metric("loss", 0.5, step=0)
        mlpipex.log_metrics({"loss": 0.3, "auc": np.float64(0.91)}, step=1)
        mlpipex.set_tag("stage", "dev")
        [entry] = mlpipex.log_artifact(notes)
        mlpipex.log_artifacts(tmp_path / "plots", "plots")
        with pytest.raises(Invalid, match="cannot change"):
            mlpipex.log_param("model", "xgb")
        with pytest.raises(ZeroDivisionError), mlpipex.start_run(nested=True) as child:
            assert mlpipex.active_run() is child
            1 / 0  # noqa: B018
    run, kid = c.get_run(outer.run_id), c.get_run(child.run_id)
    assert (run.status, kid.status, kid.parent_id) == ("FINISHED", "FAILED", outer.run_id)
    assert run.end_time is not None and run.name == "outer"
    assert run.params == {"model": "rf", "depth": "3"}
    assert run.metrics == {"loss": 0.3, "auc": 0.91}
    assert run.tags == {"team": "risk", "stage": "dev"}
    assert (run.commit, run.commit_dirty, run.entry_point) == (env, False, "train.py")
    history = c.get_metric_history(outer.run_id, "loss")
    assert [(m.value, m.step) for m in history] == [(0.5, 0), (0.3, 1)]
    assert c.get_experiment(run.experiment_id).name == exp
    listed = c.list_artifacts(outer.run_id)
    assert [f.path for f in listed] == ["notes.txt", "plots/roc.txt"]
    assert listed[0] == entry and entry.size == 5
    assert [f.path for f in c.list_artifacts(outer.run_id, "plots")] == ["plots/roc.txt"]
    found = c.search_runs(exp, "metrics.auc > 0.9 and params.model = 'rf'")
    assert [r.id for r in found.items] == [outer.run_id]
    assert c.search_runs([exp], "metrics.auc < 0.5").items == []
    c.delete_tag(outer.run_id, "stage")
    assert "stage" not in c.get_run(outer.run_id).tags
    with mlpipex.start_run(run_id=outer.run_id):  # resumed through the server
        assert c.get_run(outer.run_id).status == "RUNNING"
        mlpipex.log_metric("late", 1.0)
    resumed = c.get_run(outer.run_id)
    assert resumed.status == "FINISHED" and resumed.metrics["late"] == 1.0


def test_errors_are_the_embedded_registrys(env: str, c: Client) -> None:
    exp = _name("dup")
    eid = c.create_experiment(exp)
    with pytest.raises(AlreadyExists, match="already exists"):
        c.create_experiment(exp)
    assert c.get_experiment_by_name(_name("none")) is None
    assert c.set_experiment(exp).id == eid
    # over HTTP the tracking calls speak MLflow's API, which words a missing run as MLflow does
    with pytest.raises(NotFound, match=r"does not exist|Run with id=0+ not found"):
        c.get_run("0" * 32)
    with pytest.raises(NotFound, match="experiment 'nope' does not exist"):
        c.search_runs("nope")
    run = c.create_run(eid)
    with pytest.raises(Invalid, match="invalid metric key"):
        c.log_metric(run.id, "bad!key", 1.0)
    with pytest.raises(Invalid, match="does not end a run"):
        c.set_terminated(run.id, "RUNNING")
    with pytest.raises(NotFound, match="parent run"):
        c.create_run(eid, parent_run_id="f" * 32)
    c.delete_run(run.id)
    assert c.search_runs(eid).items == []
    assert [r.id for r in c.search_runs(eid, run_view_type="deleted").items] == [run.id]
    with pytest.raises(Invalid, match="deleted"):
        c.log_param(run.id, "k", "v")
    c.restore_run(run.id)
    c.log_param(run.id, "k", "v")


def test_log_dataset_path_and_frame(
    env: str, c: Client, tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = data
    csv = tmp_path / "train.csv"
    x.to_csv(csv, index=False)
    with mlpipex.start_run() as run:
        by_path = mlpipex.log_dataset("train", str(csv), context="training")
        frame = mlpipex.log_dataset("holdout", x)
    assert by_path.digest.startswith("blake3:") and by_path.num_rows == 40
    assert by_path.schema == {"a": "string", "b": "string"} and by_path.context == "training"
    assert frame.uri == f"runs:/{run.run_id}/datasets/holdout.parquet" and frame.num_rows == 40
    inputs = {d.name: d for d in c.get_run(run.run_id).inputs}
    assert inputs == {"train": by_path, "holdout": frame}
    [stored] = c.list_artifacts(run.run_id, "datasets")
    assert f"blake3:{stored.digest}" == frame.digest


def test_log_model_registers_inheriting_the_run_and_loads(
    env: str, c: Client, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    name = _name("fraud")
    model = LogisticRegression().fit(x, y)
    with mlpipex.start_run() as run:
        mlpipex.log_dataset("train", x)
        mlpipex.log_metric("auc", 0.97)
        info = mlpipex.log_model(model, "model", registered_model_name=name, input_example=x)
    v = info.registered_model_version
    assert c.get_policy(name).require.commit  # the strict policy
    assert v is not None and (v.run_id, v.flavor) == (run.run_id, "sklearn")
    assert v.metrics == {"auc": 0.97}
    assert v.commit == env and [d.name for d in v.datasets] == ["train"]
    assert {f.path for f in v.files} == {f.path.removeprefix("model/") for f in info.files}
    c.set_alias(name, "champion", v.version)
    expected = model.predict(x)
    for uri in (f"models:/{name}@champion", info.model_uri):
        assert (np.asarray(mlpipex.load_model(uri).predict(x)) == expected).all(), uri
    again = c.register_model(info.model_uri, name)
    assert (again.version, again.flavor, again.metrics) == (v.version + 1, "sklearn", v.metrics)


def test_refused_registration_names_what_is_missing_and_uploads_nothing(
    env: str, c: Client, data: tuple[pd.DataFrame, pd.Series], server: tuple[str, Path]
) -> None:
    x, y = data
    objects = server[1]
    with mlpipex.start_run() as run:
        mlpipex.log_metric("auc", 0.9)
        before = sorted(p for p in objects.rglob("*") if p.is_file())
        with pytest.raises(PolicyViolation, match="dataset") as refused:
            mlpipex.log_model(LogisticRegression().fit(x, y), registered_model_name=_name("m"))
        assert refused.value.reasons and all("dataset" in r for r in refused.value.reasons)
        assert c.list_artifacts(run.run_id) == []
        assert sorted(p for p in objects.rglob("*") if p.is_file()) == before


def test_runs_list_and_show_through_the_server(
    env: str, c: Client, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    exp = _name("cli")
    (tmp_path / "n.txt").write_text("hi")
    with mlpipex.start_run(experiment=exp) as run:
        mlpipex.log_param("model", "rf")
        mlpipex.log_metric("auc", 0.95)
        mlpipex.log_artifact(tmp_path / "n.txt")
    r = cli("runs", "list", exp, "--filter", "metrics.auc > 0.9", "--json")
    assert r.code == 0 and [x["id"] for x in json.loads(r.out)["runs"]] == [run.run_id]
    r = cli("runs", "show", run.run_id)
    assert r.code == 0 and "param model" in r.out and "n.txt" in r.out and env[:10] in r.out
    assert cli("runs", "show", "0" * 32).code == 4
