"""Monitoring of serving versions: the prediction log, drift against each version's reference
profile, alerts tied to (endpoint, version), a canary rolled back for drift, /metrics, the
report. Traffic and logged predictions enter through the agent protocol's service calls."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sklearn.linear_model import LogisticRegression

from mlpipex.client import Client
from mlpipex.monitor import alerts, predictions, serving
from mlpipex.server import ServerSettings, create_app
from mlpipex.service.deploy import endpoints, rollout
from tests.conftest import Backend

pytestmark = pytest.mark.direct
FEATURES = ["amount", "age", "score"]


def reference(rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(100, 20, rows),
            "age": rng.normal(40, 10, rows),
            "score": rng.normal(0, 1, rows),
        }
    )


@pytest.fixture
def monitored(client: Client) -> Iterator[Client]:
    """fraud v1 (and v2) logged with reference data; v1 behind endpoint fraud-ep."""
    ref = reference()
    model = LogisticRegression().fit(ref, (ref["score"] > 0).astype(int))
    for _ in range(2):
        run = client.create_run(commit="a" * 40)
        client.log_dataset(run.id, "train", ref)
        client.log_metric(run.id, "auc", 0.9)
        client.log_model(run.id, model, "model", registered_model_name="fraud", reference_data=ref)
    client.promote("fraud", 1, "Production")
    client.apply_endpoint(
        {
            "name": "fraud-ep",
            "model": "fraud",
            "follow": "production",
            "rollout": {"interval": "10s", "analysis": {"min_requests": 10, "max_drift": 0.5}},
            "monitoring": {"window": 1000},
        }
    )
    yield client


_LAST = {"time": 0}


def log(client: Client, version: int, frame: pd.DataFrame) -> None:
    """Log frame's rows as requests, each later than every row logged before."""
    start = max(_LAST["time"] + 1, client.registry.clock() - len(frame))
    _LAST["time"] = start + len(frame)
    rows = [
        {
            "time": start + i,
            "version": version,
            "latency_ms": 1.0,
            "status": 200,
            "input": rec,
            "output": 0,
        }
        for i, rec in enumerate(frame.to_dict("records"))
    ]
    predictions.ingest(client.registry, "fraud-ep", rows)


def test_no_drift_on_undrifted_windows(monitored: Client) -> None:
    for seed in range(1, 5):
        log(monitored, 1, reference(1000, seed))
        version, result = serving.drift(monitored.registry, "fraud-ep")
        assert version == 1 and result.drifted is False, result.to_dict()


def test_exactly_the_shifted_features_are_flagged(monitored: Client) -> None:
    cur = reference(1000, 7)
    cur["amount"] += 20  # one standard deviation
    cur["age"] *= 1.6
    log(monitored, 1, cur)
    _, result = serving.drift(monitored.registry, "fraud-ep")
    assert sorted(result.drifted_features) == ["age", "amount"]
    assert result.drifted is True  # 2 of 3 features >= 0.5
    d = monitored.endpoint_drift("fraud-ep", window=1000)
    assert {f["name"]: f["drifted"] for f in d["features"]} == {
        "amount": True,
        "age": True,
        "score": False,
    }
    assert d["version"] == 1 and d["window"] == 1000


def test_alerts_are_raised_once_per_episode_and_cleared(monitored: Client) -> None:
    cur = reference(1000, 3)
    cur["amount"] += 30
    cur["age"] += 15
    log(monitored, 1, cur)
    assert alerts.evaluate(monitored.registry) == 1
    assert alerts.evaluate(monitored.registry) == 0  # the same episode: no second alert
    (raised,) = monitored.events(kind="alert_raised")
    assert (raised.model, raised.version) == ("fraud", 1)
    assert raised.payload["endpoint"] == "fraud-ep" and raised.payload["alert"] == "drift"
    assert sorted(raised.payload["details"]["features"]) == ["age", "amount"]
    log(monitored, 1, reference(1000, 4))  # the window now holds undrifted inputs only
    assert alerts.evaluate(monitored.registry) == 1
    (cleared,) = monitored.events(kind="alert_cleared")
    assert cleared.version == 1
    assert alerts.open_alerts(monitored.registry) == []
    assert monitored.verify_audit().ok


