"""The Ray runtime end to end: a real Ray cluster (2 CPUs, started here, one per module), a real
control plane, a real agent run with ``--runtime ray``, real requests to Serve's HTTP proxy on
the agent's port. The rollouts, the analysis and the rollback are the control plane's, as on
the local runtime: these tests check they work unchanged when the versions run on Ray."""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, wait_for
from tests.deploy.raycluster import ray_head
from tests.deploy.stack import (
    ROW,
    SPEC,
    Load,
    Stack,
    deployment_state,
    fixed_split,
    rollout_and_rollback,
    served,
    split_loaded,
)

pytestmark = pytest.mark.slow

# Each replica asks for a quarter CPU: two versions of two replicas, the ingress (no CPU) and
# Serve's proxy and controller fit in the 2 CPUs the cluster is given.
REPLICA = {"replicas": 2, "ray_actor_options": {"num_cpus": 0.25}}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    with ray_head() as address:
        yield address


@pytest.fixture(scope="module")
def agent_port() -> int:
    # Serve's HTTP proxy keeps the port of the first agent on the cluster: one for the module.
    return free_port()


@pytest.fixture
def stack(tmp_path: Path, ray_cluster: str, agent_port: int) -> Iterator[Stack]:
    s = Stack(tmp_path, "--runtime", "ray", "--ray-address", ray_cluster, port=agent_port)
    yield s
    s.close()


def test_production_is_served_by_two_replicas_and_scales_while_answering(stack: Stack) -> None:
    c = stack.client
    v1 = stack.model("os.getpid()")  # each replica answers with its own process id
    c.promote("m", v1, "Production")
    c.apply_endpoint({**SPEC, **REPLICA})
    stack.wait(lambda: served(stack, f"m/{v1}"), timeout=120)

    pids = wait_for(lambda: _pids(stack, 2), 60, "both replicas to answer")
    assert len(pids) == 2
    # The local agent's answer: the table's part, and the agent's own (pulls, reports).
    health = wait_for(lambda: _reported(stack), 30, "a report in /health")
    assert health["runtime"] == "ray" and health["endpoints"]["ep"]["notes"] == []
    assert health["agent"] == "a1" and health["control_plane"] == stack.url
    assert health["pull_error"] is None and health["report_error"] is None
    assert health["last_pull_age_s"] is not None
    assert c.endpoint_status("ep").notes  # the control plane says where resources apply

    load = Load(stack)
    c.apply_endpoint({**SPEC, "replicas": 1, "ray_actor_options": {"num_cpus": 0.25}})
    wait_for(lambda: len(_pids(stack, 1, n=40)) == 1, 60, "one replica left")
    seen = load.stop()
    assert seen and set(seen) == {(200, f"m/{v1}")}, seen  # no request failed while scaling


def _reported(stack: Stack) -> dict[str, Any] | None:
    health: dict[str, Any] = stack.http.get("/health").json()
    return health if health.get("last_report") and health.get("last_pull") else None


def _pids(stack: Stack, want: int, n: int = 60) -> set[Any] | None:
    seen = set()
    for _ in range(n):
        r = stack.http.post(
            "/endpoints/ep/invocations",
            json={"dataframe_split": {"columns": ["x"], "data": [[1.0]]}},
        )
        assert r.status_code == 200, r.text
        seen.add(r.json()["predictions"][0])
        if len(seen) > want:
            break
    return seen if len(seen) >= want else None


def test_a_good_canary_walks_to_100_and_a_broken_one_is_rolled_back(stack: Stack) -> None:
    v3 = rollout_and_rollback(stack, {**SPEC, **REPLICA}, timeout=120)
    d = stack.client.endpoint_status("ep").deployment
    assert d is not None and d.to_version == v3 and d.state == "rolled_back"
    # Judged on its first step's requests: within two analysis intervals of taking traffic.
    *passed, failed = d.analysis
    assert len(passed) <= 1 and all(v.passed or not v.enough_data for v in passed)
    # failed on the broken version's own errors, not for want of data
    assert failed.enough_data and failed.errors > 0
    assert [b for b in failed.breached if b.startswith("error rate")]


def test_a_fixed_split_is_observed_on_ray(stack: Stack) -> None:
    c = stack.client
    v1, v2, got = fixed_split(stack, {"ray_actor_options": {"num_cpus": 0.25}}, timeout=120)
    n = sum(got.values())
    # The counters reach the control plane as the local agent's do.
    wait_for(
        lambda: sum(s.requests_1m for s in c.endpoint_status("ep").stats.values()) >= n,
        30,
        "the agent's report",
    )
    v2_requests = c.endpoint_status("ep").stats[str(v2)].requests_1m
    assert v2_requests >= got[f"m/{v2}"]
    r = httpx.post(f"{stack.agent_url}/v2/models/ep/infer", json=_V2, timeout=10)
    assert r.status_code == 200 and r.headers["x-mlpipex-model-version"] in {f"m/{v1}", f"m/{v2}"}


_V2 = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]}


def test_a_sticky_header_keeps_a_caller_on_one_version_on_ray(stack: Stack) -> None:
    c = stack.client
    v1, v2 = stack.model(1), stack.model(2)
    c.apply_endpoint(
        {
            "name": "ep",
            "model": "m",
            "traffic": [{"version": v1, "weight": 50}, {"version": v2, "weight": 50}],
            "sticky_header": "X-User",
            "ray_actor_options": {"num_cpus": 0.25},
        }
    )
    stack.wait(lambda: split_loaded(stack, {str(v1), str(v2)}), timeout=120)

    def label(user: str) -> str:
        r = stack.http.post("/endpoints/ep/invocations", json=ROW, headers={"X-User": user})
        assert r.status_code == 200, r.text
        return r.headers["x-mlpipex-model-version"]

    for user in ("ann", "bob", "cy"):
        assert len({label(user) for _ in range(10)}) == 1  # the same version every time
    assert {label(f"user-{i}") for i in range(40)} == {f"m/{v1}", f"m/{v2}"}


