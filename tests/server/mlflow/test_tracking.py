"""Tracking through the real mlflow client: experiments, runs, batch logging, metric history,
search with filters and pages, MLflow's error codes."""

from __future__ import annotations

import json
import math
import sys
import time

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

from tests.server.mlflow.conftest import Server, unique


def test_experiments_create_get_search_rename_delete_restore(client: MlflowClient) -> None:
    name = unique("exp")
    eid = client.create_experiment(name, tags={"team": "risk"})
    e = client.get_experiment(eid)
    assert (e.name, e.lifecycle_stage, e.tags["team"]) == (name, "active", "risk")
    assert e.artifact_location == f"mlflow-artifacts:/{eid}"
    assert client.get_experiment_by_name(name).experiment_id == eid
    assert client.get_experiment_by_name(unique("missing")) is None
    assert client.get_experiment("0").name == "Default"

    client.set_experiment_tag(eid, "stage", "dev")
    found = client.search_experiments(filter_string=f"name = '{name}' and tags.stage = 'dev'")
    assert [x.experiment_id for x in found] == [eid]

    client.rename_experiment(eid, name + "-renamed")
    assert client.get_experiment(eid).name == name + "-renamed"
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    active = client.search_experiments(filter_string=f"name = '{name}-renamed'")
    deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}-renamed'"
    )
    assert (len(active), len(deleted)) == (0, 1)
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"

    with pytest.raises(MlflowException) as exc:
        client.create_experiment(name + "-renamed")
    assert exc.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_experiment_search_pages(client: MlflowClient) -> None:
    prefix = unique("page")
    ids = {client.create_experiment(f"{prefix}-{i}") for i in range(5)}
    seen: set[str] = set()
    token = None
    for _ in range(10):
        page = client.search_experiments(
            filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=token
        )
        assert len(page) <= 2
        seen |= {e.experiment_id for e in page}
        token = page.token
        if not token:
            break
    assert seen == ids


def test_runs_log_and_read_back(client: MlflowClient) -> None:
    eid = client.create_experiment(unique("runs"))
    run = client.create_run(eid, run_name="first", tags={"team": "risk"})
    rid = run.info.run_id
    assert run.info.artifact_uri == f"mlflow-artifacts:/{eid}/{rid}/artifacts"
    assert (run.info.run_name, run.info.status) == ("first", "RUNNING")

    client.log_param(rid, "model", "rf")
    client.log_metric(rid, "auc", 0.8, step=0)
    client.log_metric(rid, "auc", 0.9, step=1)
    client.log_metric(rid, "odd", math.nan)
    client.set_tag(rid, "note", "hello")
    client.set_tag(rid, "gone", "soon")
    client.delete_tag(rid, "gone")
    now = int(time.time() * 1000)
    client.log_batch(
        rid,
        metrics=[Metric("loss", 1.0 / (i + 1), now, i) for i in range(1000)],
        params=[Param("depth", "3")],
        tags=[RunTag("batch", "yes")],
    )
    client.set_terminated(rid, "FINISHED")

    got = client.get_run(rid)
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert got.data.params == {"model": "rf", "depth": "3"}
    assert got.data.metrics["auc"] == 0.9 and math.isnan(got.data.metrics["odd"])
    assert got.data.metrics["loss"] == pytest.approx(1 / 1000)
    assert got.data.tags["note"] == "hello" and "gone" not in got.data.tags
    assert got.data.tags["batch"] == "yes" and got.data.tags["team"] == "risk"

    history = client.get_metric_history(rid, "loss")
    assert [m.step for m in history] == list(range(1000))
    assert [m.value for m in client.get_metric_history(rid, "auc")] == [0.8, 0.9]

    with pytest.raises(MlflowException) as exc:
        client.log_param(rid, "model", "xgb")
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"

    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    client.restore_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "active"


