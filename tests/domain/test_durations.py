"""Durations people write, bounded: a window, wait or grace period is finite, not negative and
at most ten years, so the millisecond arithmetic on it stays in range."""

from __future__ import annotations

import pytest

from mlpipex.domain.durations import MAX_SECONDS, parse_duration
from mlpipex.errors import Invalid


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0), ("90s", 90), ("1h30m", 5400), (5, 5), ("520w", 520 * 604800)]
)
def test_durations_in_range_are_read(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["inf", "-inf", "nan", "1e400", "-1", "-0.5", float("inf"), float("nan"), -3, "600w", 1e12],
)
def test_infinite_negative_and_huge_durations_are_refused(text: str | float) -> None:
    with pytest.raises(Invalid, match="between 0 and 10 years"):
        parse_duration(text)


def test_the_bound_is_ten_years() -> None:
    assert parse_duration(MAX_SECONDS) == MAX_SECONDS
    with pytest.raises(Invalid):
        parse_duration(MAX_SECONDS + 1)