def test_a_version_that_fails_to_start_on_ray_is_reported_and_the_old_one_keeps_serving(
    stack: Stack,
) -> None:
    c = stack.client
    v1, v2 = stack.model(1), stack.model(2, unloadable=True)
    c.promote("m", v1, "Production")
    rollout = {**SPEC["rollout"], "max_wait": "3s"}
    c.apply_endpoint({**SPEC, "rollout": rollout, "ray_actor_options": {"num_cpus": 0.25}})
    stack.wait(lambda: served(stack, f"m/{v1}"), timeout=120)

    load = Load(stack)
    c.promote("m", v2, "Production")
    # As on the local runtime: the agent reports the version it cannot serve, the canary gets
    # no requests, and the control plane pauses the rollout for want of them.
    errors = wait_for(lambda: _agent_errors(stack), 120, "the agent to report the failure")
    stack.wait(lambda: deployment_state(c) == "paused", timeout=60)
    seen = load.stop()
    assert [e.split(":")[:2] for e in errors] == [["ep", f" version {v2}"]]
    assert "this version cannot load" in errors[0], errors
    d = c.endpoint_status("ep").deployment
    assert d is not None and d.to_version == v2 and d.reason == "not enough requests"
    # The ingress takes the agent's new table a moment after the agent has it.
    ep = wait_for(lambda: _health(stack, str(v2)), 30, "the ingress to list the version")
    assert ep["versions"][str(v2)]["loaded"] is False
    assert [f"ep: {e}" for e in ep["errors"]] == errors
    assert ep["versions"][str(v1)]["traffic_percent"] == 100.0
    assert seen and set(seen) == {(200, f"m/{v1}")}, seen  # no request failed meanwhile


def _health(stack: Stack, version: str) -> dict[str, Any] | None:
    ep: dict[str, Any] = stack.http.get("/health").json()["endpoints"]["ep"]
    return ep if version in ep["versions"] else None


def _agent_errors(stack: Stack) -> list[str] | None:
    agents = httpx.get(f"{stack.url}/api/v1/agents", timeout=10).json()
    return next((a["errors"] for a in agents if a["name"] == "a1" and a["errors"]), None)


def test_a_dropped_versions_last_requests_are_all_reported(stack: Stack) -> None:
    c = stack.client
    v1, v2 = stack.model(1), stack.model(2)
    actor = {"ray_actor_options": {"num_cpus": 0.25}}
    c.apply_endpoint(
        {"name": "ep", "model": "m", "traffic": [{"version": v1, "weight": 100}], **actor}
    )
    stack.wait(lambda: split_loaded(stack, {str(v1)}), timeout=120)
    load = Load(stack)
    wait_for(lambda: load.seen[(200, f"m/{v1}")] > 20, 30, "traffic to v1")
    c.apply_endpoint(
        {"name": "ep", "model": "m", "traffic": [{"version": v2, "weight": 100}], **actor}
    )
    wait_for(lambda: load.seen[(200, f"m/{v2}")] > 20, 120, "traffic to v2")
    seen = load.stop()
    assert set(seen) == {(200, f"m/{v1}"), (200, f"m/{v2}")}, seen

    # Every request is reported once, the dropped version's last ones included (the ingress
    # says when v1's counters are final; only then does its application go).
    def reported() -> Counter[int]:
        got = Counter[int]()
        for bucket in c.endpoint_timeseries("ep"):
            got[bucket.version] += bucket.requests
        return got

    want = Counter({v1: seen[(200, f"m/{v1}")], v2: seen[(200, f"m/{v2}")]})
    with contextlib.suppress(AssertionError):
        wait_for(lambda: reported() == want, 30, "the reports to account for every request")
    assert reported() == want
    health = stack.http.get("/health").json()
    assert list(health["endpoints"]["ep"]["versions"]) == [str(v2)]


def test_a_request_in_flight_when_its_version_is_dropped_is_answered_and_reported(
    stack: Stack,
) -> None:
    c = stack.client
    slow, v2 = stack.model("__import__('time').sleep(4) or 1"), stack.model(2)
    actor = {"ray_actor_options": {"num_cpus": 0.25}}
    both = [{"version": slow, "weight": 100}, {"version": v2, "weight": 0}]
    c.apply_endpoint({"name": "ep", "model": "m", "traffic": both, **actor})
    wait_for(lambda: _loaded(stack, {str(slow), str(v2)}), 120, "both versions")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answer = pool.submit(stack.ask)
        time.sleep(0.5)
        # v2 is loaded: traffic leaves the slow version while its request is under way.
        c.apply_endpoint(
            {"name": "ep", "model": "m", "traffic": [{"version": v2, "weight": 100}], **actor}
        )
        wait_for(lambda: _loaded(stack, {str(v2)}), 30, "the switch")
        assert answer.result() == (200, f"m/{slow}")
    # Its application stays until the ingress has pushed that request's counters.
    wait_for(
        lambda: any(b.version == slow and b.requests for b in c.endpoint_timeseries("ep")),
        30,
        "the dropped version's last request to be reported",
    )


def _loaded(stack: Stack, versions: set[str]) -> bool:
    try:
        served = stack.http.get("/health").json().get("endpoints", {}).get("ep", {})
    except (httpx.HTTPError, ValueError):  # not listening yet, or not the agent's answer yet
        return False
    listed = served.get("versions", {})
    return set(listed) == versions and all(v["loaded"] for v in listed.values())
