"""Requests routed by an agent process: weighted split, sticky keys, shadow copies, protocols."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from mlpipex.service.deploy.router import Split, sticky_point
from tests.agent.conftest import ROW, AgentProcess, Packages, endpoint, version, wait_for
from tests.agent.plane import ControlPlane

HEADER = "x-mlpipex-model-version"


def test_weighted_split_90_10(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    generation = plane.set(
        [endpoint("fraud", version(plane, packages.lr, 3, 90), version(plane, packages.lr2, 4, 10))]
    )
    agent = start_agent(plane.url)
    health = agent.wait_generation(generation)
    assert health["status"] == "ok"
    assert health["endpoints"]["fraud"]["versions"]["4"] == {
        "weight": 10,
        "traffic_percent": 10.0,
        "loaded": True,
    }
    n = 2000
    seen: Counter[str] = Counter()
    for _ in range(n):
        r = agent.invoke()
        assert r.status_code == 200, r.text
        seen[r.headers[HEADER]] += 1
    # 10 % of 2,000 give or take 5 standard deviations: a false failure once in ~3.5 million.
    sd = math.sqrt(n * 0.1 * 0.9)
    assert set(seen) == {"fraud/3", "fraud/4"}
    assert n * 0.1 - 5 * sd <= seen["fraud/4"] <= n * 0.1 + 5 * sd
    # The counters the control plane receives say the same.
    wait_for(
        lambda: (
            plane.accepted("fraud", "3")["requests"] + plane.accepted("fraud", "4")["requests"] == n
        ),
        10,
        "the reports to account for every request",
    )
    assert plane.accepted("fraud", "4")["requests"] == seen["fraud/4"]
    assert plane.accepted("fraud", "4")["buckets"] == seen["fraud/4"]


def test_sticky_header_one_key_one_version(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    generation = plane.set(
        [
            endpoint(
                "fraud",
                version(plane, packages.lr, 3, 50),
                version(plane, packages.lr2, 4, 50),
                sticky_header="X-User-Id",
            )
        ]
    )
    agent = start_agent(plane.url)
    agent.wait_generation(generation)
    expected = Split.of({"fraud/3": 50, "fraud/4": 50})
    by_key: dict[str, set[str]] = {}
    for _ in range(5):
        for i in range(40):
            key = f"user-{i}"
            r = agent.invoke(headers={"X-User-Id": key})
            assert r.status_code == 200
            by_key.setdefault(key, set()).add(r.headers[HEADER])
    assert all(len(v) == 1 for v in by_key.values()), by_key
    # The key's version is the router's stable hash onto the weights, in any process.
    assert all(v == {expected.pick(sticky_point(k))} for k, v in by_key.items())
    assert {v for vs in by_key.values() for v in vs} == {"fraud/3", "fraud/4"}
    # Without the header: the weighted random choice.
    seen = {agent.invoke().headers[HEADER] for _ in range(200)}
    assert seen == {"fraud/3", "fraud/4"}


def test_shadow_gets_copies_callers_see_only_the_primary(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    shadow = {**version(plane, packages.failing, 5, 0), "percent": 100}
    shadow.pop("weight")
    generation = plane.set([endpoint("fraud", version(plane, packages.lr, 3, 100), shadow=shadow)])
    agent = start_agent(plane.url, "--allow-pickle")  # the failing model is code
    health = agent.wait_generation(generation)
    assert health["endpoints"]["fraud"]["shadow"] == {
        "version": 5,
        "percent": 100.0,
        "loaded": True,
    }
    n = 100
    for _ in range(n):
        r = agent.invoke()
        assert r.status_code == 200, r.text
        assert r.headers[HEADER] == "fraud/3"
        assert "predictions" in r.json()
    v2 = agent.http.post(
        "/v2/models/fraud/infer",
        json={"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW}]},
    )
    assert v2.status_code == 200
    assert v2.headers[HEADER] == "fraud/3"
    assert v2.json()["model_version"] == "3"
    wait_for(
        lambda: plane.accepted("fraud", "5")["requests"] == n + 1,
        10,
        "the shadow's counters to reach the control plane",
    )
    assert plane.accepted("fraud", "5")["errors"] == n + 1  # it failed every time, unseen
    assert plane.accepted("fraud", "3") | {"buckets": 0} == {
        "requests": n + 1,
        "errors": 0,
        "client_errors": 0,
        "buckets": 0,
    }


def test_protocol_routes(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    generation = plane.set(
        [
            endpoint("fraud", version(plane, packages.lr, 3, 100), model="fraud-model"),
            endpoint("churn", version(plane, packages.lr2, 7, 100)),
        ]
    )
    agent = start_agent(plane.url)
    agent.wait_generation(generation)
    r = agent.invoke("churn")
    assert r.headers[HEADER] == "churn/7"
    assert agent.invoke("fraud").headers[HEADER] == "fraud-model/3"
    meta = agent.http.get("/v2/models/fraud")
    assert meta.status_code == 200
    assert meta.json()["versions"] == ["3"]
    assert meta.headers[HEADER] == "fraud-model/3"
    assert agent.http.get("/v2/models/fraud/versions/3").status_code == 200
    assert agent.http.get("/v2/models/fraud/versions/9").status_code == 404
    bad = agent.http.post("/endpoints/fraud/invocations", json={"inputs": [[1.0]]})
    assert bad.status_code == 400
    assert bad.headers[HEADER] == "fraud-model/3"
    missing = agent.invoke("nope")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert agent.http.get("/v2/health/ready").json() == {"ready": True}
    wait_for(
        lambda: plane.accepted("fraud", "3")["client_errors"] == 1, 10, "the 400 to be reported"
    )
