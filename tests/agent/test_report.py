"""Reports carry deltas since the last acknowledged one: a refused report is summed into the
next, nothing is counted twice."""

from __future__ import annotations

from collections.abc import Callable

from tests.agent.conftest import AgentProcess, Packages, endpoint, version, wait_for
from tests.agent.plane import ControlPlane


def test_deltas_accumulate_across_refused_reports(
    plane: ControlPlane, packages: Packages, start_agent: Callable[..., AgentProcess]
) -> None:
    generation = plane.set([endpoint("fraud", version(plane, packages.lr, 3, 100))])
    agent = start_agent(plane.url)
    agent.wait_generation(generation)
    for _ in range(10):
        assert agent.invoke().status_code == 200
    wait_for(lambda: plane.accepted("fraud", "3")["requests"] == 10, 10, "the first 10")
    plane.refuse_reports = True
    for _ in range(30):
        assert agent.invoke().status_code == 200
    bad = agent.http.post("/endpoints/fraud/invocations", json={"inputs": [[1.0]]})
    assert bad.status_code == 400
    refused = plane.refused_reports
    wait_for(lambda: plane.refused_reports >= refused + 2, 10, "two refused reports")
    assert agent.health()["report_error"]
    accepted_before = len(plane.reports)
    plane.refuse_reports = False
    wait_for(lambda: len(plane.reports) > accepted_before, 10, "an accepted report")
    # The first accepted report after the outage carries everything it held back, once.
    first = plane.reports[accepted_before]["endpoints"]["fraud"]["versions"]["3"]
    assert first["requests"] == 31
    assert first["client_errors"] == 1
    assert first["errors"] == 0
    assert sum(first["latency_ms_buckets"]) == 31
    assert first["latency_sum_ms"] > 0
    wait_for(lambda: len(plane.reports) > accepted_before + 2, 10, "more reports")
    assert plane.accepted("fraud", "3")["requests"] == 41
    assert plane.reports[-1]["endpoints"]["fraud"]["versions"]["3"]["requests"] == 0
