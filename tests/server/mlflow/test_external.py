"""What MLflow records that this registry does not hold: versions whose source or run lives
elsewhere (external references, permissive policy only, never deployed or served), and who the
client says starts a run."""

from __future__ import annotations

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlpipex.client import Client
from mlpipex.errors import Invalid
from tests.server.mlflow.conftest import Server, unique

pytestmark = pytest.mark.slow
UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("source", "run_id"),
    [("s3://bucket/models/fraud", None), ("dbfs:/models/fraud", UNKNOWN_RUN), (None, UNKNOWN_RUN)],
)
def test_permissive_records_an_external_reference_that_is_never_deployed(
    permissive: Server, source: str | None, run_id: str | None
) -> None:
    client = MlflowClient(permissive.url)
    name = unique("external")
    source = source or f"runs:/{run_id}/model"
    mv = client.create_model_version(name, source, run_id=run_id)
    assert (mv.version, mv.status, mv.source, mv.run_id) == ("1", "READY", source, run_id)
    found = client.search_model_versions(f"name = '{name}'")
    assert [(v.version, v.source) for v in found] == [("1", source)]
    native = Client(permissive.store, objects=permissive.objects)
    native.promote(name, 1, "Staging")
    with pytest.raises(Invalid, match="external reference"):
        native.apply_endpoint(
            {"name": unique("ep"), "model": name, "traffic": [{"version": 1, "weight": 100}]}
        )
    with pytest.raises(Invalid, match="external reference"):
        native.load_model(f"models:/{name}/1")
    endpoint = {"name": unique("ep"), "model": name, "follow": "Production"}
    native.apply_endpoint(endpoint)  # nothing in Production yet: nothing to deploy
    with pytest.raises(Invalid, match="cannot be deployed"):
        native.promote(name, 1, "Production")
    assert native.get_version(f"{name}/1").stage == "Staging"


def test_strict_refuses_what_it_does_not_hold(client: MlflowClient) -> None:
    name = unique("strict-external")
    with pytest.raises(MlflowException) as exc:
        client.create_model_version(name, "s3://bucket/models/fraud", run_id=UNKNOWN_RUN)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "not held by this registry" in exc.value.message
    assert client.search_model_versions(f"name = '{name}'") == []


def test_create_run_keeps_the_user_the_client_names(tracking: str) -> None:
    body = {"experiment_id": "0", "user_id": "alice", "start_time": 1}
    made = httpx.post(f"{tracking}/api/2.0/mlflow/runs/create", json=body).json()
    assert made["run"]["info"]["user_id"] == "alice"
    run_id = made["run"]["info"]["run_id"]
    assert MlflowClient(tracking).get_run(run_id).info.user_id == "alice"


def test_version_names_the_mlflow_release_the_api_speaks(tracking: str) -> None:
    assert httpx.get(f"{tracking}/version").text.startswith("3.17.")


def test_an_artifact_location_of_its_own_is_refused_not_dropped(client: MlflowClient) -> None:
    name = unique("located")
    with pytest.raises(MlflowException) as exc:
        client.create_experiment(name, artifact_location="s3://bucket/elsewhere")
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "artifact_location" in exc.value.message
    assert client.get_experiment_by_name(name) is None


def test_a_copy_of_an_external_version_downloads_from_the_original_source(
    permissive: Server,
) -> None:
    client = MlflowClient(permissive.url)
    name = unique("copied")
    client.create_model_version(name, "s3://bucket/models/orig", run_id=UNKNOWN_RUN)
    client.set_registered_model_alias(name, "src", "1")
    copy = client.copy_model_version(f"models:/{name}@src", name)
    assert (copy.version, client.get_model_version(name, "2").source) == ("2", f"models:/{name}/1")
    assert client.get_model_version_download_uri(name, "2") == "s3://bucket/models/orig"
