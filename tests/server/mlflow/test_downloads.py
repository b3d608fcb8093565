"""Artifact downloads as MLflow serves them (type by extension, attachment name, nosniff;
/get-artifact by run id), and request errors in MLflow's words."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import httpx
import mlflow
import pytest

from mlpipex.client import Client
from tests.server.mlflow.conftest import Server, unique

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.txt", "text/plain"), ("c.png", "image/png"), ("MLmodel", "text/plain"), ("b.pkl", None)],
)
def test_downloads_carry_mlflows_headers(
    tracking: str, tmp_path: Path, name: str, kind: str | None
) -> None:
    (tmp_path / name).write_bytes(b"\x89 payload")
    mlflow.set_experiment(unique("downloads"))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / name), "dir")
    uri = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    by_proxy = httpx.get(f"{tracking}/api/2.0/mlflow-artifacts/artifacts/{uri}/dir/{name}")
    by_run = httpx.get(
        f"{tracking}/get-artifact", params={"run_id": run.info.run_id, "path": f"dir/{name}"}
    )
    for r in (by_proxy, by_run):
        assert r.status_code == 200 and r.content == b"\x89 payload"
        assert r.headers["content-type"] == (kind or "application/octet-stream")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-disposition"] == f"attachment; filename={name}"
    missing = httpx.get(f"{tracking}/get-artifact", params={"run_id": run.info.run_id, "path": "x"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_bad_requests_name_the_parameter_as_mlflow_does(tracking: str) -> None:
    url = f"{tracking}/api/2.0/mlflow"
    wrong_type = httpx.post(f"{url}/runs/log-parameter", json={"run_id": 31, "key": "k"})
    assert wrong_type.status_code == 400
    assert "Invalid value 31 for parameter 'run_id' supplied" in wrong_type.json()["message"]
    missing = httpx.post(f"{url}/experiments/create", json={})
    assert missing.json()["message"] == "Missing value for required parameter 'name'."
    too_many = httpx.post(f"{url}/runs/search", json={"max_results": 123456789})
    assert "Invalid value 123456789 for parameter 'max_results'" in too_many.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "feature"),
    [
        ("POST", "/graphql", "GraphQL"),
        ("POST", "/api/3.0/mlflow/issues/search", "issues"),
        ("GET", "/ajax-api/3.0/mlflow/gateway/supported-providers", "AI Gateway"),
        ("POST", "/ajax-api/2.0/mlflow/runs/create-promptlab-run", "prompt lab"),
    ],
)
def test_mlflow_features_left_out_are_refused_clearly(
    tracking: str, method: str, path: str, feature: str
) -> None:
    r = httpx.request(method, f"{tracking}{path}", json={})
    assert r.status_code == 501
    assert r.json()["error_code"] == "NOT_IMPLEMENTED" and feature in r.json()["message"]


def test_a_large_upload_is_stored_whole_under_its_digest(
    tracking: str, mlflow_server: Server, tmp_path: Path
) -> None:
    data = os.urandom(9 * 2**20 + 12345)  # many received chunks and several hops
    (tmp_path / "big.bin").write_bytes(data)
    mlflow.set_experiment(unique("uploads"))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "big.bin"))
    back = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="big.bin", dst_path=str(tmp_path / "back")
    )
    assert Path(back).read_bytes() == data
    stored = Client(mlflow_server.store, objects=mlflow_server.objects).registry.objects
    assert stored.exists(blake3.blake3(data).hexdigest())


def test_a_versions_file_by_name_version_and_path(permissive: Server, tmp_path: Path) -> None:
    """MLflow UI's /model-versions/get-artifact; repeated slashes lead to the same route, as
    MLflow's server merges them; a path that climbs out is an invalid path."""
    client = mlflow.MlflowClient(permissive.url)
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    rid = client.create_run(client.create_experiment(unique("vfile"))).info.run_id
    client.log_artifact(rid, str(tmp_path / "MLmodel"), "model")
    name = unique("vfile")
    client.create_model_version(name, f"runs:/{rid}/model", run_id=rid)
    for root in ("/", "//"):
        r = httpx.get(
            f"{permissive.url}{root}model-versions/get-artifact",
            params={"name": name, "version": 1, "path": "MLmodel"},
            follow_redirects=True,
        )
        assert r.status_code == 200 and r.text == "flavors: {}\n"
        assert r.headers["content-disposition"] == "attachment; filename=MLmodel"
    bad = httpx.get(
        f"{permissive.url}//model-versions/get-artifact",
        params={"name": name, "version": 1, "path": "../x"},
        follow_redirects=True,
    )
    assert bad.status_code == 400
    assert bad.json() == {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"}
    absent = httpx.get(
        f"{permissive.url}/model-versions/get-artifact",
        params={"name": name, "version": 1, "path": "nope"},
    )
    assert absent.status_code == 404 and absent.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
