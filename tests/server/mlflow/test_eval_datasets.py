"""MLflow evaluation datasets against `mlpipex server` with the real mlflow client: create,
get, search, tags, experiments, records upserted by their inputs, delete; bad input refused
in MLflow's codes."""

from __future__ import annotations

import json

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.server.mlflow.conftest import unique

pytestmark = pytest.mark.slow


def test_datasets_are_created_found_tagged_linked_and_deleted(client: MlflowClient) -> None:
    one, two = (client.create_experiment(unique("evalsets")) for _ in range(2))
    team = unique("team")
    a = client.create_dataset(name=unique("a"), experiment_id=one, tags={"team": team})
    b = client.create_dataset(name=unique("b"), experiment_id=[one, two], tags={"team": "x"})
    assert a.dataset_id.startswith("d-") and a.experiment_ids == [one]
    assert sorted(client.get_dataset(b.dataset_id).experiment_ids) == sorted([one, two])

    in_two = client.search_datasets(experiment_ids=[two])
    assert [d.dataset_id for d in in_two] == [b.dataset_id]
    tagged = client.search_datasets(filter_string=f"tags.team = '{team}'")
    assert [d.dataset_id for d in tagged] == [a.dataset_id]
    by_name = client.search_datasets(experiment_ids=[one], order_by=["name DESC"])
    assert [d.name for d in by_name] == sorted([a.name, b.name], reverse=True)

    client.set_dataset_tags(a.dataset_id, {"team": "new", "stage": "dev"})
    client.delete_dataset_tag(a.dataset_id, "stage")
    tags = client.get_dataset(a.dataset_id).tags
    assert {k: v for k, v in tags.items() if not k.startswith("mlflow.")} == {"team": "new"}

    moved = client.add_dataset_to_experiments(a.dataset_id, experiment_ids=[two, two])
    assert sorted(moved.experiment_ids) == sorted([one, two])
    left = client.remove_dataset_from_experiments(a.dataset_id, experiment_ids=[one])
    assert left.experiment_ids == [two]

    client.delete_dataset(a.dataset_id)
    with pytest.raises(MlflowException, match="not found") as gone:
        client.get_dataset(a.dataset_id)
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException, match="not found"):
        client.add_dataset_to_experiments(a.dataset_id, experiment_ids=[one])


def test_records_are_upserted_by_their_inputs(client: MlflowClient, tracking: str) -> None:
    eid = client.create_experiment(unique("evalrecords"))
    dataset = client.create_dataset(name=unique("qa"), experiment_id=eid)
    url = f"{tracking}/api/3.0/mlflow/datasets/{dataset.dataset_id}/records"
    first = [
        {"inputs": {"q": "a"}, "expectations": {"answer": "1"}, "tags": {"k": "v"}},
        {"inputs": {"q": "b"}, "expectations": {"answer": "2"}},
    ]
    r = httpx.post(url, json={"records": json.dumps(first)})
    assert r.json() == {"inserted_count": 2, "updated_count": 0}
    again = [
        {"inputs": {"q": "a"}, "expectations": {"extra": "3"}},
        {"inputs": {"q": "c"}, "outputs": "out"},
    ]
    r = httpx.post(url, json={"records": json.dumps(again)})
    assert r.json() == {"inserted_count": 1, "updated_count": 1}

    stored = json.loads(httpx.get(url).json()["records"])
    by_q = {rec["inputs"]["q"]: rec for rec in stored}
    assert by_q["a"]["expectations"] == {"answer": "1", "extra": "3"}
    assert by_q["a"]["tags"] == {"k": "v"} and by_q["c"]["outputs"] == "out"
    page = httpx.get(url, params={"max_results": 2}).json()
    assert len(json.loads(page["records"])) == 2 and page["next_page_token"]
    read = client.get_dataset(dataset.dataset_id)
    assert read.digest != dataset.digest  # the digest follows the records

    gone = httpx.request(
        "DELETE", url, json={"dataset_record_ids": [by_q["b"]["dataset_record_id"]]}
    )
    assert gone.json() == {"deleted_count": 1}
    assert len(json.loads(httpx.get(url).json()["records"])) == 2

    for bad in ("not json", json.dumps({"inputs": {}}), json.dumps([{"outputs": 1}])):
        r = httpx.post(url, json={"records": bad})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    deep = "[" * 100_000 + "]" * 100_000
    assert httpx.post(url, json={"records": deep}).status_code == 400
    r = httpx.post(f"{tracking}/api/3.0/mlflow/datasets/d-missing/records", json={"records": "[]"})
    assert r.status_code == 404
    r = httpx.post(f"{tracking}/api/3.0/mlflow/datasets/create", json={"name": "n", "tags": "[1]"})
    assert r.status_code == 400
