"""Experiment tracking in workspaces, with the real mlflow client against real `mlpipex server
--enable-workspaces` processes (SQLite and PostgreSQL): experiments of one name in two
workspaces, runs, logged models and traces each workspace sees alone, another workspace's ids
answered as missing ones, `mlflow.start_run()` with no experiment set in a new workspace; and a
server without --enable-workspaces refusing the header."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.server.mlflow.conftest import Server, unique

pytestmark = pytest.mark.slow

# The tracer imports mlflow.pyfunc on the first span; that import warns about MLflow's own type
# hints, which this suite's warning filter would turn into an error that silently drops the span.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import mlflow.pyfunc

HEADER = "X-MLFLOW-WORKSPACE"
NEVER = "0123456789abcdef0123456789abcdef"  # a run id no test makes


@pytest.fixture
def tracking(workspaces_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The mlflow library pointed at the server; the workspace is reset afterwards."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", workspaces_server.url)
    mlflow.set_tracking_uri(workspaces_server.url)
    # no experiment set, as in a new session (set_experiment keeps it in this global and in
    # the environment)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    yield workspaces_server.url
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_workspace(None)


def _missing(call: Callable[[], object]) -> str:
    """The message of the RESOURCE_DOES_NOT_EXIST the call must raise."""
    with pytest.raises(MlflowException) as err:
        call()
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST", err.value.message
    return err.value.message


def _log_run(experiment: str, value: float, tmp: Path) -> tuple[str, str]:
    """(experiment id, run id) of a run logged in the current workspace's experiment."""
    exp = mlflow.set_experiment(experiment)
    art = tmp / f"notes-{value}.txt"
    art.write_text(f"value {value}\n")
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", str(value))
        mlflow.log_metric("loss", value)
        mlflow.log_artifact(str(art), "notes")
    return exp.experiment_id, run.info.run_id


def test_experiments_and_runs_of_one_name_are_two_and_each_sees_its_own(
    tracking: str, tmp_path: Path
) -> None:
    a, b = unique("team-a"), unique("team-b")
    mlflow.create_workspace(a, description="team a")
    mlflow.create_workspace(b)
    name = unique("churn")

    mlflow.set_workspace(a)
    exp_a, run_a = _log_run(name, 0.25, tmp_path)
    mlflow.set_workspace(b)
    exp_b, run_b = _log_run(name, 0.75, tmp_path)
    assert exp_a != exp_b

    client = MlflowClient(tracking)
    for ws, exp, run, other_exp, other_run, value in [
        (a, exp_a, run_a, exp_b, run_b, 0.25),
        (b, exp_b, run_b, exp_a, run_a, 0.75),
    ]:
        mlflow.set_workspace(ws)
        assert client.get_experiment_by_name(name).experiment_id == exp
        listed = {e.experiment_id for e in client.search_experiments()}
        assert exp in listed and other_exp not in listed
        found = client.search_runs([exp, other_exp])
        assert [r.info.run_id for r in found] == [run]
        assert found[0].data.params == {"alpha": str(value)}
        assert found[0].data.metrics == {"loss": value}
        assert client.search_runs([other_exp]) == []
        assert [f.path for f in client.list_artifacts(run, "notes")] == [f"notes/notes-{value}.txt"]
        local = client.download_artifacts(run, f"notes/notes-{value}.txt", str(tmp_path))
        assert Path(local).read_text() == f"value {value}\n"

        # the other workspace's run and experiment answer as ones that never were
        # worded exactly as for an id that never was
        said = _missing(lambda r=other_run: client.get_run(r))
        assert said.replace(other_run, NEVER) == _missing(lambda: client.get_run(NEVER))
        _missing(lambda e=other_exp: client.get_experiment(e))
        _missing(lambda r=other_run: client.log_metric(r, "loss", 9.0))
        _missing(lambda r=other_run: client.set_terminated(r))
        _missing(lambda r=other_run: client.delete_run(r))
        _missing(lambda r=other_run: client.set_tag(r, "owner", "x"))
        _missing(lambda e=other_exp: client.create_run(e))
        _missing(lambda e=other_exp: client.create_logged_model(e))
        _missing(lambda r=other_run: client.get_metric_history(r, "loss"))
        with pytest.raises(MlflowException):
            client.list_artifacts(other_run)
        with pytest.raises(MlflowException):
            client.download_artifacts(other_run, "notes", str(tmp_path / "other"))

    # nothing the other workspace tried changed the runs
    mlflow.set_workspace(a)
    got = client.get_run(run_a)
    assert got.info.lifecycle_stage == "active" and got.data.metrics == {"loss": 0.25}
    assert [m.value for m in client.get_metric_history(run_a, "loss")] == [0.25]

    # the default workspace sees neither
    mlflow.set_workspace(None)
    assert client.get_experiment_by_name(name) is None
    _missing(lambda: client.get_run(run_a))


