"""MLflow's searches on both databases: a page of versions in one statement, with what a get of
each version answers; the latest version per stage the same way; a page of runs in three, with
what MLflow shows beside each run, whichever experiments it names."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pytest

from mlpipex.client import Client
from mlpipex.domain.policy import PERMISSIVE
from mlpipex.service.context import Actor, Registry
from mlpipex.service.mlflow import compat
from mlpipex.service.mlflow import registry as mlflow_registry
from mlpipex.service.tracking.checks import Metric
from mlpipex.store.mlflow.records import MlflowDataset
from tests.conftest import statements_sent

pytestmark = pytest.mark.direct  # counts the statements sent to the database


def _selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


@pytest.fixture
def reg(client: Client, make_version: Callable[..., int]) -> Registry:
    """Model ``m``: v1 registered natively (tags, metrics, a dataset, two aliases, in Staging),
    v2 recorded from an MLflow source elsewhere (its description edited through the API), v3
    plain; model ``other`` with one version."""
    reg = dataclasses.replace(client.registry, default_policy=PERMISSIVE)
    make_version("m", tags={"team": "risk"}, metrics={"auc": 0.25, "third": 1 / 3})
    mlflow_registry.create_version(reg, "m", "s3://bucket/model", None, {"k": "v"}, "", None)
    mlflow_registry.update_description(reg, "m", 2, "edited")
    make_version("m")
    make_version("other")
    client.set_alias("m", "champion", 1)
    client.set_alias("m", "best", 1)
    client.promote("m", 1, "Staging")
    return reg


def test_a_page_of_versions_is_one_statement_with_what_get_answers(reg: Registry) -> None:
    with statements_sent(reg.store.engine) as statements:
        page = mlflow_registry.search_versions(reg, "name = 'm'", [], 50, None)
    assert len(_selects(statements)) == 1, statements
    # MLflow's default order: the latest stage change first
    assert [v.version.version for v in page.items] == [1, 3, 2]
    assert page.next_token is None
    for got in page.items:
        assert got == mlflow_registry.get_version(reg, "m", got.version.version)
    first, _, external = page.items
    assert first.version.aliases == ("best", "champion") and first.version.stage == "Staging"
    assert first.version.tags == {"team": "risk"}
    assert first.version.metrics == {"auc": 0.25, "third": 1 / 3}
    assert [d.name for d in first.version.datasets] == ["train"]
    assert first.source == "mlflow-artifacts:/registry/m/1"
    assert external.source == "s3://bucket/model" and external.external
    assert external.edited_at is not None and external.version.tags == {"k": "v"}


def test_pages_follow_each_other_in_the_order_asked(reg: Registry) -> None:
    seen, token = [], None
    for _ in range(5):
        page = mlflow_registry.search_versions(reg, None, ["version_number ASC"], 2, token)
        seen += [(v.version.model, v.version.version) for v in page.items]
        token = page.next_token
        if token is None:
            break
    assert seen == [("m", 1), ("other", 1), ("m", 2), ("m", 3)]


def test_a_caller_sees_only_the_models_it_has_a_role_on(reg: Registry) -> None:
    actor = Actor("vic", frozenset(), {"other": frozenset({"viewer"})})
    limited = dataclasses.replace(reg, actor=actor)
    page = mlflow_registry.search_versions(limited, None, [], 50, None)
    assert [(v.version.model, v.version.version) for v in page.items] == [("other", 1)]


def test_the_latest_per_stage_is_what_get_answers(reg: Registry) -> None:
    latest = mlflow_registry.latest_versions(reg, "m", [])
    assert [(v.version.version, v.version.stage) for v in latest] == [(1, "Staging"), (3, "None")]
    for got in latest:
        assert got == mlflow_registry.get_version(reg, "m", got.version.version)


def _run_with_extras(reg: Registry, eid: str) -> str:
    """A run with two dataset inputs as MLflow sends them, two logged models output and two
    taken as input, a param, a tag and two metrics (one NaN, one of 17 significant digits)."""
    run_id = compat.create_run(reg, eid, "extras", None, {}).run.id
    datasets = [
        MlflowDataset("b", "d2", "local", '{"uri": "b.csv"}', '{"a": 1}', '{"num_rows": 3}'),
        MlflowDataset(
            "a", "d1", "local", '{"uri": "a.csv"}', tags=(("mlflow.data.context", "train"),)
        ),
    ]
    compat.log_inputs(reg, run_id, datasets, models=["m-2", "m-1"])
    compat.log_outputs(reg, run_id, {"m-9": 3, "m-8": 1})
    metrics = [Metric("loss", math.nan, 5, 2), Metric("auc", 0.1 + 0.2, 7, 3)]
    compat.log_batch(reg, run_id, metrics, params={"p": "1"}, tags={"t": "x"})
    return run_id


def test_a_page_of_runs_is_three_statements_with_what_mlflow_shows(client: Client) -> None:
    reg = client.registry
    eid = compat.create_experiment(reg, "searched", {}).id
    for i in range(3):
        compat.create_run(reg, eid, f"plain-{i}", 1000 + i, {})
    extras = _run_with_extras(reg, eid)
    with statements_sent(reg.store.engine) as statements:
        page = compat.search_runs(reg, [eid], None, "ACTIVE_ONLY", [], 50, None)
    assert len(_selects(statements)) == 3, statements
    assert [r.run.name for r in page.items] == ["extras", "plain-2", "plain-1", "plain-0"]
    got = page.items[0]
    assert got == compat.get_run(reg, extras)
    assert [(d.name, d.digest, d.schema, d.profile, d.tags) for d in got.datasets] == [
        ("a", "d1", None, None, (("mlflow.data.context", "train"),)),
        ("b", "d2", '{"a": 1}', '{"num_rows": 3}', ()),
    ]
    assert got.outputs == (("m-8", 1), ("m-9", 3)) and got.model_inputs == ("m-1", "m-2")
    assert got.run.params == {"p": "1"} and got.run.tags["t"] == "x"
    assert got.metrics["auc"] == (0.1 + 0.2, 7, 3) and math.isnan(got.metrics["loss"][0])
    assert got.metrics["loss"][1:] == (5, 2) and list(got.metrics) == ["auc", "loss"]
    native = [(i.name, i.uri, i.digest, i.num_rows, i.context) for i in got.run.inputs]
    assert native == [("a", "a.csv", "d1", None, "train"), ("b", "b.csv", "d2", 3, None)]
    assert all(not (r.datasets or r.outputs or r.model_inputs) for r in page.items[1:])


def test_runs_of_one_experiment_or_several_come_in_the_same_order(client: Client) -> None:
    reg = client.registry
    first = compat.create_experiment(reg, "first", {}).id
    second = compat.create_experiment(reg, "second", {}).id
    # the same start time thrice: the run id breaks the tie, in one experiment as across several
    runs = [(first, 5), (second, 7), (first, 7), (first, 7), (second, 5), (first, 9), (first, 7)]
    for i, (eid, start) in enumerate(runs):
        compat.create_run(reg, eid, f"{eid}-{start}-{i}", start, {})

    def names(eids: list[str], token: str | None = None) -> list[str]:
        out = []
        for _ in range(10):
            page = compat.search_runs(reg, eids, None, "ACTIVE_ONLY", [], 2, token)
            out += [r.run.name for r in page.items]
            token = page.next_token
            if token is None:
                return out
        raise AssertionError("more pages than runs")

    both, alone = names([first, second]), names([first])
    assert [n for n in both if n.startswith(f"{first}-")] == alone
    assert [n.split("-")[1] for n in alone] == ["9", "7", "7", "7", "5"]
    assert names(["987654"]) == [] and names([first, "987654"]) == names([first])
