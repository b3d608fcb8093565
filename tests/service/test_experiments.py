"""Experiments named by id on both databases: many read in one statement, 0 as each workspace's
Default, a missing one named; the Default found outside ``default`` in one read."""

from __future__ import annotations

import dataclasses

import pytest

from mlpipex.client import Client
from mlpipex.errors import NotFound
from mlpipex.service.context import Registry
from mlpipex.service.mlflow import compat
from mlpipex.service.tracking import runs as tracking
from mlpipex.service.tracking import scorers
from tests.conftest import statements_sent

pytestmark = pytest.mark.direct  # counts the statements sent to the database


def _reading_experiments(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM experiments" in s]


def _team(client: Client, name: str = "team-a") -> Registry:
    client.create_workspace(name, "a team")
    return dataclasses.replace(client.registry, workspace=name)


def test_many_experiments_are_read_in_one_statement(client: Client) -> None:
    reg = client.registry
    eids = [client.create_experiment(f"judged-{i}") for i in range(3)]
    for eid in eids:
        scorers.register(reg, eid, "relevance", '{"v": 1}')
    with statements_sent(reg.store.engine) as statements:
        latest = scorers.list_latest(reg, [*eids, eids[0]])
    assert sorted(s.experiment_id for s in latest) == sorted(eids)
    assert len(_reading_experiments(statements)) == 1, statements


def test_experiments_keep_the_order_given_and_name_the_missing(client: Client) -> None:
    reg = client.registry
    first, second = client.create_experiment("a"), client.create_experiment("b")
    with reg.store.read() as conn:
        got = compat.experiments(conn, reg.workspace, [second, first, second])
        assert [e.name for e in got] == ["b", "a"]
        for missing in ("987654", "nope"):
            with pytest.raises(NotFound, match=f"experiment '{missing}' does not exist"):
                compat.experiments(conn, reg.workspace, [first, missing])


def test_0_names_each_workspace_s_own_default(client: Client) -> None:
    team = _team(client)
    tracking.ensure_experiment(client.registry)  # ``default``'s (ensure_default caches it)
    compat.ensure_default(team, "0")
    other = client.create_experiment("other")
    with team.store.read() as conn:
        (theirs,) = compat.experiments(conn, team.workspace, ["0"])
        (ours,) = compat.experiments(conn, client.registry.workspace, ["0"])
        assert theirs.name == ours.name == "Default" and theirs.id != ours.id == 0
        # another workspace's experiment is not there, by its id
        with pytest.raises(NotFound):
            compat.experiments(conn, team.workspace, [other])


def test_the_default_outside_default_is_found_in_one_read(client: Client) -> None:
    team = _team(client)
    compat.ensure_default(team, "0")  # made on first use
    with statements_sent(team.store.engine) as statements:
        compat.ensure_default(team, "0")
    assert len(_reading_experiments(statements)) == 1, statements
    assert not [s for s in statements if "experiment_tags" in s]
