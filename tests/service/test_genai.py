"""Scorers and evaluation datasets on both databases: the latest version of each scorer however
many versions there are; a dataset deleted with everything it holds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mlpipex.client import Client
from mlpipex.service.tracking import eval_datasets, eval_records, scorers
from mlpipex.store import schema_genai as g

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
