"""MLflow trace times and durations on the wire: an impossible or unprintable time and a
negative duration are refused as INVALID_PARAMETER_VALUE (never a 500, never stored), and OTLP
spans start each trace at its earliest span."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

App = Callable[..., TestClient]
START = "/api/3.0/mlflow/traces"
SEARCH = "/api/3.0/mlflow/traces/search"


def _info(trace_id: str, request_time: str, duration: str = "1.5s") -> dict[str, object]:
    info = {
        "trace_id": trace_id,
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": "0"},
        },
        "request_time": request_time,
        "execution_duration": duration,
        "state": "OK",
    }
    return {"trace": {"trace_info": info}}


@pytest.mark.parametrize(
    ("request_time", "duration"),
    [
        ("2025-13-01T00:00:00Z", "1s"),
        ("2025-01-01T00:00:00+99:00", "1s"),
        ("9999-12-31T23:59:59-01:00", "1s"),  # year 10000 in UTC
        ("1969-12-31T23:59:59Z", "1s"),
        ("2025-01-01T00:00:00Z", "-1.5s"),
        ("2025-01-01T00:00:00Z", "99999999999999999999s"),
    ],
)
def test_impossible_times_and_durations_are_refused(
    make_app: App, request_time: str, duration: str
) -> None:
    c = make_app()
    r = c.post(START, json=_info("tr-bad", request_time, duration))
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    found = c.post(SEARCH, json={"experiment_ids": ["0"]})
    assert found.status_code == 200 and found.json().get("traces", []) == []


def test_the_last_printable_time_is_kept_and_searched(make_app: App) -> None:
    c = make_app()
    r = c.post(START, json=_info("tr-late", "9999-12-31T23:59:59.999Z", "0s"))
    assert r.status_code == 200, r.text
    found = c.post(SEARCH, json={"experiment_ids": ["0"]}).json()["traces"]
    assert [(t["request_time"], t["execution_duration"]) for t in found] == [
        ("9999-12-31T23:59:59.999Z", "0.000s")
    ]


def test_otlp_spans_start_each_trace_at_its_earliest_span(make_app: App) -> None:
    c = make_app()
    ids = [os.urandom(16).hex() for _ in range(3)]
    spans = [  # interleaved, the earliest of each trace not first
        {
            "traceId": ids[i % 3],
            "spanId": os.urandom(8).hex(),
            "name": f"s{i}",
            "startTimeUnixNano": str((1_700_000_000 + 10 - i) * 10**9),
            "endTimeUnixNano": str((1_700_000_000 + 20) * 10**9),
        }
        for i in range(9)
    ]
    body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    r = c.post("/v1/traces", json=body, headers={"x-mlflow-experiment-id": "0"})
    assert r.status_code == 200, r.text
    for k, trace_hex in enumerate(ids):
        got = c.get(f"{START}/get", params={"trace_id": f"tr-{trace_hex}"}).json()["trace"]
        earliest = 1_700_000_000 + 10 - (6 + k)  # spans k, k+3, k+6: the last starts first
        want = f"2023-11-14T22:13:{earliest - 1_699_999_980:02d}.000Z"
        assert got["trace_info"]["request_time"] == want
