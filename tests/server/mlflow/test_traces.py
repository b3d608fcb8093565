"""MLflow 3 tracing against `mlpipex server` with the real mlflow client: @mlflow.trace spans
ingested over OTLP, the trace's info, search, get, tags, assessments, deletes, the link to the
run; OTLP's JSON form too."""

from __future__ import annotations

import os
import warnings

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import SpanEvent, TraceData
from mlflow.entities.trace_status import TraceStatus

from tests.server.mlflow.conftest import Server, unique

pytestmark = pytest.mark.slow

# The tracer imports mlflow.pyfunc on the first span; that import warns about MLflow's own type
# hints, which this suite's warning filter would turn into an error that silently drops the span.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import mlflow.pyfunc


@pytest.fixture
def traced(tracking: str) -> str:
    eid = MlflowClient(tracking).create_experiment(unique("traces"))
    mlflow.set_experiment(experiment_id=eid)
    return eid


@mlflow.trace
def _double(x: int) -> int:
    return x * 2


@mlflow.trace(name="predict")
def _predict(x: int) -> int:
    return _double(x) + 1


def test_traced_calls_are_stored_searched_tagged_assessed_and_deleted(
    traced: str, client: MlflowClient
) -> None:
    with mlflow.start_run() as run:
        assert _predict(3) == 7
    assert _predict(4) == 9
    mlflow.flush_trace_async_logging()
    found = mlflow.search_traces(locations=[traced], return_type="list", order_by=["timestamp_ms"])
    assert len(found) == 2
    first = found[0]
    assert first.info.state == "OK" and first.info.experiment_id == traced
    assert first.info.request_metadata["mlflow.sourceRun"] == run.info.run_id
    assert [s.name for s in first.data.spans] == ["predict", "_double"]
    assert first.data.spans[1].parent_id == first.data.spans[0].span_id
    assert first.data.spans[0].outputs == 7 and first.data.spans[1].inputs == {"x": 3}

    got = mlflow.get_trace(first.info.trace_id)
    assert got.info.trace_id == first.info.trace_id and len(got.data.spans) == 2
    by_run = mlflow.search_traces(
        locations=[traced], filter_string=f"trace.run_id = '{run.info.run_id}'", return_type="list"
    )
    assert [t.info.trace_id for t in by_run] == [first.info.trace_id]

    client.set_trace_tag(first.info.trace_id, "reviewed", "yes")
    tagged = mlflow.search_traces(
        locations=[traced], filter_string="tags.reviewed = 'yes'", return_type="list"
    )
    assert [t.info.trace_id for t in tagged] == [first.info.trace_id]
    client.delete_trace_tag(first.info.trace_id, "reviewed")
    assert "reviewed" not in client.get_trace(first.info.trace_id).info.tags

    feedback = mlflow.log_feedback(trace_id=first.info.trace_id, name="quality", value=0.8)
    assert feedback.assessment_id
    stored = client.get_trace(first.info.trace_id).info.assessments
    assert [(a.name, a.value) for a in stored] == [("quality", 0.8)]
    mlflow.delete_assessment(trace_id=first.info.trace_id, assessment_id=feedback.assessment_id)
    assert client.get_trace(first.info.trace_id).info.assessments == []

    assert client.delete_traces(traced, trace_ids=[first.info.trace_id]) == 1
    left = mlflow.search_traces(locations=[traced], return_type="list")
    assert [t.info.trace_id for t in left] == [found[1].info.trace_id]


