"""An agent process over time: versions come and go under load, a version that cannot load,
the control plane going away, the agent killed and restarted, SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from mlpipex.domain.endpoint import RESOURCES_NOTE
from tests.agent.conftest import ROW, AgentProcess, Packages, endpoint, version, wait_for
from tests.agent.plane import ControlPlane

HEADER = "x-mlpipex-model-version"


class Load:
    """A client thread sending requests back to back until stopped (at most 20,000)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: Counter[int] = Counter()
        self.versions: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            for _ in range(20_000):
                if self._stop.is_set():
                    return
                try:
                    r = http.post("/endpoints/fraud/invocations", json={"inputs": [ROW]})
                except httpx.TransportError as e:
                    self.failures.append(repr(e))
                    continue
                self.statuses[r.status_code] += 1
                self.versions.append(r.headers.get(HEADER, ""))


def test_versions_added_and_removed_without_dropping_requests(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    first = plane.set([endpoint("fraud", version(plane, packages.lr, 3, 100))])
    agent = start_agent(plane.url)
    agent.wait_generation(first)
    v3 = version(plane, packages.lr, 3, 90)
    v4 = version(plane, packages.lr2, 4, 10)
    with Load(agent.url) as load:
        wait_for(lambda: load.sent > 50, 10, "traffic")
        agent.wait_generation(plane.set([endpoint("fraud", v3, v4)]))
        wait_for(lambda: "fraud/4" in load.versions, 10, "the canary to get traffic")
        switched = agent.wait_generation(plane.set([endpoint("fraud", {**v4, "weight": 100})]))
        assert list(switched["endpoints"]["fraud"]["versions"]) == ["4"]
        mark = load.sent
        wait_for(lambda: load.sent > mark + 50, 10, "traffic after the switch")
    assert load.failures == []
    assert set(load.statuses) == {200}, load.statuses
    assert set(load.versions[mark + 5 :]) == {"fraud/4"}
    # Every request is reported once, the dropped version's last ones included.
    wait_for(
        lambda: (
            plane.accepted("fraud", "3")["requests"] + plane.accepted("fraud", "4")["requests"]
            == load.sent
        ),
        10,
        "the reports to account for every request",
    )
    assert plane.accepted("fraud", "3")["requests"] == load.versions.count("fraud/3")


def test_a_version_that_cannot_load_gets_no_traffic_and_is_reported(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    v4 = version(plane, packages.lr2, 4, 50)
    plane.corrupt.add(v4["files"][0]["digest"])
    endpoints = [
        endpoint(
            "fraud",
            version(plane, packages.lr, 3, 50),
            v4,
            version(plane, packages.not_a_model, 5, 0),
        )
    ]
    generation = plane.set(endpoints)
    agent = start_agent(plane.url)
    health = agent.wait_generation(generation)
    fraud = health["endpoints"]["fraud"]
    assert fraud["versions"]["3"] == {"weight": 50, "traffic_percent": 100.0, "loaded": True}
    assert fraud["versions"]["4"] == {"weight": 50, "traffic_percent": 0.0, "loaded": False}
    assert fraud["versions"]["5"]["loaded"] is False
    assert [e.split(":")[0] for e in fraud["errors"]] == ["version 4", "version 5"]
    assert "digest" in fraud["errors"][0]
    assert health["status"] == "ok"
    assert {agent.invoke().headers[HEADER] for _ in range(100)} == {"fraud/3"}
    # The first reports may predate the loads: wait for one about this generation.
    report = wait_for(
        lambda: (r := plane.last_report()) is not None and r["generation"] == generation and r,
        10,
        "a report of this generation",
    )
    assert report["endpoints"]["fraud"]["errors"] == fraud["errors"]
    # Repaired on the control plane: the next generation loads it.
    plane.corrupt.clear()
    agent.wait_generation(plane.set(endpoints))
    health = agent.health()
    assert health["endpoints"]["fraud"]["versions"]["4"]["loaded"] is True
    assert {agent.invoke().headers[HEADER] for _ in range(100)} == {"fraud/3", "fraud/4"}


def test_an_endpoint_with_nothing_to_serve_answers_503(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    generation = plane.set([endpoint("fraud", version(plane, packages.not_a_model, 3, 100))])
    agent = start_agent(plane.url)
    health = agent.wait_generation(generation)
    assert health["status"] == "degraded"
    r = agent.invoke()
    assert r.status_code == 503
    assert "version 3" in r.json()["message"]
    assert agent.http.post("/v2/models/fraud/infer", json={}).status_code == 503


def test_control_plane_stopped_the_agent_keeps_serving(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    generation = plane.set([endpoint("fraud", version(plane, packages.lr, 3, 100))])
    agent = start_agent(plane.url)
    agent.wait_generation(generation)
    plane.stop()
    wait_for(lambda: agent.health()["pull_error"], 10, "the agent to notice")
    for _ in range(50):
        r = agent.invoke()
        assert r.status_code == 200
        assert r.headers[HEADER] == "fraud/3"
    assert agent.health()["generation"] == generation
    # Reports fail too (on their own interval), and keep the counters for later.
    wait_for(lambda: agent.health()["report_error"], 10, "a failed report")
    plane.start()
    wait_for(lambda: agent.health()["pull_error"] is None, 10, "the agent to pull again")
    wait_for(lambda: plane.accepted("fraud", "3")["requests"] == 50, 10, "the held-back counters")


def test_killed_agent_comes_back_from_its_saved_state(
    plane: ControlPlane,
    packages: Packages,
    start_agent: Callable[..., AgentProcess],
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    generation = plane.set(
        [endpoint("fraud", version(plane, packages.lr, 3, 50), version(plane, packages.lr2, 4, 50))]
    )
    agent = start_agent(plane.url, cache_dir=cache)
    agent.wait_generation(generation)
    assert agent.stop(signal.SIGKILL) == -signal.SIGKILL
    plane.stop()
    again = start_agent(plane.url, cache_dir=cache)
    again.wait_generation(generation)  # from its saved state: the control plane is down
    # its first pull fails some time after it serves (under load, after the first look)
    health = wait_for(lambda: (h := again.health())["pull_error"] and h, 10, "a failed pull")
    assert health["generation"] == generation
    assert health["last_pull"] is None
    assert {again.invoke().headers[HEADER] for _ in range(100)} == {"fraud/3", "fraud/4"}
    # The control plane comes back with a new state: the agent follows it.
    plane.start()
    again.wait_generation(plane.set([endpoint("fraud", version(plane, packages.lr3, 5, 100))]))
    assert {again.invoke().headers[HEADER] for _ in range(20)} == {"fraud/5"}


def test_sigterm_exits_cleanly_after_a_final_report(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    generation = plane.set([endpoint("fraud", version(plane, packages.lr, 3, 100))])
    # Reports every minute: only the one sent on the way out can carry these requests.
    agent = start_agent(plane.url, "--report-interval", "60s")
    agent.wait_generation(generation)
    for _ in range(25):
        assert agent.invoke().status_code == 200
    assert agent.stop(signal.SIGTERM) == 0
    assert plane.accepted("fraud", "3")["requests"] == 25


def test_token_is_sent_as_bearer(
    tmp_path: Path, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    plane = ControlPlane(tmp_path / "objects", token="s3cret")
    plane.start()
    try:
        generation = plane.set([endpoint("fraud", version(plane, packages.lr, 3, 100))])
        agent = start_agent(plane.url, "--token", "s3cret", name="gpu-7")
        agent.wait_generation(generation)
        assert agent.invoke().status_code == 200
        wait_for(plane.last_report, 10, "a report")
        assert plane.authorizations == {"Bearer s3cret"}
        assert set(plane.pulls) == {"gpu-7"}
        report = plane.last_report()
        assert report is not None
        assert report["agent"] == "gpu-7"
        assert report["url"] == agent.url
    finally:
        plane.stop()


def test_the_local_runtime_notes_that_it_ignores_resources(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    placed = endpoint("fraud", version(plane, packages.lr, 1, 100))
    placed["resources"] = {"replicas": 3, "num_cpus": 0.5}
    plain = endpoint("other", version(plane, packages.lr, 1, 100))
    generation = plane.set([placed, plain])
    agent = start_agent(plane.url)
    health = agent.wait_generation(generation)
    assert health["runtime"] == "local"
    assert health["endpoints"]["fraud"]["notes"] == [RESOURCES_NOTE]
    assert health["endpoints"]["other"]["notes"] == []
    assert agent.invoke().status_code == 200  # served all the same, by one copy
