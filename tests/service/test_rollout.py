"""Promotion is deployment: rollouts driven by the controller over reported traffic, with a
controlled clock, on SQLite and PostgreSQL (the agent protocol's report is the input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlpipex.client import Client
from mlpipex.domain.deployment import Deployment, DeploymentState, Share
from mlpipex.errors import Conflict, Invalid, NotFound
from mlpipex.service.deploy import endpoints, rollout

pytestmark = pytest.mark.direct  # drives the controller's clock

SPEC = {
    "name": "fraud-ep",
    "model": "fraud",
    "follow": "production",
    "rollout": {
        "strategy": "canary",
        "steps": [20, 50, 100],
        "interval": "30s",
        "analysis": {"max_error_rate": 0.05, "max_p99_latency_ms": 200, "min_requests": 50},
    },
}


class Clock:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.now = client.registry.clock()
        client.registry.clock = lambda: self.now

    def tick(self, seconds: float) -> None:
        self.now = self.client.registry.clock() + int(seconds * 1000)
        self.client.registry.clock = lambda: self.now


def traffic(
    client: Client, version: int, requests: int, errors: int = 0, slow: bool = False
) -> None:
    """What an agent reports a second later: deltas of one version's counters (latency
    buckets: 1 ms, or 1 s if slow)."""
    client.registry.clock = (lambda t: lambda: t)(client.registry.clock() + 1000)
    buckets = [0] * 16
    buckets[11 if slow else 2] = requests
    endpoints.report(
        client.registry,
        {
            "agent": "a1",
            "url": "http://127.0.0.1:1",
            "endpoints": {
                "fraud-ep": {
                    "versions": {
                        str(version): {
                            "requests": requests,
                            "errors": errors,
                            "latency_ms_buckets": buckets,
                        }
                    }
                }
            },
        },
    )


def weights(client: Client) -> dict[int, int]:
    return {t.version: t.weight for t in client.endpoint_status("fraud-ep").traffic}


def deployment(client: Client) -> Deployment:
    d = client.endpoint_status("fraud-ep").deployment
    assert d is not None
    return d


@pytest.fixture
def served(client: Client, make_version: Callable[..., int]) -> Clock:
    """v1 in Production behind the endpoint; v2 registered and in Staging."""
    make_version(auc=0.9)
    make_version(auc=0.95)
    client.promote("fraud", 1, "Production")
    first = client.apply_endpoint(SPEC)
    assert first.traffic == (Share(1, 100),)
    assert first.deployment is not None
    assert first.deployment.state == "succeeded"  # the first goes straight to 100%
    client.promote("fraud", 2, "Staging")
    return Clock(client)


def test_a_good_canary_walks_its_steps_to_100(client: Client, served: Clock) -> None:
    client.promote("fraud", 2, "Production")
    assert weights(client) == {1: 80, 2: 20}
    # at the last step the old version stays loaded with no traffic, for a quick rollback
    for expected in ({1: 50, 2: 50}, {1: 0, 2: 100}, {2: 100}):
        traffic(client, 2, 60)
        served.tick(31)
        assert rollout.advance(client.registry) == 1
        assert weights(client) == expected
    status = client.endpoint_status("fraud-ep")
    d = deployment(client)
    assert (d.state, d.from_version, d.to_version) == (DeploymentState.SUCCEEDED, 1, 2)
    assert [a.weight for a in d.analysis] == [20, 50, 100]
    assert all(a.passed for a in d.analysis)
    assert status.stable_version == 2
    assert client.get_version("fraud:production").version == 2


def test_a_failing_canary_is_rolled_back_with_the_registry(client: Client, served: Clock) -> None:
    client.promote("fraud", 2, "Production")
    assert client.get_version("fraud/1").stage == "Archived"
    traffic(client, 2, 60, errors=30)
    traffic(client, 1, 500)  # the stable version's requests never count for the canary
    served.tick(31)
    assert rollout.advance(client.registry) == 1
    assert weights(client) == {1: 100}
    d = deployment(client)
    assert d.state == "rolled_back" and "error rate 0.500 > max_error_rate 0.05" in d.reason
    assert client.get_version("fraud:production").version == 1
    assert client.get_version("fraud/2").stage == "Staging"
    (event,) = client.events(kind="rollback")
    assert event.version == 2 and event.payload["measured"]["error_rate"] == 0.5
    assert event.payload["endpoint"] == "fraud-ep" and event.payload["to"] == 1
    assert client.verify_audit().ok
    (dep,) = client.lineage("fraud", 2).deployments
    assert (dep["endpoint"], dep["state"], dep["from_version"]) == ("fraud-ep", "rolled_back", 1)
    served.tick(31)
    assert rollout.advance(client.registry) == 0  # nothing left to do, no new rollout


def test_latency_rule_and_pause(client: Client, served: Clock) -> None:
    client.apply_endpoint({**SPEC, "rollout": {**SPEC["rollout"], "on_failure": "pause"}})
    client.promote("fraud", 2, "Production")
    traffic(client, 2, 60, slow=True)
    served.tick(31)
    rollout.advance(client.registry)
    d = deployment(client)
    assert d.state == "paused" and "p99 latency 1000 ms > max_p99_latency_ms 200" in d.reason
    assert weights(client) == {1: 80, 2: 20}  # paused: left as it is for a person to decide


def test_a_step_waits_for_enough_requests(client: Client, served: Clock) -> None:
    client.promote("fraud", 2, "Production")
    traffic(client, 2, 10)
    served.tick(31)
    assert rollout.advance(client.registry) == 0
    assert weights(client) == {1: 80, 2: 20}
    traffic(client, 2, 45)
    served.tick(1)
    assert rollout.advance(client.registry) == 1
    assert weights(client) == {1: 50, 2: 50}


def test_manual_rollback_after_success(client: Client, served: Clock) -> None:
    client.apply_endpoint({**SPEC, "rollout": {**SPEC["rollout"], "strategy": "all_at_once"}})
    client.promote("fraud", 2, "Production")
    assert weights(client) == {2: 100}
    status = client.rollback_endpoint("fraud-ep", "customer complaints")
    assert status.traffic == (Share(1, 100),) and status.stable_version == 1
    assert client.get_version("fraud:production").version == 1
    (event,) = client.events(kind="rollback")
    assert "customer complaints" in event.reason and event.actor == "alice"
    with pytest.raises(Conflict):
        client.rollback_endpoint("fraud-ep")


def test_blue_green_warms_then_switches(client: Client, served: Clock) -> None:
    client.apply_endpoint({**SPEC, "rollout": {**SPEC["rollout"], "strategy": "blue_green"}})
    client.promote("fraud", 2, "Production")
    assert weights(client) == {1: 100, 2: 0}  # loaded beside, no traffic
    served.tick(31)
    rollout.advance(client.registry)
    assert weights(client) == {1: 0, 2: 100}
    traffic(client, 2, 80)
    served.tick(31)
    rollout.advance(client.registry)
    assert weights(client) == {2: 100}
    assert deployment(client).state == DeploymentState.SUCCEEDED


def test_following_an_alias(client: Client, make_version: Callable[..., int]) -> None:
    make_version()
    make_version()
    client.set_alias("fraud", "champion", 1)
    client.apply_endpoint({**SPEC, "follow": "@champion"})
    clock = Clock(client)
    client.set_alias("fraud", "champion", 2)
    assert weights(client) == {1: 80, 2: 20}
    traffic(client, 2, 60, errors=60)
    clock.tick(31)
    rollout.advance(client.registry)
    assert client.get_version("fraud@champion").version == 1


def test_fixed_traffic_shadow_and_desired_state(
    client: Client, make_version: Callable[..., int]
) -> None:
    for _ in range(3):
        make_version()
    client.apply_endpoint(
        {
            "name": "split",
            "model": "fraud",
            "sticky_header": "X-User-Id",
            "traffic": [{"version": 1, "weight": 90}, {"version": 2, "weight": 10}],
            "shadow": {"version": 3, "percent": 50},
        }
    )
    want = endpoints.desired(client.registry)
    (ep,) = want["endpoints"]
    assert [(v["version"], v["weight"]) for v in ep["versions"]] == [(1, 90), (2, 10)]
    assert ep["shadow"]["version"] == 3 and ep["shadow"]["percent"] == 50
    assert ep["sticky_header"] == "X-User-Id"
    assert ep["versions"][0]["files"][0]["digest"] == client.get_version("fraud/1").files[0].digest
    before = want["generation"]
    client.apply_endpoint(
        {
            "name": "split",
            "model": "fraud",
            "traffic": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
        }
    )
    assert endpoints.desired(client.registry)["generation"] != before


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"name": "e", "model": "fraud"}, Invalid),
        ({"name": "e", "model": "fraud", "follow": "prod"}, Invalid),
        ({"name": "e", "model": "fraud", "traffic": [{"version": 9, "weight": 100}]}, NotFound),
        ({"name": "e", "model": "nope", "follow": "production"}, NotFound),
        (
            {"name": "e", "model": "fraud", "follow": "production", "rollout": {"steps": [50]}},
            Invalid,
        ),
        ({"name": "e", "model": "fraud", "follow": "production", "bogus": 1}, Invalid),
    ],
)
def test_bad_specs_are_refused(
    client: Client, make_version: Callable[..., int], spec: dict[str, Any], error: type[Exception]
) -> None:
    make_version()
    with pytest.raises(error):
        client.apply_endpoint(spec)
    assert client.list_endpoints() == []
