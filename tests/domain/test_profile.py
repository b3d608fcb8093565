"""Reference profiles, checked against numpy on known data."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from mlpipex.domain.profile import PERCENTILES, profile


def test_numeric_feature_matches_numpy():
    values = np.arange(1.0, 1001.0)
    values[::10] = np.nan  # 100 of 1000 missing
    p = profile(pd.DataFrame({"amount": values}))
    assert p["rows"] == 1000
    (f,) = p["features"]
    present = values[~np.isnan(values)]
    assert (f["name"], f["kind"], f["missing"], f["count"]) == ("amount", "numeric", 0.1, 900)
    assert list(f["quantiles"]) == [str(q) for q in PERCENTILES]
    np.testing.assert_allclose(list(f["quantiles"].values()), np.percentile(present, PERCENTILES))
    assert f["mean"] == pytest.approx(present.mean())
    assert f["std"] == pytest.approx(present.std())
    counts, edges = np.histogram(present, bins=20)
    assert f["histogram"]["counts"] == counts.tolist()
    np.testing.assert_allclose(f["histogram"]["edges"], edges)
    assert sorted(f["sample"]) == present.tolist()  # under 5,000 values: all of them


def test_sample_is_bounded_seeded_and_drawn_from_the_data():
    values = np.random.default_rng(3).normal(size=20_000)
    a = profile(values)["features"][0]["sample"]
    assert len(a) == 5_000 and len(set(a)) == 5_000
    assert set(a) <= set(values.tolist())
    assert profile(values)["features"][0]["sample"] == a
    assert profile(values, seed=1)["features"][0]["sample"] != a


def test_categorical_keeps_the_top_50_and_folds_the_rest():
    values = [f"c{i:03d}" for i in range(60) for _ in range(60 - i)] + [None] * 30
    p = profile([{"country": v} for v in values])
    (f,) = p["features"]
    assert (f["kind"], f["distinct"], f["count"]) == ("categorical", 60, len(values) - 30)
    assert f["missing"] == pytest.approx(30 / len(values))
    freq = f["frequencies"]
    assert len(freq) == 51 and list(freq)[:2] == ["c000", "c001"] and freq["c000"] == 60
    assert freq["__other__"] == sum(60 - i for i in range(50, 60))


def test_arrays_are_named_by_index_and_empty_or_infinite_columns_are_safe():
    arr = np.array([[1.0, np.inf], [2.0, np.nan]])
    p = profile(arr)
    assert [f["name"] for f in p["features"]] == ["0", "1"]
    empty = p["features"][1]
    assert empty["missing"] == 1.0 and empty["quantiles"] is None and empty["sample"] == []
    json.dumps(p, allow_nan=False)  # strict JSON: no NaN or Infinity anywhere


def test_25_features_by_100k_rows_in_well_under_a_second():
    data = np.random.default_rng(0).normal(size=(100_000, 25))
    start = time.perf_counter()
    p = profile(data)
    assert time.perf_counter() - start < 1.0
    assert len(p["features"]) == 25 and p["rows"] == 100_000
