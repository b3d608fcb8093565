"""The routing rules: weighted choice, sticky hashing, shadow sampling, failed versions."""

from __future__ import annotations

import math
import random

import pytest

from mlpipex.service.deploy.router import Split, effective_weights, shadowed, sticky_point


def _binomial_bounds(n: int, p: float, z: float = 5.0) -> tuple[float, float]:
    """n * p give or take z standard deviations: a false failure once in ~3.5 million runs."""
    sd = math.sqrt(n * p * (1 - p))
    return n * p - z * sd, n * p + z * sd


def test_weighted_choice_follows_the_weights() -> None:
    split = Split.of({3: 90, 4: 10})
    rng = random.Random(7)
    n = 20_000
    picks = [split.pick(rng.random()) for _ in range(n)]
    low, high = _binomial_bounds(n, 0.10)
    assert low <= picks.count(4) <= high
    assert set(picks) == {3, 4}


def test_zero_weight_targets_get_nothing() -> None:
    split = Split.of({3: 100, 4: 0})
    assert split.targets == (3,)
    assert {split.pick(u / 100) for u in range(100)} == {3}
    assert split.shares() == {3: 100.0}


def test_bounds_cover_the_unit_interval() -> None:
    split = Split.of({1: 1, 2: 1, 3: 1})
    assert split.bounds[-1] == 1.0
    assert split.pick(0.0) == 1
    assert split.pick(0.999_999_999) == 3
    assert split.shares() == pytest.approx({1: 100 / 3, 2: 100 / 3, 3: 100 / 3})


def test_an_empty_split_is_false() -> None:
    assert not Split.of({})
    assert not Split.of({1: 0})


def test_sticky_point_is_stable_and_uniform() -> None:
    assert sticky_point("user-42") == sticky_point("user-42")
    # Fixed value: the same in every process and on every host (no salted hash()).
    assert sticky_point("user-42") == pytest.approx(0.436047, abs=1e-6)
    n = 20_000
    split = Split.of({3: 90, 4: 10})
    on_4 = sum(split.pick(sticky_point(f"user-{i}")) == 4 for i in range(n))
    low, high = _binomial_bounds(n, 0.10)
    assert low <= on_4 <= high


def test_raising_the_canary_weight_keeps_its_sticky_keys() -> None:
    keys = [f"user-{i}" for i in range(5_000)]
    before = Split.of({3: 90, 4: 10})
    after = Split.of({3: 75, 4: 25})
    on_canary = [k for k in keys if before.pick(sticky_point(k)) == 4]
    assert on_canary
    assert all(after.pick(sticky_point(k)) == 4 for k in on_canary)


def test_shadow_sampling() -> None:
    rng = random.Random(3)
    n = 20_000
    hits = sum(shadowed(25, rng.random()) for _ in range(n))
    low, high = _binomial_bounds(n, 0.25)
    assert low <= hits <= high
    assert all(shadowed(100, rng.random()) for _ in range(1000))
    assert not any(shadowed(0, rng.random()) for _ in range(1000))


def test_weight_of_a_failed_version_goes_to_the_others() -> None:
    weights = {3: 60, 4: 30, 5: 10}
    assert effective_weights(weights, {3, 4, 5}) == {3: 60, 4: 30, 5: 10}
    assert Split.of(effective_weights(weights, {3, 5})).shares() == pytest.approx(
        {3: 600 / 7, 5: 100 / 7}
    )
    assert effective_weights(weights, set()) == {}


def test_versions_at_weight_zero_serve_when_nothing_else_can() -> None:
    assert effective_weights({3: 100, 4: 0}, {3, 4}) == {3: 100}
    assert effective_weights({3: 100, 4: 0, 5: 0}, {4, 5}) == {4: 1.0, 5: 1.0}
