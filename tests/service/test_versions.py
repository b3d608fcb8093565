"""Reading a version by its names: everything it carries, in one statement."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlpipex.client import Client
from mlpipex.domain import events as ev
from mlpipex.errors import NotFound
from mlpipex.service.registry import versions
from mlpipex.store.events import log as events
from tests.conftest import statements_sent


@pytest.mark.direct
def test_lookup_by_alias_is_one_statement_with_everything(
    client: Client, make_version: Callable[..., int]
) -> None:
    make_version()
    # digits JSON would round away on SQLite (15 significant), and values JSON has no number for
    exact = {"auc": 0.1 + 0.2, "third": 1 / 3, "tiny": 5e-324, "big": 1.3312392722024802e219}
    v = make_version(tags={"team": "risk"}, metrics=exact)
    client.set_alias("fraud", "champion", v)
    client.set_alias("fraud", "best", v)
    reg = client.registry
    with statements_sent(reg.store.engine) as captured:
        got = versions.get_version(reg, "fraud@champion")
    queries = [s for s in captured if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 1, queries
    assert got.version == v and got.aliases == ("best", "champion")
    assert got.metrics == exact and got.tags == {"team": "risk"}
    assert [d.name for d in got.datasets] == ["train"] and len(got.files) == 1
    assert got == versions.get_version(reg, f"fraud/{v}")


@pytest.mark.direct
def test_missing_parts_are_named(client: Client, make_version: Callable[..., int]) -> None:
    make_version()
    reg = client.registry
    for ref, message in [
        ("nope@x", "model 'nope' does not exist"),
        ("fraud@x", "model 'fraud' has no alias 'x'"),
        ("fraud/9", "version fraud/9 does not exist"),
    ]:
        with pytest.raises(NotFound, match=message):
            versions.get_version(reg, ref)


@pytest.mark.direct
def test_a_tag_is_set_by_the_statement_that_finds_its_version(
    client: Client, make_version: Callable[..., int]
) -> None:
    v = make_version()
    reg = client.registry
    with statements_sent(reg.store.engine) as sent:
        versions.set_version_tag(reg, "fraud", v, "team", "risk")
        versions.set_version_tag(reg, "fraud", v, "team", "fraud")  # moved, not added
    # each: the tag's upsert (which finds the version), the chain's head, the event, the head moved
    assert len(sent) == 8, sent
    assert not [s for s in sent if s.lstrip().startswith("SELECT") and "model_versions" in s]
    assert versions.get_version(reg, f"fraud/{v}").tags == {"team": "fraud"}
    for name, number, message in [
        ("nope", 1, "model 'nope' does not exist"),
        ("fraud", 9, "version fraud/9 does not exist"),
    ]:
        with pytest.raises(NotFound, match=message):
            versions.set_version_tag(reg, name, number, "team", "x")
    with reg.store.read() as conn:
        changes = events.query(conn, reg.workspace, kind=ev.TAG_SET)
    assert [(e.model, e.version, e.payload["value"]) for e in changes] == [
        ("fraud", v, "risk"),
        ("fraud", v, "fraud"),
    ]
