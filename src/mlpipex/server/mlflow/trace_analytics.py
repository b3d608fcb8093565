"""MLflow's trace analytics routes: trace metrics (QueryTraceMetrics) and the correlation of
two trace filters (CalculateTraceFilterCorrelation)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Response

from mlpipex.domain.bounds import Millis, Seconds
from mlpipex.domain.traces import Aggregation, MetricAggregation, MetricQuery, MetricView
from mlpipex.server.deps import global_role
from mlpipex.server.mlflow.wire import Args, Payload, Reg, StrList, ok, parse
from mlpipex.service.tracking import trace_analytics

READS = ("/metrics", "/calculate-filter-correlation")
router = APIRouter(
    prefix="/mlflow/traces", tags=["mlflow traces"], dependencies=[global_role(*READS)]
)


class AggregationIn(Args):
    aggregation_type: Aggregation
    percentile_value: float | None = None


class MetricsQuery(Args):
    experiment_ids: StrList = []
    view_type: MetricView = MetricView.TRACES
    metric_name: str
    aggregations: list[AggregationIn] = []
    dimensions: StrList = []
    filters: StrList = []
    time_interval_seconds: Seconds | None = None
    start_time_ms: Millis | None = None
    end_time_ms: Millis | None = None
    max_results: int = trace_analytics.MAX_POINTS
    page_token: str | None = None


@router.post("/metrics")
def query_metrics(reg: Reg, args: Payload) -> Response:
    """Trace counts or latencies, grouped by trace name, status and time bucket."""
    a = parse(MetricsQuery, args)
    query = MetricQuery(
        tuple(a.experiment_ids),
        a.view_type,
        a.metric_name,
        tuple(MetricAggregation(x.aggregation_type, x.percentile_value) for x in a.aggregations),
        tuple(a.dimensions),
        tuple(a.filters),
        a.time_interval_seconds,
        a.start_time_ms,
        a.end_time_ms,
    )
    page = trace_analytics.query_metrics(reg, query, a.max_results, a.page_token)
    body: dict[str, Any] = {
        "data_points": [
            {"metric_name": p.metric_name, "dimensions": dict(p.dimensions), "values": p.values}
            for p in page.items
        ]
    }
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


class CorrelationQuery(Args):
    experiment_ids: StrList = []
    filter_string1: str
    filter_string2: str
    base_filter: str | None = None


@router.post("/calculate-filter-correlation")
def calculate_filter_correlation(reg: Reg, args: Payload) -> Response:
    """How two trace filters go together: their counts and NPMI (left out when undefined)."""
    a = parse(CorrelationQuery, args)
    c = trace_analytics.correlation(
        reg, a.experiment_ids, a.filter_string1, a.filter_string2, a.base_filter
    )
    body: dict[str, Any] = {
        "filter1_count": c.first,
        "filter2_count": c.second,
        "joint_count": c.joint,
        "total_count": c.total,
    }
    for key, value in (("npmi", c.npmi), ("npmi_smoothed", c.npmi_smoothed)):
        if not math.isnan(value):
            body[key] = value
    return ok(body)
