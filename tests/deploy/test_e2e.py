"""Promotion is deployment, end to end: a real control plane, a real agent, real requests.
Promote v1: served. Promote a good v2: canary steps seen in the status, then 100% v2. Promote a
broken v2 (raises on half its calls): rolled back automatically, traffic and registry, with a
rollback event. A fixed 90/10 split observed within statistical tolerance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.stack import SPEC, Stack, fixed_split, rollout_and_rollback

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    yield s
    s.close()


def test_promotion_rolls_out_a_good_version_and_rolls_back_a_broken_one(stack: Stack) -> None:
    rollout_and_rollback(stack, SPEC)


def test_fixed_split_is_observed(stack: Stack) -> None:
    v1, v2, got = fixed_split(stack)
    n = sum(got.values())
    # the agent's own /metrics, as Prometheus reads it
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(stack.http.get("/metrics").text)}
    counted = {
        s.labels["version"]: s.value
        for s in families["mlpipex_agent_requests"].samples
        if s.name.endswith("_total")
    }
    # (the agent also counted the requests that waited for it to serve)
    assert counted[str(v2)] >= got[f"m/{v2}"] and sum(counted.values()) >= n
    weights = {
        s.labels["version"]: s.value for s in families["mlpipex_agent_traffic_weight"].samples
    }
    assert weights == {str(v1): 90.0, str(v2): 10.0}
