"""Live quality per version: labels joined to logged predictions by request id, scored as
scikit-learn scores the same rows, alerts for the version that got worse, a canary held to
min_quality. Predictions and labels enter through the service calls the agent and the
feedback route use."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sklearn import metrics as skm
from sqlalchemy.engine import Connection

from mlpipex.client import Client
from mlpipex.errors import Invalid
from mlpipex.monitor import alerts, feedback, predictions, quality, request_index
from mlpipex.server import ServerSettings, create_app
from mlpipex.server.ui.render import number
from mlpipex.service.access.secrets import SecretBox
from mlpipex.service.context import Registry
from mlpipex.service.deploy import endpoints, rollout
from mlpipex.service.events import webhooks
from mlpipex.store import schema_monitor
from tests.conftest import Backend, CliResult

pytestmark = pytest.mark.direct
REGISTERED = {"accuracy": 0.9, "f1": 0.9, "auc": 0.95, "log_loss": 0.5}
ROWS = 400


def traffic(n: int, accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(truth, predicted, positive-class score) with about the given accuracy."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    right = rng.random(n) < accuracy
    predicted = np.where(right, truth, 1 - truth)
    score = np.clip(np.where(predicted == 1, 0.75, 0.25) + rng.normal(0, 0.15, n), 0.01, 0.99)
    return truth, predicted, score


def log(
    client: Client,
    endpoint: str,
    version: int,
    predicted: np.ndarray,
    score: np.ndarray,
    at: int | None = None,
) -> list[str]:
    """Log one request per row (from at, default 5 s ago), as the agent does; returns the
    request ids."""
    start = client.registry.clock() - 5_000 if at is None else at
    ids = [f"v{version}-{i}" for i in range(len(predicted))]
    rows = [
        {
            "request_id": rid,
            "time": start + i,
            "version": version,
            "latency_ms": 1.0,
            "status": 200,
            "input": {"x": i},
            "output": {"label": int(p), "probability": float(s)},
        }
        for i, (rid, p, s) in enumerate(zip(ids, predicted, score, strict=True))
    ]
    predictions.ingest(client.registry, endpoint, rows)
    return ids


@pytest.fixture
def split(client: Client, make_version: Callable[..., int]) -> Iterator[Client]:
    """fraud v1 and v2 (registered with the same metrics), half the traffic each."""
    for _ in range(2):
        make_version(metrics=REGISTERED)
    client.apply_endpoint(
        {
            "name": "fraud-ep",
            "model": "fraud",
            "traffic": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
            "monitoring": {"quality": {"tolerance": 0.05, "min_labels": 50}},
        }
    )
    yield client


def label(ids: list[str], truth: np.ndarray) -> list[dict[str, object]]:
    return [{"request_id": r, "label": int(y)} for r, y in zip(ids, truth, strict=True)]


def test_quality_per_version_matches_scikit_learn(split: Client) -> None:
    rows = {1: traffic(ROWS, 0.9, 1), 2: traffic(ROWS, 0.6, 2)}
    ids = {v: log(split, "fraud-ep", v, p, s) for v, (_, p, s) in rows.items()}
    # A wrong label first, then the right one: the later wins.
    split.log_feedback("fraud-ep", label(ids[1][:20], 1 - rows[1][0][:20]))
    got = split.log_feedback(
        "fraud-ep",
        label(ids[1], rows[1][0])
        + label(ids[2], rows[2][0])
        + [{"request_id": "nope", "label": 1}],
    )
    assert (got.received, got.stored, got.unknown, got.unknown_ids) == (
        2 * ROWS + 1,
        2 * ROWS,
        1,
        ("nope",),
    )
    logged = {r["request_id"]: r for r in split.prediction_log("fraud-ep", version=1)}
    first = logged[ids[1][0]]
    assert first["predicted"] == rows[1][1][0] and first["score"] == rows[1][2][0]
    assert first["output"] == {"label": rows[1][1][0], "probability": rows[1][2][0]}
    report = split.endpoint_quality("fraud-ep").to_dict()
    assert report["endpoint"] == "fraud-ep"
    assert [v["version"] for v in report["versions"]] == [1, 2]
    for v in report["versions"]:
        truth, predicted, score = rows[v["version"]]
        assert v["labelled"] == ROWS
        expected = {
            "accuracy": skm.accuracy_score(truth, predicted),
            "precision": skm.precision_score(truth, predicted),
            "recall": skm.recall_score(truth, predicted),
            "f1": skm.f1_score(truth, predicted),
            "roc_auc": skm.roc_auc_score(truth, score),
            "log_loss": skm.log_loss(truth, score),
        }
        assert set(v["metrics"]) == set(expected)
        for name, want in expected.items():
            m = v["metrics"][name]
            assert set(m) == {"value", "ci_low", "ci_high", "registered"}
            assert m["value"] == pytest.approx(want, abs=1e-9), name
            assert m["ci_low"] <= m["value"] <= m["ci_high"], name
            assert m["ci_high"] - m["ci_low"] < 0.3, name
        assert v["metrics"]["roc_auc"]["registered"] == 0.95  # registered as "auc"
        assert v["metrics"]["precision"]["registered"] is None
    acc = {v["version"]: v["metrics"]["accuracy"]["value"] for v in report["versions"]}
    assert acc[1] > 0.85 and acc[2] < 0.7
    only_2 = split.endpoint_quality("fraud-ep", version=2)
    assert [v.version for v in only_2.versions] == [2]


def test_quality_alert_is_raised_for_the_worse_version_only(split: Client) -> None:
    admin = dataclasses.replace(
        split.registry, allow_private_webhooks=True, secrets=SecretBox("a-test-secret-key")
    )
    hook = webhooks.create(admin, "http://127.0.0.1:9/hook", ["alert_raised"], "s" * 32)
    for v, acc in ((1, 0.92), (2, 0.6)):
        truth, predicted, score = traffic(ROWS, acc, v)
        split.log_feedback("fraud-ep", label(log(split, "fraud-ep", v, predicted, score), truth))
    assert alerts.evaluate(split.registry) == 1
    assert alerts.evaluate(split.registry) == 0  # one event per episode
    (raised,) = split.events(kind="alert_raised")
    assert (raised.model, raised.version) == ("fraud", 2)
    assert raised.payload["alert"] == "quality"
    assert "accuracy" in raised.payload["details"]["metrics"]
    (open_,) = alerts.open_alerts(split.registry, "fraud-ep")
    assert (open_.version, open_.kind, open_.state) == (2, "quality", "open")
    (delivery,) = webhooks.deliveries(admin, hook.id)  # the webhook fires for it
    assert delivery.event_seq == raised.seq


def test_regression_quality_matches_scikit_learn(
    client: Client, make_version: Callable[..., int]
) -> None:
    make_version(name="price", metrics={"rmse": 1.0, "r2": 0.8})
    client.apply_endpoint(
        {"name": "price-ep", "model": "price", "traffic": [{"version": 1, "weight": 100}]}
    )
    rng = np.random.default_rng(3)
    truth = rng.normal(10, 3, 300)
    predicted = truth + rng.normal(0, 1.2, 300)
    now = client.registry.clock()
    rows = [
        {
            "request_id": f"p{i}",
            "time": now - 1000 + i,
            "version": 1,
            "input": {},
            "output": float(p),
        }
        for i, p in enumerate(predicted)
    ]
    predictions.ingest(client.registry, "price-ep", rows)
    client.log_feedback(
        "price-ep", [{"request_id": f"p{i}", "label": float(y)} for i, y in enumerate(truth)]
    )
    (v,) = client.endpoint_quality("price-ep", window="1h").versions
    assert v.labelled == 300 and set(v.metrics) == {"mae", "rmse", "r2"}
    assert v.metrics["mae"].value == pytest.approx(skm.mean_absolute_error(truth, predicted))
    assert v.metrics["rmse"].value == pytest.approx(
        np.sqrt(skm.mean_squared_error(truth, predicted))
    )
    assert v.metrics["r2"].value == pytest.approx(skm.r2_score(truth, predicted))
    assert v.metrics["rmse"].registered == 1.0 and v.metrics["mae"].registered is None


def test_feedback_route_refuses_malformed_rows_and_reports_unknown_ids(
    backend: Backend, split: Client
) -> None:
    truth, predicted, score = traffic(10, 0.9, 5)
    ids = log(split, "fraud-ep", 1, predicted, score)
    app = create_app(ServerSettings(store=backend.uri, objects=backend.objects))
    with TestClient(app) as c:
        url = "/api/v1/endpoints/fraud-ep/feedback"
        bad = c.post(url, json=[{"request_id": ids[0], "label": 1}, {"label": 0}])
        assert bad.status_code == 400 and "row 1" in bad.json()["error"]["message"]
        bad = c.post(url, json=[{"request_id": ids[0], "label": {"x": 1}}])
        assert bad.status_code == 400 and "row 0" in bad.json()["error"]["message"]
        many = [{"request_id": "x", "label": 1}] * (feedback.MAX_ROWS + 1)
        assert c.post(url, json=many).status_code == 400
        assert c.post("/api/v1/endpoints/nope/feedback", json=[]).status_code == 404
        assert split.endpoint_quality("fraud-ep").of(1).labelled == 0  # nothing half-written
        ok = c.post(url, json=[*label(ids, truth), {"request_id": "ghost", "label": 0}])
        assert ok.status_code == 200
        assert ok.json() == {"received": 11, "stored": 10, "unknown": 1, "unknown_ids": ["ghost"]}
        q = c.get("/api/v1/endpoints/fraud-ep/quality", params={"window": "1h"}).json()
        assert q["versions"][0]["labelled"] == 10
        families = {f.name: f for f in text_string_to_metric_families(c.get("/metrics").text)}
        live = {
            (s.labels["version"], s.labels["metric"], s.labels["bound"]): s.value
            for s in families["mlpipex_live_quality"].samples
        }
        want = skm.accuracy_score(truth, predicted)
        assert live[("1", "accuracy", "value")] == pytest.approx(want)
        assert live[("1", "accuracy", "registered")] == 0.9


@pytest.fixture
def canary(client: Client, make_version: Callable[..., int]) -> Iterator[Client]:
    for _ in range(2):
        make_version(metrics=REGISTERED)
    client.promote("fraud", 1, "Production")
    client.apply_endpoint(
        {
            "name": "fraud-ep",
            "model": "fraud",
            "follow": "production",
            "rollout": {
                "interval": "10s",
                "analysis": {
                    "min_requests": 10,
                    "min_quality": {"accuracy": 0.8},
                    "quality_wait": "1m",
                },
            },
            "monitoring": {"quality": {"min_labels": 100}},
        }
    )
    client.promote("fraud", 2, "Production")
    yield client


def _served(client: Client, version: int, requests: int) -> None:
    buckets = [0] * 16
    buckets[2] = requests
    endpoints.report(
        client.registry,
        {
            "agent": "a",
            "endpoints": {
                "fraud-ep": {
                    "versions": {
                        str(version): {
                            "requests": requests,
                            "errors": 0,
                            "latency_ms_buckets": buckets,
                        }
                    }
                }
            },
        },
    )


def test_a_canary_below_min_quality_is_rolled_back(canary: Client) -> None:
    reg = canary.registry
    start = reg.clock()
    truth, predicted, score = traffic(ROWS, 0.6, 7)
    ids = log(canary, "fraud-ep", 2, predicted, score, at=start + 1)
    canary.log_feedback("fraud-ep", label(ids, truth))
    _served(canary, 2, 100)
    reg.clock = lambda: start + 11_000
    rollout.advance(reg, None, quality.live_quality(reg))
    d = canary.endpoint_status("fraud-ep").deployment
    assert d is not None and d.state == "rolled_back" and "accuracy" in d.reason, d
    judged = d.analysis[-1].quality
    assert judged is not None and judged["labelled"] == ROWS
    assert canary.get_version("fraud:production").version == 1


def test_a_canary_waits_for_labels_then_goes_on(canary: Client) -> None:
    reg = canary.registry
    start = reg.clock()
    _served(canary, 2, 100)
    live = quality.live_quality(reg)
    reg.clock = lambda: start + 11_000
    assert rollout.advance(reg, None, live) == 0  # waiting for labels
    waiting = canary.endpoint_status("fraud-ep").deployment
    assert waiting is not None and waiting.step == 0
    reg.clock = lambda: start + 72_000  # past interval + quality_wait
    assert rollout.advance(reg, None, live) == 1
    d = canary.endpoint_status("fraud-ep").deployment
    assert d is not None and d.state == "progressing" and d.step == 1
    judged = d.analysis[-1].quality
    assert judged is not None and judged["verdict"] == "not enough labels"


def test_cli_sends_labels_from_csv_and_parquet_and_prints_quality(
    backend: Backend, split: Client, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    truth, predicted, score = traffic(ROWS, 0.9, 11)
    ids = log(split, "fraud-ep", 1, predicted, score)
    half = ROWS // 2
    pd.DataFrame({"request_id": ids[:half], "label": truth[:half]}).to_csv(
        tmp_path / "a.csv", index=False
    )
    frame = pd.DataFrame({"request_id": [*ids[half:], "ghost"], "label": [*truth[half:], 0]})
    frame.to_parquet(tmp_path / "b.parquet")
    env = backend.env()
    r = cli("monitor", "feedback", "fraud-ep", str(tmp_path / "a.csv"), env=env)
    assert r.code == 0 and f"stored {half} of {half}" in r.out, r
    r = cli("monitor", "feedback", "fraud-ep", str(tmp_path / "b.parquet"), env=env)
    assert r.code == 0 and "1 request ids not in the prediction log (e.g. ghost)" in r.err, r
    r = cli("monitor", "quality", "fraud-ep", "--version", "1", "--window", "1h", "--json", env=env)
    assert r.code == 0, r
    doc = json.loads(r.out)
    (v,) = doc["versions"]
    assert (doc["endpoint"], v["version"], v["labelled"]) == ("fraud-ep", 1, ROWS)
    assert v["metrics"]["f1"]["value"] == pytest.approx(skm.f1_score(truth, predicted))
    table = cli("monitor", "quality", "fraud-ep", env=env)
    assert table.code == 0 and "accuracy" in table.out and "0.9" in table.out
    r = cli("monitor", "log", "fraud-ep", "--out", str(tmp_path / "log.csv"), env=env)
    exported = pd.read_csv(tmp_path / "log.csv")
    assert r.code == 0 and sorted(exported["request_id"]) == sorted(ids)
    (tmp_path / "bad.csv").write_text("id,y\na,1\n")
    bad = cli("monitor", "feedback", "fraud-ep", str(tmp_path / "bad.csv"), env=env)
    assert bad.code == 1 and "request_id" in bad.err


def test_endpoint_page_and_report_show_live_quality_beside_registered(
    backend: Backend, split: Client
) -> None:
    app = create_app(ServerSettings(store=backend.uri, objects=backend.objects))
    with TestClient(app) as c:
        empty = c.get("/ui/endpoints/fraud-ep").text
        assert "No labelled predictions yet" in empty
        for v, acc in ((1, 0.92), (2, 0.6)):
            truth, predicted, score = traffic(ROWS, acc, v)
            split.log_feedback(
                "fraud-ep", label(log(split, "fraud-ep", v, predicted, score), truth)
            )
        page = c.get("/ui/endpoints/fraud-ep").text
        section = page.split('id="quality"')[1]
        want = {
            v.version: v.metrics["accuracy"] for v in split.endpoint_quality("fraud-ep").versions
        }
        for v, m in want.items():
            row = f'<th>v{v}</th><td class="num">{ROWS}</td><td>accuracy</td>'
            assert f'{row}<td class="num">{number(m.value)}</td>' in section
        assert "<svg" in section and "live accuracy" in section and "v2 registered" in section
        report = c.get("/api/v1/endpoints/fraud-ep/report").text
        assert "<h2>Live quality</h2>" in report
        assert f"{want[2].value:.4g}" in report.split("<h2>Live quality</h2>")[1]


@pytest.mark.parametrize("window", ["inf", "nan", "1e400", "-1"])
def test_an_unbounded_quality_window_is_refused(
    backend: Backend, split: Client, window: str
) -> None:
    spec = {"name": "bad-ep", "model": "fraud", "traffic": [{"version": 1, "weight": 100}]}
    with pytest.raises(Invalid, match="duration"):
        split.apply_endpoint({**spec, "monitoring": {"quality": {"window": window}}})
    app = create_app(ServerSettings(store=backend.uri, objects=backend.objects))
    with TestClient(app) as c:
        bad = c.get("/api/v1/endpoints/fraud-ep/quality", params={"window": window})
        assert bad.status_code == 400 and "duration" in bad.json()["error"]["message"]
        assert c.get("/metrics").status_code == 200


def test_one_endpoint_failing_does_not_stop_the_others_alerts(
    split: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    split.apply_endpoint(
        {
            "name": "aaa-ep",  # evaluated first
            "model": "fraud",
            "traffic": [{"version": 1, "weight": 100}],
            "monitoring": {"quality": {"tolerance": 0.05, "min_labels": 50}},
        }
    )
    for v, acc in ((1, 0.92), (2, 0.6)):
        truth, predicted, score = traffic(ROWS, acc, v)
        split.log_feedback("fraud-ep", label(log(split, "fraud-ep", v, predicted, score), truth))
    measure = quality.measure

    def broken_for_aaa(reg: Registry, name: str, *args: object) -> quality.QualityReport:
        if name == "aaa-ep":
            raise OverflowError("date value out of range")
        return measure(reg, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(quality, "measure", broken_for_aaa)
    assert alerts.evaluate(split.registry) == 1  # fraud-ep's v2 alert, despite aaa-ep


def test_live_quality_is_measured_outside_the_write_transaction(
    canary: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = canary.registry
    start = reg.clock()
    writing = [0]
    write = reg.store.write

    @contextlib.contextmanager
    def counted() -> Iterator[Connection]:
        writing[0] += 1
        try:
            with write() as conn:
                yield conn
        finally:
            writing[0] -= 1

    monkeypatch.setattr(reg.store, "write", counted)
    live = quality.live_quality(reg)
    seen: list[int] = []

    def measured(endpoint: str, version: int, since: int, ws: str) -> tuple[int, dict[str, float]]:
        seen.append(writing[0])  # scoring Parquet under the write lock would block every writer
        return live(endpoint, version, since, ws)

    reg.clock = lambda: start + 11_000
    _served(canary, 2, 5)  # below min_requests: nothing to judge, so nothing measured
    assert rollout.advance(reg, None, measured) == 0
    assert seen == []
    _served(canary, 2, 100)
    assert rollout.advance(reg, None, measured) == 0  # waiting for labels
    assert seen == [0]


@pytest.fixture
def two_endpoints(split: Client, monkeypatch: pytest.MonkeyPatch) -> Client:
    """fraud-ep and other-ep, each with 10 logged predictions; no mirror yet."""
    monkeypatch.setattr(request_index, "_mirrors", OrderedDict())
    split.apply_endpoint(
        {"name": "other-ep", "model": "fraud", "traffic": [{"version": 1, "weight": 100}]}
    )
    for name in ("fraud-ep", "other-ep"):
        _, predicted, score = traffic(10, 0.9, 3)
        log(split, name, 1, predicted, score)
    return split


def test_the_request_index_mirrors_only_the_endpoint_asked_about(two_endpoints: Client) -> None:
    reg = two_endpoints.registry
    hits = request_index.lookup(reg, "fraud-ep", ["v1-0", "v1-9", "ghost"])
    assert [h is not None for h in hits] == [True, True, False]
    assert [ep for _, _, ep in request_index._mirrors] == ["fraud-ep"]
    assert len(next(iter(request_index._mirrors.values())).found) == 10


def test_the_request_index_is_bounded_over_all_endpoints(
    two_endpoints: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_index, "MAX_MIRRORED", 15)
    reg = two_endpoints.registry
    for name in ("fraud-ep", "other-ep", "fraud-ep"):
        assert None not in request_index.lookup(reg, name, [f"v1-{i}" for i in range(10)])
        assert sum(len(m.found) for m in request_index._mirrors.values()) <= 15
    assert [ep for _, _, ep in request_index._mirrors] == ["fraud-ep"]  # the least recent went


def test_ids_older_than_the_horizon_are_pruned_and_unknown(two_endpoints: Client) -> None:
    reg = two_endpoints.registry
    old = reg.clock() - request_index.HORIZON_MS - 60_000
    _, predicted, score = traffic(5, 0.9, 4)
    ids = log(two_endpoints, "fraud-ep", 2, predicted, score, at=old)
    assert request_index.lookup(reg, "fraud-ep", [*ids, "v1-0"])[:5] == [None] * 5
    assert request_index.prune(reg) == 5
    assert request_index.prune(reg) == 0
    assert request_index.lookup(reg, "fraud-ep", [ids[0], "v1-0"])[1] is not None
    with reg.store.read() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(schema_monitor.prediction_ids))
        assert left.scalar() == 20


def test_a_viewer_of_the_model_reads_its_endpoints_log_and_quality(
    backend: Backend, split: Client
) -> None:
    _, predicted, score = traffic(10, 0.9, 5)
    log(split, "fraud-ep", 1, predicted, score)
    split.create_user("val", [])
    split.grant("val", "fraud", "viewer")
    _, clear = split.create_token("val")
    app = create_app(ServerSettings(store=backend.uri, objects=backend.objects, auth=True))
    with TestClient(app, headers={"Authorization": f"Bearer {clear}"}) as c:
        assert c.get("/api/v1/endpoints/fraud-ep").status_code == 200
        assert len(c.get("/api/v1/endpoints/fraud-ep/predictions").json()) == 10
        assert c.get("/api/v1/endpoints/fraud-ep/quality").status_code == 200
        for tail in ("predictions", "quality"):
            assert c.get(f"/api/v1/endpoints/nope/{tail}").status_code == 404, tail
        # a viewer may not label; a stranger to the endpoint learns nothing from a bad body
        refused = c.post("/api/v1/endpoints/fraud-ep/feedback", content=b"not json")
        assert refused.status_code == 403
        assert c.post("/api/v1/endpoints/nope/feedback", content=b"not json").status_code == 404
