"""MLflow scorers against `mlpipex server` with the real mlflow client's store: versions
registered under an experiment, listed, read, deleted; bad input refused in MLflow's codes."""

from __future__ import annotations

import json

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.server.mlflow.conftest import unique

pytestmark = pytest.mark.slow


def _scorer(func: str) -> str:
    """A serialized scorer as MLflow's client reads one back (it needs these fields)."""
    return json.dumps({"name": "judge", "original_func_name": func, "call_source": "x"})


def test_scorer_versions_are_registered_listed_read_and_deleted(
    client: MlflowClient, tracking: str
) -> None:
    eid = client.create_experiment(unique("scorers"))
    other = client.create_experiment(unique("scorers"))
    store = client._tracking_client.store
    first = store.register_scorer(eid, "relevance", _scorer("v1"))
    second = store.register_scorer(eid, "relevance", _scorer("v2"))
    store.register_scorer(eid, "safety", _scorer("v1"))
    store.register_scorer(other, "relevance", _scorer("v9"))
    assert (first.scorer_version, second.scorer_version) == (1, 2)
    assert first.scorer_id == second.scorer_id
    latest = {s.scorer_name: s.scorer_version for s in store.list_scorers(eid)}
    assert latest == {"relevance": 2, "safety": 1}
    assert [v.scorer_version for v in store.list_scorer_versions(eid, "relevance")] == [1, 2]
    assert store.get_scorer(eid, "relevance").serialized_scorer.original_func_name == "v2"
    older = store.get_scorer(eid, "relevance", version=1)
    assert older.serialized_scorer.original_func_name == "v1"

    store.delete_scorer(eid, "relevance", version=1)
    assert [v.scorer_version for v in store.list_scorer_versions(eid, "relevance")] == [2]
    store.delete_scorer(eid, "relevance")
    assert [s.scorer_name for s in store.list_scorers(eid)] == ["safety"]
    assert [s.scorer_version for s in store.list_scorers(other)] == [1]
    with pytest.raises(MlflowException, match="not found") as missing:
        store.get_scorer(eid, "relevance")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    url = f"{tracking}/api/3.0/mlflow/scorers"
    for bad in (
        {"experiment_id": eid, "name": "", "serialized_scorer": "{}"},
        {"experiment_id": eid, "name": "x" * 251, "serialized_scorer": "{}"},
        {"experiment_id": eid, "name": "n"},
    ):
        r = httpx.post(f"{url}/register", json=bad)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = httpx.get(f"{url}/get", params={"experiment_id": eid, "name": "safety", "version": 0})
    assert r.status_code == 400
    r = httpx.post(
        f"{url}/register", json={"experiment_id": "999999", "name": "n", "serialized_scorer": "{}"}
    )
    assert r.status_code == 404
