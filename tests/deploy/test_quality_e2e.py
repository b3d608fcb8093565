"""Live quality end to end: a real control plane and agent serve two versions of a classifier,
v2 worse on purpose; request ids come back on every answer, labels go in through the feedback
route, and the quality JSON, the alert and a canary held to min_quality show v2 for what it is.
Expected values are scikit-learn's metrics on the rows the prediction log holds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mlpipex.client import Client
from tests.deploy.test_e2e import Stack

pytestmark = pytest.mark.slow

# Truth is x > 0; v1 says so, v2 says x > THRESHOLD (wrong for x in (0, THRESHOLD]).
MODEL = """
import math
from mlpipex.pyfunc import PythonModel, set_model

class Threshold(PythonModel):
    def predict(self, context, model_input, params=None):
        t = {threshold}
        return [
            {{"label": int(x > t), "probability": 1 / (1 + math.exp(3 * (t - x)))}}
            for x in model_input["x"]
        ]

set_model(Threshold())
"""
RID = "X-MLPipeX-Request-Id"


def register(stack: Stack, threshold: float) -> int:
    code = stack.root / f"model_{threshold}.py"
    code.write_text(MODEL.format(threshold=threshold))
    c = stack.client
    run = c.create_run(commit="c" * 40)
    data = stack.root / "train.csv"
    data.write_text("x\n1\n")
    c.log_dataset(run.id, "train", str(data))
    c.log_metrics(run.id, {"accuracy": 0.95, "f1": 0.95})
    info = c.log_model(
        run.id,
        python_model=str(code),
        registered_model_name="m",
        input_example=pd.DataFrame({"x": [1.0, -1.0]}),
    )
    assert info.registered_model_version is not None
    return info.registered_model_version.version


def send(stack: Stack, xs: np.ndarray, prefix: str) -> dict[str, tuple[float, str]]:
    """One request per x, every other one with a request id of the caller's; returns
    request id -> (x, version that answered), checking the id came back."""
    seen = {}
    for i, x in enumerate(xs):
        headers = {RID: f"{prefix}-{i}"} if i % 2 else {}
        body = {"dataframe_split": {"columns": ["x"], "data": [[float(x)]]}}
        r = stack.http.post("/endpoints/ep/invocations", json=body, headers=headers)
        assert r.status_code == 200, r.text
        rid = r.headers[RID]
        assert rid == headers[RID] if headers else len(rid) == 32
        seen[rid] = (float(x), r.headers["x-mlpipex-model-version"])
        time.sleep(0.006)  # under the agent's 200 captures a second
    return seen


def logged(remote: Client, ids: set[str], timeout: float = 30.0) -> list[dict[str, object]]:
    """The prediction log's rows of ids, once they are all there (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in remote.prediction_log("ep", limit=100_000) if r["request_id"] in ids]
        if len(rows) >= len(ids) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _answers(stack: Stack, label: str, tries: int = 20) -> bool:
    """Whether label answers one of a few requests (the agent may not be up yet)."""
    try:
        return any(stack.ask() == (200, label) for _ in range(tries))
    except httpx.HTTPError:
        return False


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    yield s
    s.close()