def test_rename_delete_and_restore_act_in_the_workspace_only(tracking: str) -> None:
    a, b = unique("team-a"), unique("team-b")
    mlflow.create_workspace(a)
    mlflow.create_workspace(b)
    name = unique("fraud")
    client = MlflowClient(tracking)
    mlflow.set_workspace(a)
    exp_a = client.create_experiment(name)
    mlflow.set_workspace(b)
    exp_b = client.create_experiment(name)
    with pytest.raises(MlflowException) as err:
        client.create_experiment(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    _missing(lambda: client.rename_experiment(exp_a, "stolen"))
    _missing(lambda: client.delete_experiment(exp_a))
    _missing(lambda: client.set_experiment_tag(exp_a, "owner", "b"))
    client.rename_experiment(exp_b, name + "-b")
    client.delete_experiment(exp_b)
    deleted = client.search_experiments(view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert [e.experiment_id for e in deleted] == [exp_b]

    mlflow.set_workspace(a)
    kept = client.get_experiment(exp_a)
    assert (kept.name, kept.lifecycle_stage, kept.tags.get("owner")) == (name, "active", None)
    assert client.search_experiments(view_type=mlflow.entities.ViewType.DELETED_ONLY) == []
    _missing(lambda: client.restore_experiment(exp_b))

    mlflow.set_workspace(b)
    client.restore_experiment(exp_b)
    assert client.get_experiment(exp_b).name == name + "-b"


def test_start_run_with_no_experiment_set_in_a_new_workspace(tracking: str) -> None:
    ws = unique("fresh")
    mlflow.create_workspace(ws)
    client = MlflowClient(tracking)
    mlflow.set_workspace(None)
    with mlflow.start_run() as home:  # default's Default experiment, id 0
        mlflow.log_param("where", "default")
    assert home.info.experiment_id == "0"

    # looking makes nothing: the workspace stays empty, and so can still be deleted
    looked = unique("looked")
    mlflow.create_workspace(looked)
    mlflow.set_workspace(looked)
    assert client.search_experiments() == []
    assert client.search_runs(["0"]) == []
    _missing(lambda: client.get_experiment("0"))
    mlflow.set_workspace(None)
    mlflow.delete_workspace(looked)

    mlflow.set_workspace(ws)
    with mlflow.start_run() as run:
        mlflow.log_param("where", ws)
        mlflow.log_metric("acc", 0.9)
    eid = run.info.experiment_id
    assert eid != "0"
    default = client.get_experiment(eid)
    assert default.name == "Default"
    # the id MLflow's client sends when none is set names the workspace's own Default
    assert client.get_experiment("0").experiment_id == eid
    assert [r.info.run_id for r in mlflow.search_runs(output_format="list")] == [run.info.run_id]
    assert [e.name for e in client.search_experiments()] == ["Default"]
    with pytest.raises(MlflowException) as err:
        client.delete_experiment("0")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    _missing(lambda: client.get_run(home.info.run_id))

    mlflow.set_workspace(None)
    assert client.get_experiment("0").experiment_id == "0"
    in_default = {r.info.run_id for r in client.search_runs(["0"], max_results=1000)}
    assert home.info.run_id in in_default and run.info.run_id not in in_default


@mlflow.trace(name="score")
def _score(x: int) -> int:
    return x + 1


def test_logged_models_and_traces_are_seen_in_their_workspace_only(tracking: str) -> None:
    a, b = unique("team-a"), unique("team-b")
    mlflow.create_workspace(a)
    mlflow.create_workspace(b)
    client = MlflowClient(tracking)
    mlflow.set_workspace(a)
    exp_a = mlflow.set_experiment(unique("genai")).experiment_id
    model = client.create_logged_model(exp_a, name="ranker")
    assert _score(1) == 2
    mlflow.flush_trace_async_logging()
    traces = mlflow.search_traces(locations=[exp_a], return_type="list")
    assert len(traces) == 1
    trace_id = traces[0].info.trace_id
    assert [m.model_id for m in client.search_logged_models([exp_a])] == [model.model_id]

    mlflow.set_workspace(b)
    exp_b = mlflow.set_experiment(unique("genai")).experiment_id
    assert client.search_logged_models([exp_a, exp_b]) == []
    never = "m-0123456789abcdef0123456789abcdef"
    said = _missing(lambda: client.get_logged_model(model.model_id))
    assert said.replace(model.model_id, never) == _missing(lambda: client.get_logged_model(never))
    with pytest.raises(MlflowException):
        client.set_logged_model_tags(model.model_id, {"stolen": "yes"})
    assert mlflow.search_traces(locations=[exp_a, exp_b], return_type="list") == []
    assert mlflow.get_trace(trace_id) is None
    with pytest.raises(MlflowException):
        client.set_trace_tag(trace_id, "stolen", "yes")
    # nor can its id be taken over by sending the trace again from here
    info = {
        "trace_id": trace_id,
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": exp_b},
        },
        "request_time": "2026-01-01T00:00:00Z",
        "execution_duration": "1s",
        "state": "OK",
    }
    taken = httpx.post(
        f"{tracking}/api/3.0/mlflow/traces",
        json={"trace": {"trace_info": info}},
        headers={HEADER: b},
    )
    assert taken.status_code == 404 and taken.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    mlflow.set_workspace(a)
    assert client.get_logged_model(model.model_id).tags.get("stolen") is None
    kept = client.get_trace(trace_id).info
    assert "stolen" not in kept.tags and kept.experiment_id == exp_a


def test_the_native_api_takes_the_header_too(tracking: str, tmp_path: Path) -> None:
    a, b = unique("team-a"), unique("team-b")
    mlflow.create_workspace(a)
    mlflow.create_workspace(b)
    mlflow.set_workspace(a)
    _, run_id = _log_run(unique("native"), 0.5, tmp_path)
    url = f"{tracking}/api/v1/runs/{run_id}/artifacts"
    own = httpx.get(url, headers={HEADER: a})
    assert own.status_code == 200 and [f["path"] for f in own.json()] == ["notes/notes-0.5.txt"]
    other = httpx.get(url, headers={HEADER: b})
    assert other.status_code == 404 and other.json()["error"]["code"] == "NOT_FOUND"
    assert httpx.get(url).status_code == 404  # no header: the default workspace

    # the artifact proxy: a run's files through the other workspace are missing, and free
    # paths (outside any run) are each workspace's own
    proxy = f"{tracking}/api/2.0/mlflow-artifacts/artifacts"
    exp_id = mlflow.get_run(run_id).info.experiment_id
    in_run = f"{proxy}/{exp_id}/{run_id}/artifacts/notes/notes-0.5.txt"
    assert httpx.get(in_run, headers={HEADER: a}).content == b"value 0.5\n"
    assert httpx.get(in_run, headers={HEADER: b}).status_code == 404
    assert httpx.delete(in_run, headers={HEADER: b}).status_code == 404
    free = f"{proxy}/shared/readme.txt"
    assert httpx.put(free, content=b"from a", headers={HEADER: a}).status_code == 200
    assert httpx.get(free, headers={HEADER: b}).status_code == 404
    assert httpx.put(free, content=b"from b", headers={HEADER: b}).status_code == 200
    assert httpx.get(free, headers={HEADER: a}).content == b"from a"
    assert httpx.get(free, headers={HEADER: b}).content == b"from b"
    assert httpx.get(in_run, headers={HEADER: a}).status_code == 200
