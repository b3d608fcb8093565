"""search_runs with MLflow's grammar on both databases: every operator, ordering, pages, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.errors import Invalid
from mlpipex.service.registry.search import parse_filter
from mlpipex.store.tracking.search import run_conditions

pytestmark = pytest.mark.direct  # reaches into the database or objects, or tracks runs


@pytest.fixture
def runs(client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Four runs in experiment fraud: name -> run id."""
    monkeypatch.chdir(tmp_path)
    exp = client.create_experiment("fraud")
    specs = {
        "rf-risk": ({"model": "rf"}, {"auc": 0.95}, {"team": "risk"}),
        "rf-fraud": ({"model": "RF"}, {"auc": 0.85}, {"team": "fraud"}),
        "xgb-risk": ({"model": "xgb"}, {"auc": 0.91, "loss": 0.2}, {"team": "risk"}),
        "lr": ({"model": "lr"}, {}, {}),
    }
    out = {}
    for i, (name, (params, metrics, tags)) in enumerate(specs.items()):
        run = client.create_run(
            exp, run_name=name, tags=tags, start_time=1000 + i, entry_point="t.py"
        )
        client.log_params(run.id, params)
        if metrics:
            client.log_metrics(run.id, metrics)
        out[name] = run.id
    client.set_terminated(out["lr"], "FAILED")
    return out


def _names(client: Client, flt: str, order_by: list[str] | None = None) -> list[str]:
    return [r.name for r in client.search_runs(["fraud"], flt, order_by).items]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("", ["lr", "xgb-risk", "rf-fraud", "rf-risk"]),
        ("metrics.auc > 0.9 and params.model = 'rf' and tags.team = 'risk'", ["rf-risk"]),
        ("metrics.auc >= 0.91", ["xgb-risk", "rf-risk"]),
        ("metrics.auc < 0.91", ["rf-fraud"]),
        ("metrics.auc <= 0.91", ["xgb-risk", "rf-fraud"]),
        ("metrics.auc = 0.85", ["rf-fraud"]),
        ("metrics.auc != 0.85", ["xgb-risk", "rf-risk"]),
        ("params.model != 'rf'", ["lr", "xgb-risk", "rf-fraud"]),
        ("params.model LIKE 'r%'", ["rf-risk"]),  # case-sensitive, as MLflow
        ("params.model ILIKE 'r%'", ["rf-fraud", "rf-risk"]),
        ("params.model IN ('rf', 'lr')", ["lr", "rf-risk"]),
        ("params.model NOT IN ('rf', 'lr')", ["xgb-risk", "rf-fraud"]),
        ("tags.team = 'risk' AND metrics.loss < 1", ["xgb-risk"]),
        ("tags.team NOT IN ('risk')", ["rf-fraud"]),
        ("attributes.status = 'FAILED'", ["lr"]),
        ("attributes.run_name LIKE 'rf-%'", ["rf-fraud", "rf-risk"]),
        ("run_name IN ('lr', 'rf-risk')", ["lr", "rf-risk"]),
        ("attributes.start_time > 1001", ["lr", "xgb-risk"]),
        ("params.`model` = 'xgb'", ["xgb-risk"]),
        ('metrics."auc" > 0.94', ["rf-risk"]),
    ],
)
def test_each_operator(client: Client, runs: dict[str, str], flt: str, expected: list[str]) -> None:
    assert _names(client, flt) == expected


def test_run_id_in_and_order_by(client: Client, runs: dict[str, str]) -> None:
    ids = [runs["lr"], runs["rf-risk"]]
    got = client.search_runs("fraud", f"attributes.run_id IN ('{ids[0]}', '{ids[1]}')").items
    assert sorted(r.id for r in got) == sorted(ids)
    assert _names(client, "", ["metrics.auc DESC"]) == ["rf-risk", "xgb-risk", "rf-fraud", "lr"]
    assert _names(client, "", ["metrics.auc ASC"]) == ["rf-fraud", "xgb-risk", "rf-risk", "lr"]
    assert _names(client, "", ["params.model", "attributes.start_time"])[:2] == ["rf-fraud", "lr"]
    assert _names(client, "", ["start_time ASC"]) == ["rf-risk", "rf-fraud", "xgb-risk", "lr"]


def test_pages_cover_every_run_once(client: Client, runs: dict[str, str]) -> None:
    seen: list[str] = []
    token = None
    while True:
        page = client.search_runs("fraud", max_results=3, page_token=token)
        seen += [r.id for r in page.items]
        token = page.next_token
        if token is None:
            break
    assert sorted(seen) == sorted(runs.values())
    with pytest.raises(Invalid, match="page token"):
        client.search_runs("fraud", page_token="garbage")


@pytest.mark.parametrize(
    ("flt", "token"),
    [
        ("metrics.auc > 0.9 or params.model = 'rf'", "'OR'"),
        ("metrics.auc >", "end of the filter"),
        ("metrics.auc ~ 0.9", "'~'"),
        ("foo.bar = 'x'", "'foo.bar'"),
        ("params.lr = 0.1", "'0.1'"),
        ("metrics.auc = 'high'", "\"'high'\""),
        ("metrics.auc LIKE 'x'", "'LIKE'"),
        ("metrics.auc > 0.9 params.a = 'b'", "'params.a'"),
        ("tags.team IN ('a'", "end of the filter"),
        ("attributes.colour = 'red'", "'colour'"),
    ],
)
def test_bad_filters_are_invalid_naming_the_token(flt: str, token: str) -> None:
    with pytest.raises(Invalid) as exc:
        run_conditions(parse_filter(flt), "sqlite")
    assert token in str(exc.value)


def test_bad_filter_through_the_client(client: Client, runs: dict[str, str]) -> None:
    with pytest.raises(Invalid, match="'OR'"):
        client.search_runs("fraud", "metrics.auc > 0.9 OR metrics.auc < 0.1")
    with pytest.raises(Invalid, match="order_by"):
        client.search_runs("fraud", order_by=["metrics.auc SIDEWAYS"])
