"""MLflow 3's workspaces with the real mlflow client: two teams register a model of the same
name, each sees only its own; the native SDK reads the same rows through the same header."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlpipex.client import Client
from tests.server.mlflow.conftest import Server, unique


@pytest.fixture
def mlflow_at(workspaces_server: Server) -> Iterator[MlflowClient]:
    mlflow.set_tracking_uri(workspaces_server.url)
    yield MlflowClient(workspaces_server.url)
    mlflow.set_workspace(None)


def test_two_workspaces_hold_models_of_the_same_name_each_invisible_to_the_other(
    mlflow_at: MlflowClient, workspaces_server: Server
) -> None:
    c = mlflow_at
    fraud_team, risk_team = unique("fraud-team"), unique("risk-team")
    name = unique("fraud")  # the server is shared: a name of this test's own
    for ws in (fraud_team, risk_team):
        mlflow.create_workspace(ws, description=f"the {ws}")
    assert {"default", fraud_team, risk_team} <= {w.name for w in mlflow.list_workspaces()}
    assert mlflow.get_workspace(risk_team).description == f"the {risk_team}"
    for ws, versions in ((fraud_team, 2), (risk_team, 1)):
        mlflow.set_workspace(ws)
        c.create_registered_model(name, description=ws)
        for i in range(versions):
            c.create_model_version(name, f"s3://bucket/{ws}/{i}")
        c.set_registered_model_alias(name, "champion", versions)
    for ws, versions in ((fraud_team, 2), (risk_team, 1)):
        mlflow.set_workspace(ws)
        assert [m.description for m in c.search_registered_models()] == [ws]
        found = c.search_model_versions(f"name='{name}'")
        assert sorted(v.source for v in found) == [f"s3://bucket/{ws}/{i}" for i in range(versions)]
        assert c.get_model_version_by_alias(name, "champion").version == str(versions)
    mlflow.set_workspace(risk_team)
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        c.get_model_version(name, "2")
    mlflow.set_workspace("default")
    assert c.search_registered_models(f"name = '{name}'") == []
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        c.get_registered_model(name)
    # the native SDK, through the same header
    with Client(workspaces_server.url, workspace=fraud_team) as native:
        assert [v.version for v in native.list_versions(name).items] == [2, 1]
        assert native.verify_audit().ok


def test_a_workspace_that_does_not_exist_or_a_bad_name_is_refused(mlflow_at: MlflowClient) -> None:
    mlflow.set_workspace("no-such-team")
    with pytest.raises(MlflowException, match="workspace 'no-such-team' does not exist"):
        mlflow_at.search_registered_models()
    mlflow.set_workspace(None)
    dup = unique("dup-team")
    with pytest.raises(MlflowException, match="RESOURCE_ALREADY_EXISTS"):
        mlflow.create_workspace(dup)
        mlflow.create_workspace(dup)
    mlflow.delete_workspace(dup)
    assert dup not in {w.name for w in mlflow.list_workspaces()}


def test_without_enable_workspaces_the_header_is_refused(permissive: Server) -> None:
    mlflow.set_tracking_uri(permissive.url)
    try:
        mlflow.set_workspace("fraud-team")
        # the client reads server-info's workspaces_enabled and refuses before sending
        with pytest.raises(MlflowException, match="does not support workspaces"):
            MlflowClient(permissive.url).search_registered_models()
    finally:
        mlflow.set_workspace(None)
    url = f"{permissive.url}/api/2.0/mlflow/registered-models/search"
    raw = httpx.get(url, headers={"X-MLFLOW-WORKSPACE": "fraud-team"})
    assert raw.status_code == 400 and raw.json()["error_code"] == "FEATURE_DISABLED"
    # the default workspace named, or none, is what such a server always serves
    for headers in ({"X-MLFLOW-WORKSPACE": "default"}, {}):
        assert httpx.get(url, headers=headers).status_code == 200
