"""Scorers on both databases: the latest version of each, however many versions there are."""

from __future__ import annotations

import pytest

from mlpipex.client import Client
from mlpipex.service.tracking import scorers

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