def test_batch_of_odd_values_reads_back_as_logged(client: MlflowClient) -> None:
    """NaN and the infinities in a batch are stored in MLflow's form (an infinity as the
    largest double) and read back so; the latest value of a key is the one of the highest
    step, whatever the order sent."""
    rid = client.create_run(client.create_experiment(unique("odd"))).info.run_id
    values = [1.5, math.nan, math.inf, -math.inf, -0.0, 1e308]
    client.log_batch(rid, metrics=[Metric("x", v, 7, step) for step, v in enumerate(values)])
    client.log_batch(rid, metrics=[Metric("y", 2.0, 9, 5), Metric("y", 3.0, 8, 1)])
    got = [m.value for m in client.get_metric_history(rid, "x")]
    big = sys.float_info.max
    assert got[0] == 1.5 and math.isnan(got[1]) and got[2:4] == [big, -big]
    assert got[4:] == [0.0, 1e308]
    latest = client.get_run(rid).data.metrics
    assert latest["x"] == 1e308 and latest["y"] == 2.0


def test_bodies_a_json_library_writes_are_read(mlflow_server: Server) -> None:
    """Python's json.dumps writes bare NaN and Infinity, which strict parsers refuse; MLflow's
    server reads them, and so does this one. A body that is not JSON is refused as MLflow's
    INVALID_PARAMETER_VALUE."""
    api = f"{mlflow_server.url}/api/2.0/mlflow"
    with httpx.Client(timeout=30) as http:
        eid = http.post(f"{api}/experiments/create", json={"name": unique("raw")}).json()
        rid = http.post(f"{api}/runs/create", json=eid).json()["run"]["info"]["run_id"]
        body = json.dumps({"run_id": rid, "key": "m", "value": math.inf, "timestamp": 1})
        assert "Infinity" in body
        sent = http.post(f"{api}/runs/log-metric", content=body)
        assert sent.status_code == 200, sent.text
        bad = http.post(f"{api}/runs/log-metric", content=b'{"run_id": ')
        assert bad.status_code == 400
        assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        history = http.get(f"{api}/metrics/get-history", params={"run_id": rid, "metric_key": "m"})
    assert history.json()["metrics"][0]["value"] == sys.float_info.max


def test_search_runs_filters_order_and_pages(client: MlflowClient) -> None:
    eid = client.create_experiment(unique("search"))
    for i in range(7):
        rid = client.create_run(eid, run_name=f"r{i}").info.run_id
        client.log_batch(
            rid,
            metrics=[Metric("auc", i / 10, 0, 0)],
            params=[Param("model", "rf" if i % 2 else "lr")],
            tags=[RunTag("team", "risk")],
        )
    found = client.search_runs(
        [eid], "metrics.auc > 0.15 and params.model = 'rf'", order_by=["metrics.auc DESC"]
    )
    assert [r.data.metrics["auc"] for r in found] == [0.5, 0.3]

    names: list[str] = []
    token = None
    for _ in range(10):
        page = client.search_runs(
            [eid],
            "tags.team = 'risk'",
            order_by=["attributes.run_name ASC"],
            max_results=3,
            page_token=token,
        )
        names += [r.info.run_name for r in page]
        token = page.token
        if not token:
            break
    assert names == [f"r{i}" for i in range(7)]

    with pytest.raises(MlflowException) as exc:
        client.search_runs([eid], "metrics.auc >> 1")
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"


def test_missing_things_are_resource_does_not_exist(client: MlflowClient) -> None:
    for call in (
        lambda: client.get_run("0" * 32),
        lambda: client.get_experiment("987654"),
        lambda: client.get_registered_model(unique("nope")),
    ):
        with pytest.raises(MlflowException) as exc:
            call()
        assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_fluent_api_logs_to_the_server(tracking: str) -> None:
    import mlflow

    mlflow.set_experiment(unique("fluent"))
    with mlflow.start_run(run_name="fluent") as run:
        mlflow.log_params({"a": 1, "b": "x"})
        mlflow.log_metrics({"m1": 1.5, "m2": 2.5}, step=3)
        mlflow.set_tags({"k": "v"})
    got = MlflowClient(tracking).get_run(run.info.run_id)
    assert got.data.params == {"a": "1", "b": "x"}
    assert got.data.metrics == {"m1": 1.5, "m2": 2.5}
    assert got.info.status == "FINISHED"