def test_a_canary_that_drifts_is_rolled_back(monitored: Client) -> None:
    reg = monitored.registry
    monitored.promote("fraud", 2, "Production")
    d = monitored.endpoint_status("fraud-ep").deployment
    assert d is not None and d.state == "progressing"
    start = reg.clock()
    # The canary's requests come after the step started (log() writes them up to "now").
    reg.clock = lambda: start + 2000
    cur = reference(1000, 9)
    cur["amount"] += 40
    cur["score"] += 2
    # the canary's requests come after its step began (log() dates rows up to the clock's now):
    # the controller judges only those (alone, this test used to log them before the step)
    reg.clock = lambda: start + 1000
    log(monitored, 2, cur)
    buckets = [0] * 16
    buckets[2] = 100
    endpoints.report(
        reg,
        {
            "agent": "a",
            "endpoints": {
                "fraud-ep": {
                    "versions": {"2": {"requests": 100, "errors": 0, "latency_ms_buckets": buckets}}
                }
            },
        },
    )
    reg.clock = lambda: start + 11_000
    rollout.advance(reg, serving.drift_share(reg))
    d = monitored.endpoint_status("fraud-ep").deployment
    assert d is not None and d.state == "rolled_back" and "drift share" in d.reason
    assert monitored.get_version("fraud:production").version == 1


def test_metrics_parse_and_the_report_is_self_contained(
    backend: Backend, monitored: Client
) -> None:
    buckets = [0] * 16
    buckets[3] = 40
    endpoints.report(
        monitored.registry,
        {
            "agent": "a",
            "endpoints": {
                "fraud-ep": {
                    "versions": {
                        "1": {
                            "requests": 40,
                            "errors": 2,
                            "latency_ms_buckets": buckets,
                            "latency_sum_ms": 80.0,
                        }
                    }
                }
            },
        },
    )
    log(monitored, 1, reference(600, 5))
    app = create_app(ServerSettings(store=backend.uri, objects=backend.objects))
    with TestClient(app) as c:
        text = c.get("/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        (req,) = [
            s for s in families["mlpipex_endpoint_requests"].samples if s.name.endswith("_total")
        ]
        assert req.labels == {"endpoint": "fraud-ep", "version": "1"} and req.value == 40
        hist = {
            s.labels["le"]: s.value
            for s in families["mlpipex_endpoint_latency_ms"].samples
            if s.name.endswith("_bucket")
        }
        assert hist["1"] == 0 and hist["2.5"] == 40 and hist["+Inf"] == 40
        weights = {
            s.labels["version"]: s.value
            for s in families["mlpipex_endpoint_traffic_weight"].samples
        }
        assert weights == {"1": 100.0}
        html = c.get("/api/v1/endpoints/fraud-ep/report").text
    from html.parser import HTMLParser

    class Count(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.svg, self.external = 0, 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.svg += tag == "svg"
            self.external += any(k in ("src", "href") and v and "://" in v for k, v in attrs)

    parser = Count()
    parser.feed(html)
    assert html.startswith("<!DOCTYPE html>") and parser.external == 0
    assert parser.svg >= len(FEATURES) + 1  # a distribution per feature, traffic charts


def test_the_log_reads_back_by_version_and_time(monitored: Client) -> None:
    log(monitored, 1, reference(50, 1))
    log(monitored, 2, reference(30, 2))
    rows = monitored.prediction_log("fraud-ep", since_ms=0, version=2, limit=100)
    assert len(rows) == 30 and {r["version"] for r in rows} == {2}
    assert set(rows[0]["input"]) == set(FEATURES)
    assert len(monitored.prediction_log("fraud-ep", since_ms=_LAST["time"])) == 0
