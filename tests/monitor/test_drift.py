"""Drift against reference profiles: both paths (tests for small references, distances for large
ones), numeric and categorical, PSI, the dataset verdict, prediction drift and bad inputs."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from mlpipex.domain.profile import profile
from mlpipex.errors import Invalid
from mlpipex.monitor.drift import DriftOptions, compute_drift

NUMERIC = ["a", "b", "c", "d"]
MIX = {"x": 0.5, "y": 0.3, "z": 0.2}


def frame(rows: int, seed: int, shift: dict[str, float] | None = None, mix=MIX) -> pd.DataFrame:
    """Four standard-normal features (plus ``shift`` in std units) and one categorical."""
    rng = np.random.default_rng(seed)
    data = {n: rng.normal(size=rows) + (shift or {}).get(n, 0.0) for n in NUMERIC}
    data["cat"] = rng.choice(list(mix), size=rows, p=list(mix.values()))
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def small_ref() -> dict:
    return profile(frame(800, seed=1))


@pytest.fixture(scope="module")
def large_ref() -> dict:
    return profile(frame(50_000, seed=1))


def test_the_reference_size_picks_the_test(small_ref, large_ref):
    tests = {f.name: f.test for f in compute_drift(small_ref, frame(500, seed=2)).features} | {
        "cat large": compute_drift(large_ref, frame(500, seed=2)).features[-1].test
    }
    assert tests == {
        "a": "ks",
        "b": "ks",
        "c": "ks",
        "d": "ks",
        "cat": "chi2",
        "cat large": "jensenshannon",
    }
    assert [f.test for f in compute_drift(large_ref, frame(500, seed=2)).features[:4]] == [
        "wasserstein"
    ] * 4


def test_undrifted_windows_large_reference_flag_nothing(large_ref):
    for seed in range(10, 20):
        result = compute_drift(large_ref, frame(2_000, seed=seed))
        assert result.drifted is False and result.share == 0.0, result.to_dict()
        for f in result.features:
            assert f.drifted is False and f.score is not None and f.score < f.threshold


def test_windows_of_500_rows_on_a_large_reference_rarely_cross_the_distance(large_ref):
    # Wasserstein / std between 500 rows and the reference is about 0.06 and crosses 0.1 for
    # some 3.5% of features (the module docstring has the figures), so the check is on the
    # whole-window verdict and on a false-alarm count within that rate.
    flagged = 0
    for seed in range(10, 20):
        result = compute_drift(large_ref, frame(500, seed=seed))
        assert result.drifted is False
        flagged += len(result.drifted_features)
    assert flagged <= 3


def test_a_small_window_gets_no_distance_verdict_but_still_a_test(small_ref, large_ref):
    window = frame(200, seed=21)
    assert compute_drift(small_ref, window).drifted is False
    result = compute_drift(large_ref, window)
    assert result.drifted is None and "200 rows, 500 needed" in (result.reason or "")
    assert compute_drift(large_ref, window, DriftOptions(distance_min_rows=100)).share is not None


def test_undrifted_windows_small_reference_stay_below_the_false_alarm_rate(small_ref):
    # A test at p < 0.05 flags 5% of windows from the very same distribution: that is its
    # definition, so the check is that no window is judged drifted as a whole and that the
    # features flagged stay within what 5% of 50 tests allows.
    flagged = 0
    for seed in range(10, 20):
        result = compute_drift(small_ref, frame(500, seed=seed))
        assert result.drifted is False
        assert all(f.score is not None and 0 <= f.score <= 1 for f in result.features)
        flagged += len(result.drifted_features)
    assert flagged <= 5


@pytest.mark.parametrize("reference", ["small_ref", "large_ref"])
def test_exactly_the_shifted_features_are_flagged(reference, request):
    ref = request.getfixturevalue(reference)
    result = compute_drift(ref, frame(500, seed=3, shift={"b": 1.0, "d": -1.0}))
    assert result.drifted_features == ["b", "d"]
    assert result.share == pytest.approx(2 / 5) and result.drifted is False


@pytest.mark.parametrize("reference", ["small_ref", "large_ref"])
def test_a_changed_category_mix_is_flagged(reference, request):
    ref = request.getfixturevalue(reference)
    result = compute_drift(ref, frame(500, seed=4, mix={"x": 0.3, "y": 0.3, "z": 0.4}))
    assert result.drifted_features == ["cat"]


def test_unseen_categories_count_as_other_and_drift(small_ref, large_ref):
    mix = {"x": 0.45, "y": 0.3, "z": 0.2, "new": 0.05}
    small = compute_drift(small_ref, frame(500, seed=5, mix=mix)).features[-1]
    assert (small.test, small.score, small.drifted) == ("chi2", 0.0, True)
    large = compute_drift(large_ref, frame(500, seed=5, mix=mix)).features[-1]
    # 5% of rows in a bin the reference never filled: a JS distance of about 0.13.
    assert large.test == "jensenshannon" and large.drifted and 0.1 < large.score < 0.2


def test_the_dataset_verdict_follows_the_share_threshold(large_ref):
    one = frame(500, seed=6, shift={"a": 1.0})
    assert compute_drift(large_ref, one).drifted is False
    assert compute_drift(large_ref, one, DriftOptions(share=0.2)).drifted is True
    three = frame(500, seed=6, shift={"a": 1.0, "b": 1.0, "c": 1.0})
    result = compute_drift(large_ref, three)
    assert (result.drifted, result.share) == (True, pytest.approx(3 / 5))
    assert compute_drift(large_ref, three, DriftOptions(share=0.8)).drifted is False


def test_psi_is_near_zero_for_the_same_data_and_large_when_shifted(large_ref):
    same = compute_drift(large_ref, frame(20_000, seed=7))
    assert all(f.psi is not None and f.psi < 0.01 for f in same.features)
    shifted = compute_drift(
        large_ref, frame(20_000, seed=7, shift={"a": 1.0}, mix={"x": 0.2, "y": 0.3, "z": 0.5})
    )
    psi = {f.name: f.psi for f in shifted.features}
    assert psi["a"] > 0.5 and psi["cat"] > 0.25 and psi["b"] < 0.01


def test_values_beyond_the_reference_range_land_in_the_outer_bins(large_ref):
    far = compute_drift(large_ref, frame(500, seed=8, shift={"a": 50.0})).features[0]
    assert far.drifted and far.psi is not None and far.psi > 5  # all mass in the last bin


def test_too_small_a_window_gets_no_verdict(small_ref):
    result = compute_drift(small_ref, frame(20, seed=9))
    assert (result.drifted, result.share, result.window_rows) == (None, None, 20)
    assert result.reason and "not enough data" in result.reason
    assert all(f.drifted is None and f.score is None for f in result.features)


def test_a_mostly_missing_feature_is_left_out_of_the_share(large_ref):
    data = frame(1_000, seed=10, shift={"b": 1.0})
    data.loc[data.index[20:], "a"] = np.nan
    result = compute_drift(large_ref, data)
    a = result.features[0]
    assert (a.drifted, a.n_current, a.missing_share) == (None, 20, 0.98)
    assert "not enough data" in (a.reason or "")
    assert result.share == pytest.approx(1 / 4)


def test_arrays_records_and_integer_labels_match_the_profile():
    rng = np.random.default_rng(11)
    ref = profile(rng.normal(size=(2_000, 3)))  # features "0", "1", "2"
    cur = rng.normal(size=(1_000, 3)) + np.array([0.0, 2.0, 0.0])
    by_array = compute_drift(ref, cur)
    by_frame = compute_drift(ref, pd.DataFrame(cur))  # integer column labels 0, 1, 2
    by_records = compute_drift(ref, [{"0": r[0], "1": r[1], "2": r[2]} for r in cur])
    assert by_array.to_dict() == by_frame.to_dict() == by_records.to_dict()
    assert by_array.drifted_features == ["1"]


def test_prediction_drift_is_reported_beside_the_features(large_ref):
    rng = np.random.default_rng(12)
    pred_ref = profile(rng.normal(size=3_000))
    same = compute_drift(
        large_ref,
        frame(500, seed=12),
        prediction_profile=pred_ref,
        predictions=rng.normal(size=(600, 1)),
    )
    assert same.prediction is not None and same.prediction.drifted is False
    assert same.prediction.name == "prediction" and same.prediction.n_current == 600
    moved = compute_drift(
        large_ref,
        frame(500, seed=12),
        prediction_profile=pred_ref,
        predictions=pd.Series(rng.normal(size=600) + 1),
    )
    assert moved.prediction is not None and moved.prediction.drifted is True
    assert moved.drifted is False and moved.share == 0.0  # inputs did not move
    labels = profile(pd.DataFrame({"label": rng.choice(["no", "yes"], 2_000, p=[0.9, 0.1])}))
    flipped = compute_drift(
        large_ref,
        frame(500, seed=12),
        prediction_profile=labels,
        predictions=rng.choice(["no", "yes"], 600, p=[0.5, 0.5]),
    )
    assert flipped.prediction is not None and flipped.prediction.test == "jensenshannon"
    assert flipped.prediction.drifted is True


def test_to_dict_is_strict_json_with_the_documented_keys(small_ref):
    d = compute_drift(small_ref, frame(500, seed=13, shift={"a": 1.0})).to_dict()
    json.dumps(d, allow_nan=False)
    assert {"drifted", "share", "window", "features"} <= set(d) and d["window"] == 500
    assert {"name", "test", "score", "threshold", "drifted", "psi"} <= set(d["features"][0])
    assert d["features"][0]["drifted"] is True


def test_a_constant_reference_feature_does_not_divide_by_zero():
    ref = profile(pd.DataFrame({"k": np.full(5_000, 3.0)}))
    assert compute_drift(ref, pd.DataFrame({"k": np.full(600, 3.0)})).drifted is False
    assert compute_drift(ref, pd.DataFrame({"k": np.full(600, 3.5)})).drifted is True


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: compute_drift(p, frame(100, 0).drop(columns=["b", "cat"])), "b, cat"),
        (lambda p: compute_drift(p, np.zeros((100, 3))), "5 features"),
        (lambda p: compute_drift(p, frame(100, 0).assign(a="text")), "'a' is numeric"),
        (lambda p: compute_drift(p, "a,b,c"), "must be a DataFrame"),
        (lambda p: compute_drift({"rows": 3, "features": []}, frame(100, 0)), "no features"),
        (lambda p: compute_drift(p, frame(100, 0), predictions=np.zeros(100)), "without a"),
        (
            lambda p: compute_drift(
                p,
                frame(100, 0),
                prediction_profile=profile(np.zeros(9)),
                predictions=np.zeros((100, 2)),
            ),
            "one column",
        ),
        (lambda p: DriftOptions(share=0), "share"),
        (lambda p: DriftOptions(p_value=1.5), "p-value"),
    ],
)
def test_invalid_inputs_are_refused_with_a_reason(small_ref, call, message):
    with pytest.raises(Invalid, match=message):
        call(small_ref)


def test_25_features_by_100k_rows_in_well_under_a_second():
    rng = np.random.default_rng(14)
    ref = profile(rng.normal(size=(20_000, 25)))
    cur = rng.normal(size=(100_000, 25))
    compute_drift(ref, cur[:1_000])  # import and first-call costs are not the point
    # CPU time, not wall time: the work is single-threaded, and a busy shared machine would
    # otherwise fail this test for time spent waiting on other processes.
    start = time.process_time()
    result = compute_drift(ref, cur)
    assert time.process_time() - start < 1.0
    assert len(result.features) == 25 and result.drifted is False
