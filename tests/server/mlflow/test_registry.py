"""The registry through the real mlflow client: models, versions held to the registration
policy, aliases, tags, searches, stage transitions through promote (gates and approvals)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, RunTag
from mlflow.exceptions import MlflowException

from mlpipex.client import Client
from tests.server.mlflow.conftest import Server, unique


def _run(client: MlflowClient, tmp_path: Path, *, commit: bool = True, dataset: bool = True) -> str:
    """A run with a model directory under model/, and what strict registration needs."""
    eid = client.create_experiment(unique("reg"))
    rid = client.create_run(eid).info.run_id
    tags = [RunTag("mlflow.source.git.commit", "c" * 40)] if commit else []
    client.log_batch(rid, metrics=[Metric("auc", 0.91, int(time.time() * 1000), 0)], tags=tags)
    if dataset:
        ds = Dataset("train", "d1g35t", "local", '{"uri": "file:///data/train.csv"}')
        client.log_inputs(rid, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])
    model = tmp_path / unique("model")
    (model / "sub").mkdir(parents=True)
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "sub" / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    client.log_artifacts(rid, str(model), "model")
    return rid


def _versions(client: MlflowClient, tmp_path: Path, prefix: str, n: int) -> str:
    """A model with n versions of one run's model directory; returns its name."""
    rid = _run(client, tmp_path)
    name = unique(prefix)
    client.create_registered_model(name)
    for _ in range(n):
        client.create_model_version(name, f"runs:/{rid}/model", run_id=rid)
    return name


def test_version_from_a_run_inherits_and_shares_its_files(
    client: MlflowClient, mlflow_server: Server, tmp_path: Path
) -> None:
    rid = _run(client, tmp_path)
    name = unique("fraud")
    client.create_registered_model(name, tags={"owner": "risk"}, description="fraud model")
    mv = client.create_model_version(name, f"runs:/{rid}/model", run_id=rid, tags={"k": "v"})
    assert (mv.version, mv.status, mv.current_stage, mv.run_id) == ("1", "READY", "None", rid)
    assert mv.tags == {"k": "v"} and mv.source == f"runs:/{rid}/model"

    native = Client(mlflow_server.store, objects=mlflow_server.objects).get_version(f"{name}/1")
    assert native.commit == "c" * 40 and native.metrics == {"auc": 0.91}
    assert [(d.name, d.digest) for d in native.datasets] == [("train", "d1g35t")]
    run_files = {a.path: a.file_size for a in client.list_artifacts(rid, "model/sub")}
    assert run_files == {"model/sub/weights.bin": 2000}
    assert {f.path for f in native.files} == {"MLmodel", "sub/weights.bin"}

    uri = client.get_model_version_download_uri(name, "1")
    assert uri == f"mlflow-artifacts:/registry/{name}/1"
    out = client.download_artifacts(rid, "model", str(tmp_path / "down"))
    assert (Path(out) / "sub" / "weights.bin").read_bytes() == b"\x00\x01" * 1000


@pytest.mark.parametrize(
    ("commit", "dataset", "missing"), [(False, True, "commit"), (True, False, "dataset")]
)
def test_a_registration_missing_metadata_is_refused(
    client: MlflowClient, tmp_path: Path, commit: bool, dataset: bool, missing: str
) -> None:
    rid = _run(client, tmp_path, commit=commit, dataset=dataset)
    name = unique("refused")
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as exc:
        client.create_model_version(name, f"runs:/{rid}/model", run_id=rid)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    assert missing in exc.value.message and "refused" in exc.value.message
    assert client.search_model_versions(f"name = '{name}'") == []


def test_permissive_server_registers_without_metadata(
    permissive: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = MlflowClient(permissive.url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", permissive.url)
    rid = _run(client, tmp_path, commit=False, dataset=False)
    name = unique("plain")
    client.create_registered_model(name)
    mv = client.create_model_version(name, f"runs:/{rid}/model", run_id=rid)
    assert mv.version == "1"


def test_models_aliases_tags_search_and_deletes(client: MlflowClient, tmp_path: Path) -> None:
    name = _versions(client, tmp_path, "m", 3)
    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    client.set_model_version_tag(name, "3", "validated", "yes")
    found = client.search_model_versions(f"name = '{name}' and tags.validated = 'yes'")
    assert [v.version for v in found] == ["3"]
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["3", "2", "1"]
    client.delete_model_version_tag(name, "3", "validated")
    assert client.get_model_version(name, "3").tags == {}

    client.set_registered_model_tag(name, "team", "risk")
    client.update_registered_model(name, description="new words")
    got = client.get_registered_model(name)
    assert (got.tags, got.description) == ({"team": "risk"}, "new words")
    assert [m.name for m in client.search_registered_models(f"name = '{name}'")] == [name]
    client.delete_registered_model_tag(name, "team")

    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException) as exc:
        client.get_model_version_by_alias(name, "champion")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.delete_model_version(name, "1")
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["3", "2"]
    client.rename_registered_model(name, name + "-x")
    assert client.get_model_version(name + "-x", "3").name == name + "-x"
    client.delete_registered_model(name + "-x")
    with pytest.raises(MlflowException) as exc:
        client.get_registered_model(name + "-x")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.filterwarnings("ignore::FutureWarning")  # MLflow deprecates stages, still sends them
def test_transition_stage_goes_through_promote(
    client: MlflowClient, mlflow_server: Server, tmp_path: Path
) -> None:
    name = _versions(client, tmp_path, "stage", 3)
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "production")
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name='{name}'")}
    assert stages == {"1": "Archived", "2": "Production", "3": "None"}  # the replace rule
    latest = client.get_latest_versions(name, stages=["Production"])
    assert [v.version for v in latest] == ["2"]

    client.transition_model_version_stage(name, "3", "Staging")
    client.transition_model_version_stage(name, "1", "Staging", archive_existing_versions=True)
    assert client.get_model_version(name, "3").current_stage == "Archived"

    policy = {"approvals": {"Production": {"count": 1}}}
    r = httpx.put(f"{mlflow_server.url}/api/v1/models/{name}/policy", json={"policy": policy})
    assert r.status_code == 200, r.text
    with pytest.raises(MlflowException) as exc:
        client.transition_model_version_stage(name, "1", "Production")
    assert exc.value.error_code == "INVALID_STATE" and "waits for approval" in exc.value.message
    assert client.get_model_version(name, "1").current_stage == "Staging"


def test_last_updated_times_move_as_mlflow_reports_them(
    permissive: Server,
) -> None:
    """A new, moved or deleted version updates its model; a description edit updates the
    version only; the native stage-entry time (soak times read it) stays."""
    client = MlflowClient(permissive.url)

    def now() -> int:
        return int(time.time() * 1000)

    name = unique("times")
    client.create_registered_model(name)
    created = client.get_registered_model(name).last_updated_timestamp
    time.sleep(0.01)
    before = now()
    client.create_model_version(name, "runs:/run_id/model", "run_id_1")
    client.create_model_version(name, "runs:/run_id/model", "run_id_1")
    moved = client.get_registered_model(name).last_updated_timestamp
    assert moved >= before > created

    time.sleep(0.01)
    before = now()
    client.update_model_version(name, "1", description="edited")
    assert client.get_model_version(name, "1").last_updated_timestamp >= before
    assert client.get_registered_model(name).last_updated_timestamp == moved
    native = Client(permissive.store, objects=permissive.objects).get_version(f"{name}/1")
    assert native.stage_entered_at < before

    time.sleep(0.01)
    before = now()
    client.delete_model_version(name, "2")
    assert client.get_registered_model(name).last_updated_timestamp >= before
