"""Errors in MLflow's words where its clients and its own tests match on them: a missing or
taken registered model, a missing version, a version that is not a number, a missing run or
run tag, a deleted run, an artifact path that climbs out. The native API keeps its own words."""

from __future__ import annotations

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.server.mlflow.conftest import Server, unique

pytestmark = pytest.mark.slow


def test_registered_model_errors_in_mlflow_words(client: MlflowClient) -> None:
    name = unique("words")
    with pytest.raises(
        MlflowException,
        match=rf"^RESOURCE_DOES_NOT_EXIST: Registered Model with name={name} not found$",
    ):
        client.get_registered_model(name)
    client.create_registered_model(name)
    with pytest.raises(
        MlflowException, match=rf"Registered Model \(name={name}\) already exists\."
    ):
        client.create_registered_model(name)
    other = unique("words")
    client.create_registered_model(other)
    with pytest.raises(MlflowException, match=rf"Registered Model \(name={other}\) already exists"):
        client.rename_registered_model(name, other)
    client.delete_registered_model(name)
    with pytest.raises(MlflowException, match=rf"Registered Model with name={name} not found"):
        client.rename_registered_model(name, unique("words"))


def test_version_errors_in_mlflow_words(client: MlflowClient) -> None:
    name = unique("words")
    client.create_registered_model(name)
    with pytest.raises(
        MlflowException, match=rf"Model Version \(name={name}, version=3\) not found"
    ):
        client.get_model_version(name, "3")
    with pytest.raises(
        MlflowException,
        match=r"INVALID_PARAMETER_VALUE: Parameter 'version' must be an integer, got 'three'\.",
    ):
        client.get_model_version(name, "three")


def test_run_errors_in_mlflow_words(client: MlflowClient) -> None:
    rid = client.create_run(client.create_experiment(unique("words"))).info.run_id
    with pytest.raises(MlflowException, match="Run with id=nope not found"):
        client.delete_tag("nope", "k")
    with pytest.raises(MlflowException, match=f"No tag with name: absent in run with id {rid}"):
        client.delete_tag(rid, "absent")
    client.delete_run(rid)
    with pytest.raises(MlflowException, match=f"The run {rid} must be in the 'active' state"):
        client.set_tag(rid, "k", "v")


def test_a_path_that_climbs_out_is_an_invalid_path(
    client: MlflowClient, mlflow_server: Server
) -> None:
    rid = client.create_run(client.create_experiment(unique("words"))).info.run_id
    for route in ("/api/2.0/mlflow/artifacts/list", "/get-artifact"):
        r = httpx.get(f"{mlflow_server.url}{route}", params={"run_id": rid, "path": "../x"})
        assert r.status_code == 400
        assert r.json() == {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"}


def test_the_native_api_keeps_its_own_words(mlflow_server: Server) -> None:
    r = httpx.get(f"{mlflow_server.url}/api/v1/models/{unique('absent')}")
    assert r.status_code == 404
    assert "does not exist" in r.json()["error"]["message"]
