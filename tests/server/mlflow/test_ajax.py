"""The ajax-api routes MLflow's UI charts with: metric histories of many runs at once."""

from __future__ import annotations

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag

from tests.server.mlflow.conftest import unique

pytestmark = pytest.mark.slow


def test_metric_history_of_many_runs_whole_and_sampled(client: MlflowClient, tracking: str) -> None:
    eid = client.create_experiment(unique("charts"))
    runs = sorted(client.create_run(eid).info.run_id for _ in range(2))
    for n, run_id in enumerate(runs):
        for step in range(10):
            client.log_metric(run_id, "loss", step + n, timestamp=1, step=step)
    url = f"{tracking}/ajax-api/2.0/mlflow/metrics"
    # the whole histories come by run id whatever order they are asked in, as MLflow's do
    for asked in (runs, runs[::-1]):
        params = {"run_id": asked, "metric_key": "loss"}
        whole = httpx.get(f"{url}/get-history-bulk", params=params)
        got = [(m["run_id"], m["step"], m["value"]) for m in whole.json()["metrics"]]
        assert got == [(r, s, float(s + n)) for n, r in enumerate(runs) for s in range(10)]
    # and each run's values by time, then step, then value, whatever order they were logged in
    early = client.create_run(eid).info.run_id
    for value, ts, step in ((3.0, 2, 0), (2.0, 1, 5), (1.0, 1, 5), (0.5, 1, 4)):
        client.log_metric(early, "loss", value, timestamp=ts, step=step)
    params = {"run_id": [early], "metric_key": "loss"}
    got = httpx.get(f"{url}/get-history-bulk", params=params).json()["metrics"]
    assert [(m["timestamp"], m["step"], m["value"]) for m in got] == [
        (1, 4, 0.5),
        (1, 5, 1.0),
        (1, 5, 2.0),
        (2, 0, 3.0),
    ]

    params = {"run_ids": runs[:1], "metric_key": "loss", "max_results": 5}
    sampled = httpx.get(f"{url}/get-history-bulk-interval", params=params).json()["metrics"]
    assert [m["step"] for m in sampled] == [0, 2, 4, 6, 8, 9]
    longer = client.create_run(eid).info.run_id
    for step in range(20):
        client.log_metric(longer, "loss", 1.0, timestamp=1, step=step)
    # steps sampled over both runs together, and each run's last; runs in the order asked for
    steps = {runs[0]: (0, 4, 8, 9), longer: (0, 4, 8, 9, 12, 16, 19)}
    for order in ([runs[0], longer], [longer, runs[0]]):
        both = {"run_ids": order, "metric_key": "loss", "max_results": 5}
        lined_up = httpx.get(f"{url}/get-history-bulk-interval", params=both).json()["metrics"]
        got = [(m["run_id"], m["step"]) for m in lined_up]
        assert got == [(r, s) for r in order for s in steps[r]]

    too_many = httpx.get(
        f"{url}/get-history-bulk",
        params={"run_id": [f"r{i}" for i in range(101)], "metric_key": "k"},
    )
    assert too_many.status_code == 400 and "more than 100 run_ids" in too_many.json()["message"]
    half = httpx.get(f"{url}/get-history-bulk-interval", params={**params, "start_step": 1}).json()[
        "message"
    ]
    assert half == "If either start step or end step are specified, both must be specified."


def test_search_datasets_lists_what_the_experiments_runs_logged(
    client: MlflowClient, tracking: str
) -> None:
    eid = client.create_experiment(unique("datasets"))
    run_id = client.create_run(eid).info.run_id
    ds = Dataset(name="train", digest="d1", source_type="local", source="{}")
    client.log_inputs(run_id, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])
    url = f"{tracking}/ajax-api/2.0/mlflow/experiments/search-datasets"
    found = httpx.post(url, json={"experiment_ids": [eid]}).json()["dataset_summaries"]
    assert found == [{"experiment_id": eid, "name": "train", "digest": "d1", "context": "training"}]
    refused = httpx.post(url, json={"experiment_ids": []})
    assert refused.status_code == 400
    assert "must specify at least one experiment_id" in refused.json()["message"]


def test_ui_upload_into_a_run_and_a_logged_models_file(client: MlflowClient, tracking: str) -> None:
    eid = client.create_experiment(unique("ui-files"))
    run_id = client.create_run(eid).info.run_id
    url = f"{tracking}/ajax-api/2.0/mlflow/upload-artifact"
    put = httpx.post(url, params={"run_uuid": run_id, "path": "notes/a.txt"}, content=b"hello")
    assert put.status_code == 200
    got = httpx.get(f"{tracking}/get-artifact", params={"run_uuid": run_id, "path": "notes/a.txt"})
    assert got.content == b"hello"
    for params, says in [
        ({}, "Request must specify run_uuid."),
        ({"run_uuid": run_id, "path": "../x"}, "Invalid path"),
        ({"run_uuid": run_id, "path": "x"}, "Request must specify data."),
    ]:
        r = httpx.post(url, params=params)
        assert r.status_code == 400 and says in r.json()["message"]

    model = client.create_logged_model(eid)
    root = f"{tracking}/api/2.0/mlflow-artifacts/artifacts/"
    location = model.artifact_location.removeprefix("mlflow-artifacts:/")
    assert httpx.put(f"{root}{location}/MLmodel", content=b"flavors: {}\n").status_code == 200
    files = f"{tracking}/ajax-api/2.0/mlflow/logged-models/{model.model_id}/artifacts/files"
    r = httpx.get(files, params={"artifact_file_path": "MLmodel"})
    assert (r.status_code, r.content, r.headers["content-type"]) == (
        200,
        b"flavors: {}\n",
        "text/plain",
    )