def test_quality_per_version_and_an_alert_for_the_worse_one(stack: Stack) -> None:
    v1, v2 = register(stack, 0.0), register(stack, 0.8)
    remote = Client(stack.url)
    remote.apply_endpoint(
        {
            "name": "ep",
            "model": "m",
            "traffic": [{"version": v1, "weight": 50}, {"version": v2, "weight": 50}],
            "monitoring": {"quality": {"min_labels": 50, "tolerance": 0.05}},
        }
    )
    stack.wait(lambda: _answers(stack, f"m/{v1}") and _answers(stack, f"m/{v2}"))
    # The agent's own answers carry one too.
    missing = stack.http.post("/endpoints/nope/invocations", json={}, headers={RID: "mine"})
    assert missing.status_code == 404 and missing.headers[RID] == "mine"
    assert len(stack.http.get("/health").headers[RID]) == 32
    xs = np.random.default_rng(0).normal(0, 1, 400)
    sent = send(stack, xs, "q")
    rows = logged(remote, set(sent))
    assert len(rows) >= 0.9 * len(sent)  # the agent logs a sample; nearly all at this rate
    assert all(r["output"] == r["output"] for r in rows)
    labels = [{"request_id": rid, "label": int(x > 0)} for rid, (x, _) in sent.items()]
    got = remote.log_feedback("ep", [*labels, {"request_id": "never-sent", "label": 1}])
    assert (got.stored, got.unknown) == (len(rows), len(sent) - len(rows) + 1)

    report = remote.endpoint_quality("ep").to_dict()
    assert report["endpoint"] == "ep"
    by_version = {v["version"]: v for v in report["versions"]}
    assert set(by_version) == {v1, v2}
    for v in (v1, v2):
        mine = [r for r in rows if r["version"] == v]
        truth = [int(sent[str(r["request_id"])][0] > 0) for r in mine]
        predicted = [r["output"]["label"] for r in mine]  # type: ignore[index]
        score = [r["output"]["probability"] for r in mine]  # type: ignore[index]
        got_v = by_version[v]
        assert got_v["labelled"] == len(mine)
        expected = {
            "accuracy": skm.accuracy_score(truth, predicted),
            "f1": skm.f1_score(truth, predicted),
            "roc_auc": skm.roc_auc_score(truth, score),
            "log_loss": skm.log_loss(truth, score),
        }
        for name, want in expected.items():
            assert got_v["metrics"][name]["value"] == pytest.approx(want), (v, name)
        assert got_v["metrics"]["accuracy"]["registered"] == 0.95
    assert by_version[v1]["metrics"]["accuracy"]["value"] == 1.0
    assert by_version[v2]["metrics"]["accuracy"]["value"] < 0.85

    # The control plane's alert loop (every 10 s) raises one alert, for v2.
    stack.wait(lambda: bool(remote.events(kind="alert_raised")), timeout=40)
    (raised,) = remote.events(kind="alert_raised")
    assert raised.version == v2 and raised.payload["alert"] == "quality"
    assert "accuracy" in raised.payload["details"]["metrics"]


def test_a_canary_below_min_quality_is_rolled_back(stack: Stack) -> None:
    v1, v2 = register(stack, 0.0), register(stack, 0.8)
    c, remote = stack.client, Client(stack.url)
    c.promote("m", v1, "Production")
    remote.apply_endpoint(
        {
            "name": "ep",
            "model": "m",
            "follow": "production",
            "rollout": {
                "steps": [50, 100],
                "interval": "3s",
                "analysis": {
                    "min_requests": 20,
                    "min_quality": {"accuracy": 0.9},
                    "quality_wait": "60s",
                },
            },
            "monitoring": {"quality": {"min_labels": 40}},
        }
    )
    stack.wait(lambda: _answers(stack, f"m/{v1}"))
    c.promote("m", v2, "Production")
    stack.wait(lambda: any(t.version == v2 for t in remote.endpoint_status("ep").traffic))
    rng = np.random.default_rng(1)
    deadline = time.monotonic() + 90
    # Traffic, then its labels as they would come in, until the controller has judged.
    while _state(remote) == "progressing":
        assert time.monotonic() < deadline, "the canary was never judged"
        sent = send(stack, rng.normal(0, 1, 60), f"c{time.monotonic_ns()}")
        logged(remote, set(sent), timeout=5)
        remote.log_feedback(
            "ep", [{"request_id": rid, "label": int(x > 0)} for rid, (x, _) in sent.items()]
        )
    d = remote.endpoint_status("ep").deployment
    assert d is not None and d.state == "rolled_back" and "accuracy" in d.reason, d
    judged = d.analysis[-1].quality
    assert judged is not None and int(judged["labelled"]) >= 40
    assert c.get_version("m:production").version == v1
    (event,) = remote.events(kind="rollback")
    assert event.version == v2 and "min_quality" in event.reason


def _state(remote: Client) -> str | None:
    d = remote.endpoint_status("ep").deployment
    return None if d is None else d.state
