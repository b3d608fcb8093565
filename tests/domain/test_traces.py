"""The correlation of two trace filters (NPMI) and the labels of trace metric aggregations."""

from __future__ import annotations

import math

import pytest

from mlpipex.domain.traces import Aggregation, Correlation, MetricAggregation


def test_npmi_is_one_when_the_filters_always_go_together() -> None:
    assert Correlation(total=10, first=4, second=4, joint=4).npmi == pytest.approx(1.0)


def test_npmi_of_independent_filters_is_zero() -> None:
    assert Correlation(total=100, first=50, second=20, joint=10).npmi == pytest.approx(0.0)


def test_npmi_is_minus_one_when_both_happen_but_never_together() -> None:
    c = Correlation(total=10, first=5, second=5, joint=0)
    assert c.npmi == -1.0 and -1.0 < c.npmi_smoothed < 0


def test_npmi_of_partly_overlapping_filters() -> None:
    # p(both) = .6, p(first) = .6, p(second) = .7: log(.6 / .42) / -log(.6)
    expected = math.log(0.6 / 0.42) / -math.log(0.6)
    assert Correlation(total=10, first=6, second=7, joint=6).npmi == pytest.approx(expected)


@pytest.mark.parametrize(
    "counts", [(10, 0, 7, 0), (0, 0, 0, 0), (10, 3, 3, 5)], ids=["no support", "empty", "bad"]
)
def test_npmi_is_undefined_without_support_or_for_impossible_counts(
    counts: tuple[int, int, int, int],
) -> None:
    total, first, second, joint = counts
    c = Correlation(total=total, first=first, second=second, joint=joint)
    assert math.isnan(c.npmi)


def test_aggregation_labels_are_mlflows() -> None:
    assert MetricAggregation(Aggregation.AVG).label == "AVG"
    assert MetricAggregation(Aggregation.PERCENTILE, 95.0).label == "P95.0"
