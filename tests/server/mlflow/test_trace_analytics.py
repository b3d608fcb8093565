"""Trace analytics against `mlpipex server` with the real mlflow client: full-text trace
search, trace metrics (counts and latencies by status and name) and the correlation of two
trace filters."""

from __future__ import annotations

import math
import warnings

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities.trace_metrics import AggregationType, MetricAggregation, MetricViewType
from mlflow.entities.trace_status import TraceStatus
from mlflow.exceptions import MlflowException
from mlflow.tracing.client import TracingClient

from tests.server.mlflow.conftest import unique

pytestmark = pytest.mark.slow

with warnings.catch_warnings():  # see test_traces.py: the tracer's first span imports pyfunc
    warnings.simplefilter("ignore")
    import mlflow.pyfunc


@pytest.fixture
def experiment(client: MlflowClient) -> str:
    return client.create_experiment(unique("analytics"))


def _trace(
    client: MlflowClient,
    eid: str,
    name: str,
    status: str = TraceStatus.OK,
    tags: dict[str, str] | None = None,
    attributes: dict[str, str] | None = None,
) -> str:
    span = client.start_trace(name=name, experiment_id=eid, tags=tags)
    span.set_attributes(attributes or {})
    client.end_trace(trace_id=span.trace_id, status=status)
    return str(span.trace_id)


def test_text_search_reads_span_names_and_values_not_their_json(
    client: MlflowClient, experiment: str, tracking: str
) -> None:
    mlflow.set_tracking_uri(tracking)
    one = _trace(client, experiment, "alpha", attributes={"note": "Blue sky"})
    two = _trace(client, experiment, "beta", attributes={"note": "green grass"})
    mlflow.flush_trace_async_logging()

    def found(text: str) -> set[str]:
        hits = client.search_traces(locations=[experiment], filter_string=f"trace.text {text}")
        return {t.info.trace_id for t in hits}

    assert found("LIKE '%sky%'") == {one}
    assert found("LIKE '%beta%'") == {two}
    assert found("LIKE '%value%'") == set()  # OTLP's JSON says "value" around every attribute
    assert found("LIKE '%blue%'") == set() and found("ILIKE '%blue%'") == {one}
    with pytest.raises(MlflowException, match="LIKE or ILIKE"):
        found("= 'sky'")


def test_trace_metrics_count_and_time_traces_by_status_and_name(
    client: MlflowClient, experiment: str, tracking: str
) -> None:
    mlflow.set_tracking_uri(tracking)
    for name, status in (("a", TraceStatus.OK), ("a", TraceStatus.OK), ("b", TraceStatus.ERROR)):
        _trace(client, experiment, name, status)
    mlflow.flush_trace_async_logging()
    store = client._tracing_client.store
    counts = store.query_trace_metrics(
        experiment_ids=[experiment],
        view_type=MetricViewType.TRACES,
        metric_name="trace_count",
        aggregations=[MetricAggregation(aggregation_type=AggregationType.COUNT)],
        dimensions=["trace_status", "trace_name"],
    )
    assert [(p.dimensions, p.values) for p in counts] == [
        ({"trace_status": "ERROR", "trace_name": "b"}, {"COUNT": 1}),
        ({"trace_status": "OK", "trace_name": "a"}, {"COUNT": 2}),
    ]
    latency = store.query_trace_metrics(
        experiment_ids=[experiment],
        view_type=MetricViewType.TRACES,
        metric_name="latency",
        aggregations=[
            MetricAggregation(aggregation_type=AggregationType.MAX),
            MetricAggregation(aggregation_type=AggregationType.PERCENTILE, percentile_value=50.0),
        ],
        filters=["trace.status = 'OK'"],
        time_interval_seconds=3600,
    )
    (point,) = latency
    assert set(point.values) == {"MAX", "P50.0"} and point.values["MAX"] >= point.values["P50.0"]
    assert point.dimensions["time_bucket"].endswith("+00:00")
    url = f"{tracking}/api/3.0/mlflow/traces/metrics"
    body = {"experiment_ids": [experiment], "metric_name": "trace_count"}
    for bad in (
        {"aggregations": [{"aggregation_type": "SUM"}]},
        {"aggregations": [{"aggregation_type": "COUNT"}], "dimensions": ["span_type"]},
        {"aggregations": [{"aggregation_type": "COUNT"}], "view_type": "SPANS"},
        {"aggregations": [{"aggregation_type": "COUNT"}], "max_results": 10**6},
        {"aggregations": [{"aggregation_type": "COUNT"}], "time_interval_seconds": 0},
    ):
        r = httpx.post(url, json={**body, **bad})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", bad


def test_filter_correlation_counts_and_npmi(
    client: MlflowClient, experiment: str, tracking: str
) -> None:
    mlflow.set_tracking_uri(tracking)
    for i in range(4):
        _trace(client, experiment, f"p{i}", tags={"env": "prod", "kind": "tool"})
    for i in range(4):
        _trace(client, experiment, f"d{i}", tags={"env": "dev", "kind": "llm"})
    mlflow.flush_trace_async_logging()
    tracing = TracingClient(tracking_uri=tracking)
    same = tracing.calculate_trace_filter_correlation(
        experiment_ids=[experiment],
        filter_string1="tags.env = 'prod'",
        filter_string2="tags.kind = 'tool'",
    )
    assert (same.total_count, same.filter1_count, same.filter2_count, same.joint_count) == (
        8,
        4,
        4,
        4,
    )
    assert same.npmi == pytest.approx(1.0) and 0 < same.npmi_smoothed < 1
    apart = tracing.calculate_trace_filter_correlation(
        experiment_ids=[experiment],
        filter_string1="tags.env = 'prod'",
        filter_string2="tags.kind = 'llm'",
        base_filter="tags.env = 'prod'",
    )
    assert (apart.total_count, apart.joint_count, apart.filter2_count) == (4, 0, 0)
    assert math.isnan(apart.npmi)
    with pytest.raises(MlflowException, match="Invalid filter_string1"):
        tracing.calculate_trace_filter_correlation(
            experiment_ids=[experiment],
            filter_string1="nope.x = 'y'",
            filter_string2="tags.kind = 'tool'",
        )
