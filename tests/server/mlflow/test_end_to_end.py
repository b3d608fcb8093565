"""What users do with MLflow, unchanged: log a scikit-learn model and register it under the
strict policy, load it back by alias, move artifacts up and down; what the proxy refuses."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from mlpipex.client import Client
from tests.server.mlflow.conftest import Server, unique


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    rnd = np.random.default_rng(7)
    x = pd.DataFrame({"a": rnd.random(200), "b": rnd.random(200)})
    return x, (x.a + x.b > 1).astype(np.int64)


# MLflow's own advice while it saves a model (type hints, integer columns) is not under test.
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
def test_sklearn_log_model_registers_under_strict_policy_and_loads_by_alias(
    tracking: str, mlflow_server: Server, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    import mlflow
    import mlflow.sklearn

    x, y = data
    model = LogisticRegression().fit(x, y)
    name = unique("fraud")
    mlflow.set_experiment(unique("e2e"))
    with mlflow.start_run() as run:
        mlflow.set_tag("mlflow.source.git.commit", "b" * 40)
        mlflow.log_input(mlflow.data.from_pandas(x, name="train"), context="training")
        mlflow.log_metric("accuracy", float(model.score(x, y)))
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=name, input_example=x.head(3)
        )
    assert str(info.registered_model_version) == "1"

    client = MlflowClient(tracking)
    mv = client.get_model_version(name, "1")
    assert mv.run_id == run.info.run_id and mv.source == f"models:/{info.model_id}"
    client.set_registered_model_alias(name, "champion", "1")
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert (loaded.predict(x) == model.predict(x)).all()

    native = Client(mlflow_server.store, objects=mlflow_server.objects).get_version(f"{name}/1")
    assert native.commit == "b" * 40 and "accuracy" in native.metrics
    assert [d.name for d in native.datasets] == ["train"]
    assert "MLmodel" in {f.path for f in native.files}

    lm = client.get_logged_model(info.model_id)
    assert (lm.status.to_proto(), lm.source_run_id) == (2, run.info.run_id)  # READY
    found = client.search_logged_models([lm.experiment_id], filter_string="name = 'model'")
    assert [m.model_id for m in found] == [info.model_id]
    client.set_logged_model_tags(info.model_id, {"stage": "candidate"})
    assert client.get_logged_model(info.model_id).tags["stage"] == "candidate"
    listed = {a.path for a in client.list_logged_model_artifacts(info.model_id)}
    assert listed == {f.path.split("/")[0] for f in native.files}


def test_artifacts_up_down_and_listed(client: MlflowClient, tmp_path: Path) -> None:
    rid = client.create_run(client.create_experiment(unique("art"))).info.run_id
    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "deep" / "b.bin").write_bytes(b"\xff" * 70_000)
    client.log_artifact(rid, str(src / "a.txt"), "notes")
    client.log_artifacts(rid, str(src), "tree")

    top = {(a.path, a.is_dir) for a in client.list_artifacts(rid)}
    assert top == {("notes", True), ("tree", True)}
    inner = {(a.path, a.file_size) for a in client.list_artifacts(rid, "tree/deep")}
    assert inner == {("tree/deep/b.bin", 70_000)}

    out = Path(client.download_artifacts(rid, "tree", str(tmp_path / "down")))
    assert (out / "deep" / "b.bin").read_bytes() == b"\xff" * 70_000
    one = Path(client.download_artifacts(rid, "notes/a.txt", str(tmp_path / "one")))
    assert one.read_text() == "alpha"


def test_unknown_routes_and_climbing_paths_are_refused(mlflow_server: Server) -> None:
    r = httpx.get(f"{mlflow_server.url}/api/2.0/mlflow/no/such/thing")
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert httpx.get(f"{mlflow_server.url}/version").text.count(".") >= 1

    url = urlparse(mlflow_server.url)
    for method, target in (
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/../../etc/passwd"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts/a/%2e%2e/%2e%2e/secret"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts?path=../outside"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts?path=/etc"),
    ):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request(method, target, body=b"x" if method == "PUT" else None)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        assert resp.status == 400, (target, body)
        assert b"INVALID_PARAMETER_VALUE" in body


def test_registered_versions_are_read_only_through_the_proxy(
    client: MlflowClient, mlflow_server: Server, tmp_path: Path
) -> None:
    r = httpx.put(
        f"{mlflow_server.url}/api/2.0/mlflow-artifacts/artifacts/registry/any/1/x", content=b"x"
    )
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as exc:
        client.get_model_version_download_uri(unique("absent"), "1")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"
