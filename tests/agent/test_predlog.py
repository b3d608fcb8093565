"""The agent's prediction log: one row per input row with its own prediction, sampled, rate
limited, nothing parsed on the request path."""

from __future__ import annotations

import json

from mlpipex.agent.predlog import Captured, PredictionLog, rows_of


def _captured(body: object, answer: object, status: int = 200) -> Captured:
    return Captured(
        "ep",
        3,
        1000,
        0.5,
        status,
        "application/json",
        json.dumps(body).encode(),
        json.dumps(answer).encode(),
    )


def test_rows_split_per_input_row_with_their_prediction() -> None:
    rows = rows_of(
        _captured(
            {"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}, {"predictions": [0, 1]}
        )
    )
    assert [(r["input"], r["output"]) for r in rows] == [
        ({"a": 1, "b": 2}, 0),
        ({"a": 3, "b": 4}, 1),
    ]
    assert all(r["version"] == 3 and r["time"] == 1000 for r in rows)
    split = rows_of(
        _captured({"dataframe_split": {"columns": ["x"], "data": [[1.5]]}}, {"predictions": [7]})
    )
    assert [(r["input"], r["output"]) for r in split] == [({"x": 1.5}, 7)]
    assert rows_of(_captured("not a request", {"predictions": []})) == []


def test_sampling_and_rate_limit_bound_what_is_kept() -> None:
    log = PredictionLog(sample_rate=1.0, max_per_second=10.0)
    for _ in range(100):
        if log.wants("ep"):
            log.record("ep", 1, 0.1, 200, "application/json", b"{}", b"{}")
    kept = log.drain()
    assert 10 <= len(kept) <= 11 and log.dropped >= 89
    log.record("ep", 1, 0.1, 500, "application/json", b"{}", b"{}")
    assert log.drain() == []  # failed requests are not logged
    none = PredictionLog(sample_rate=0.0)
    assert not any(none.wants("ep") for _ in range(100))
    log = PredictionLog(sample_rate=1.0, max_per_second=1e9)
    log.rates = {"quiet": 0.0, "half": 0.5}
    assert not any(log.wants("quiet") for _ in range(100))
    assert 20 < sum(log.wants("half") for _ in range(200)) < 180
    assert all(log.wants("other") for _ in range(100))
