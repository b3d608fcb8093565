"""Scorers and evaluation datasets on both databases: the latest version of each scorer however
many versions there are; a dataset deleted with everything it holds."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from mlpipex.client import Client
from mlpipex.service.tracking import eval_datasets, eval_records, scorers
from mlpipex.store import schema_genai as g
from tests.conftest import statements_sent

pytestmark = pytest.mark.direct  # reaches into the database


def test_latest_of_each_scorer_past_the_listing_limit(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = client.registry
    eid = client.create_experiment("judged")
    for name, count in (("relevance", 3), ("safety", 2)):
        for i in range(count):
            scorers.register(reg, eid, name, f'{{"v": {i}}}')
    # fewer versions listed at once than there are: the latest are still the latest
    monkeypatch.setattr(scorers, "MAX_VERSIONS", 2)
    latest = {(s.name, s.version) for s in scorers.list_latest(reg, [eid])}
    assert latest == {("relevance", 3), ("safety", 2)}
    assert [s.version for s in scorers.list_versions(reg, eid, "relevance")] == [1, 2]


def test_a_deleted_dataset_takes_its_tags_links_and_records(client: Client) -> None:
    reg = client.registry
    eid = client.create_experiment("evaluated")
    made = eval_datasets.create(reg, "questions", [eid], {"team": "risk"})
    eval_records.upsert(
        reg, made.dataset_id, eval_records.parse_records('[{"inputs": {"q": 1}}]'), None
    )
    eval_datasets.delete(reg, made.dataset_id)
    children = (g.eval_dataset_tags, g.eval_dataset_experiments, g.eval_dataset_records)
    with reg.store.read() as conn:
        left = [
            conn.execute(sa.select(sa.func.count()).select_from(c)).scalar_one() for c in children
        ]
    assert left == [0, 0, 0]


def test_records_are_written_in_one_statement_however_many(client: Client) -> None:
    reg = client.registry
    made = eval_datasets.create(reg, "questions", [client.create_experiment("evaluated")], {})
    first = '[{"inputs": {"q": 1}, "expectations": {"a": 1}, "tags": {"t": "x"}}]'
    eval_records.upsert(reg, made.dataset_id, eval_records.parse_records(first), "bob")
    (before,) = eval_records.get_records(reg, made.dataset_id, 10, None).items
    batch = [{"inputs": {"q": i}, "outputs": i} for i in range(2, 50)]
    # q 1 again: merged into the stored one; q 2 twice in one batch: the second updates it
    batch += [{"inputs": {"q": 1}, "expectations": {"b": 2}}, {"inputs": {"q": 2}, "outputs": 0}]
    records = eval_records.parse_records(json.dumps(batch))
    with statements_sent(reg.store.engine) as statements:
        done = eval_records.upsert(reg, made.dataset_id, records, None)
    assert (done.inserted, done.updated) == (48, 2)
    writes = [s for s in statements if "mlflow_eval_dataset_records" in s and "SELECT" not in s]
    assert len(writes) == 1, statements
    page = eval_records.get_records(reg, made.dataset_id, 100, None)
    by_q = {json.loads(r.inputs)["q"]: r for r in page.items}
    assert len(by_q) == 49 and by_q[3].outputs == "3" and by_q[2].outputs == "0"
    one = by_q[1]
    assert json.loads(one.expectations or "") == {"a": 1, "b": 2}
    assert json.loads(one.tags or "") == {"t": "x"} and one.created_by == "bob"
    assert one.last_updated_by == reg.actor.name != "bob"
    assert (one.record_id, one.created_time) == (before.record_id, before.created_time)