def test_otlp_json_spans_are_ingested(traced: str, mlflow_server: Server) -> None:
    trace_hex, span_hex = os.urandom(16).hex(), os.urandom(8).hex()
    span = {
        "traceId": trace_hex,
        "spanId": span_hex,
        "name": "from-otlp-json",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000500000000",
        "status": {"code": 1},
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    headers = {"x-mlflow-experiment-id": traced}
    r = httpx.post(f"{mlflow_server.url}/v1/traces", json=body, headers=headers)
    assert r.status_code == 200, r.text
    got = httpx.get(
        f"{mlflow_server.url}/api/3.0/mlflow/traces/get", params={"trace_id": f"tr-{trace_hex}"}
    ).json()["trace"]
    assert got["trace_info"]["request_time"] == "2023-11-14T22:13:20.000Z"
    assert [s["name"] for s in got["spans"]] == ["from-otlp-json"]

    bad = httpx.post(
        f"{mlflow_server.url}/v1/traces",
        content=b"\xff\x00 not protobuf",
        headers={**headers, "content-type": "application/x-protobuf"},
    )
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_an_override_invalidates_the_assessment_until_it_is_deleted(
    traced: str, tracking: str
) -> None:
    assert _predict(1) == 3
    mlflow.flush_trace_async_logging()
    (trace,) = mlflow.search_traces(locations=[traced], return_type="list")
    url = f"{tracking}/api/3.0/mlflow/traces/{trace.info.trace_id}/assessments"
    first = {"assessment_name": "q", "feedback": {"value": 1}, "source": {"source_type": "HUMAN"}}
    original = httpx.post(url, json={"assessment": first}).json()["assessment"]
    assert original["valid"] is True and original["assessment_id"].startswith("a-")
    override = httpx.post(
        url, json={"assessment": {**first, "overrides": original["assessment_id"]}}
    ).json()["assessment"]
    assert httpx.get(f"{url}/{original['assessment_id']}").json()["assessment"]["valid"] is False
    assert httpx.delete(f"{url}/{override['assessment_id']}").status_code == 200
    assert httpx.get(f"{url}/{override['assessment_id']}").status_code == 404
    assert httpx.get(f"{url}/{original['assessment_id']}").json()["assessment"]["valid"] is True
    renamed = httpx.patch(
        f"{url}/{original['assessment_id']}",
        json={"assessment": {"assessment_name": "q2"}, "update_mask": "assessmentName"},
    ).json()["assessment"]
    assert (renamed["assessment_name"], renamed["feedback"]) == ("q2", {"value": 1})
    span = httpx.get(
        f"{tracking}/api/3.0/mlflow/traces/get", params={"trace_id": trace.info.trace_id}
    ).json()["trace"]["spans"][0]
    assert "start_time_unix_nano" in span  # protobuf's JSON with the .proto's field names


def test_an_expectation_sent_as_an_object_reads_back_through_the_client(
    traced: str, tracking: str, client: MlflowClient
) -> None:
    assert _predict(2) == 5
    mlflow.flush_trace_async_logging()
    (trace,) = mlflow.search_traces(locations=[traced], return_type="list")
    url = f"{tracking}/api/3.0/mlflow/traces/{trace.info.trace_id}/assessments"
    value = {"threshold_ms": 1000, "passed": True}
    sent = {"assessment_name": "latency", "expectation": {"value": value}}
    made = httpx.post(url, json={"assessment": {**sent, "source": {"source_type": "CODE"}}})
    wire = made.json()["assessment"]["expectation"]["serialized_value"]
    assert wire["serialization_format"] == "JSON_FORMAT"
    (stored,) = client.get_trace(trace.info.trace_id).info.assessments
    assert (stored.name, stored.value) == ("latency", value)


def test_mlflow_2_start_and_end_trace(traced: str, client: MlflowClient, tracking: str) -> None:
    store = client._tracing_client.store
    started = store.deprecated_start_trace_v2(
        experiment_id=traced, timestamp_ms=1000, request_metadata={"m": "1"}, tags={"t": "a"}
    )
    assert (started.timestamp_ms, started.execution_time_ms) == (1000, 0)
    assert started.status == "IN_PROGRESS" and started.request_metadata == {"m": "1"}
    ended = store.deprecated_end_trace_v2(
        request_id=started.request_id,
        timestamp_ms=3500,
        status=TraceStatus.ERROR,
        request_metadata={"m2": "2"},
        tags={"t": "b"},
    )
    assert (ended.execution_time_ms, ended.status) == (2500, "ERROR")
    assert ended.request_metadata == {"m": "1", "m2": "2"} and ended.tags["t"] == "b"
    assert client.get_trace(started.request_id).info.state == "ERROR"
    url = f"{tracking}/api/2.0/mlflow/traces/{started.request_id}"
    bad = httpx.patch(url, json={"timestamp_ms": 4000, "status": "DONE"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    late = httpx.patch(url, json={"timestamp_ms": 10**18})
    assert late.status_code == 400
    missing = httpx.patch(f"{tracking}/api/2.0/mlflow/traces/tr-nope", json={"timestamp_ms": 1})
    assert missing.status_code == 404


def test_spans_download_as_mlflow_trace_data(traced: str, tracking: str) -> None:
    with mlflow.start_span(name="outer") as span:
        span.set_attributes({"fruit": "apple", "n": 3})
        span.add_event(SpanEvent("seen", timestamp=5, attributes={"k": "v"}))
    mlflow.flush_trace_async_logging()
    url = f"{tracking}/ajax-api/2.0/mlflow/get-trace-artifact"
    r = httpx.get(url, params={"request_id": span.trace_id})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == "attachment; filename=traces.json"
    (read,) = TraceData.from_dict(r.json()).spans
    assert read.to_dict() == span.to_dict()
    assert read.attributes["fruit"] == "apple" and read.attributes["n"] == 3
    assert httpx.get(url, params={"request_id": "tr-missing"}).status_code == 404


def test_a_trace_linked_to_several_runs_is_found_by_each(traced: str, client: MlflowClient) -> None:
    under = client.create_run(traced).info.run_id
    others = [client.create_run(traced).info.run_id for _ in range(2)]
    with mlflow.start_run(run_id=under):
        assert _predict(5) == 11
    mlflow.flush_trace_async_logging()
    (trace,) = mlflow.search_traces(locations=[traced], return_type="list")
    for run_id in others:
        client.link_traces_to_run([trace.info.trace_id], run_id=run_id)
    for run_id in [under, *others]:
        found = client.search_traces(
            locations=[traced], filter_string=f"attribute.run_id = '{run_id}'"
        )
        assert [t.info.trace_id for t in found] == [trace.info.trace_id]
    assert client.delete_traces(traced, trace_ids=[trace.info.trace_id]) == 1
    assert not client.search_traces(
        locations=[traced], filter_string=f"attribute.run_id = '{others[0]}'"
    )
