"""Analytics over MLflow traces: metrics grouped by trace name, status and time (MLflow's
QueryTraceMetrics, traces view), and how two trace filters go together (NPMI)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from mlpipex.domain.models import Page
from mlpipex.domain.traces import (
    Aggregation,
    Correlation,
    MetricAggregation,
    MetricPoint,
    MetricQuery,
    MetricView,
)
from mlpipex.errors import Invalid
from mlpipex.service.context import Registry
from mlpipex.service.mlflow.compat import experiment_id, paged
from mlpipex.service.registry import search
from mlpipex.service.tracking.traces import MAX_RESULTS, TRACE_NAME, T, conditions
from mlpipex.store.tracking import runs as runs_store
from mlpipex.store.tracking import trace_analytics as store

MAX_POINTS = MAX_RESULTS
MAX_EXPERIMENTS = 100
MAX_FILTERS = 20
MAX_AGGREGATIONS = 10
TRACE_COUNT, LATENCY = "trace_count", "latency"
TRACE_NAME_DIM, TRACE_STATUS_DIM, TIME_BUCKET = "trace_name", "trace_status", "time_bucket"


def _scope(ws: str, experiment_ids: Sequence[str]) -> list[sa.ColumnElement[bool]]:
    if not 1 <= len(experiment_ids) <= MAX_EXPERIMENTS:
        raise Invalid(f"give 1 to {MAX_EXPERIMENTS} experiment ids, got {len(experiment_ids)}")
    ids = [experiment_id(e) for e in experiment_ids]
    return [T.experiment_id.in_(runs_store.experiment_ids_in(ws, ids))]


def query_metrics(
    reg: Registry, q: MetricQuery, max_results: int, page_token: str | None
) -> Page[MetricPoint]:
    """One point per group of traces (by the dimensions asked, and time bucket when an
    interval is given), in the groups' order, with each aggregation asked."""
    reg.require("viewer")
    search.check_max_results(max_results, MAX_RESULTS)
    _check_query(q)
    conds = _scope(reg.workspace, q.experiment_ids)
    for f in q.filters:
        conds += conditions(f, reg.store.dialect)
    if q.start_ms is not None:
        conds.append(T.request_time >= q.start_ms)
    if q.end_ms is not None:
        conds.append(T.request_time < q.end_ms)
    interval_ms = q.interval_s * 1000 if q.interval_s else None
    columns = {TRACE_NAME_DIM: store.name_of_trace(TRACE_NAME), TRACE_STATUS_DIM: T.state}
    keys = [columns[d] for d in q.dimensions]
    if interval_ms:
        keys.insert(0, T.request_time // interval_ms)
    # a trace counts as 1: its count's statistics are those of a list of ones
    measure = T.execution_duration if q.metric_name == LATENCY else sa.literal(1)
    percentiles = [a.percentile for a in q.aggregations if a.percentile is not None]
    offset = search.decode_page_token(page_token)
    with reg.store.read() as conn:
        found = store.groups(conn, conds, keys, measure, percentiles, max_results + 1, offset)
    names = [TIME_BUCKET, *q.dimensions] if interval_ms else list(q.dimensions)
    points = [
        MetricPoint(q.metric_name, dict(zip(names, _shown(g.key, q), strict=True)), _values(g, q))
        for g in found[:max_results]
    ]
    return paged(points, len(found) > max_results, offset)


def _shown(key: tuple[int | str, ...], q: MetricQuery) -> list[str]:
    """A group's key as MLflow shows it: the time bucket as the ISO time it starts."""
    if not q.interval_s:
        return [str(k) for k in key]
    start = datetime.fromtimestamp(int(key[0]) * q.interval_s, UTC).isoformat()
    return [start, *(str(k) for k in key[1:])]


def _values(g: store.Group, q: MetricQuery) -> dict[str, float]:
    ranks = iter(g.ranks)
    return {a.label: _aggregate(a, g, ranks) for a in q.aggregations}


def _check_query(q: MetricQuery) -> None:
    view, metric_name, aggregations = q.view, q.metric_name, q.aggregations
    dimensions, filters, interval_s = q.dimensions, q.filters, q.interval_s
    if view is not MetricView.TRACES:
        raise Invalid(f"trace metrics over {view.value} are not supported here; use TRACES")
    if metric_name not in (TRACE_COUNT, LATENCY):
        raise Invalid(
            f"trace metric {metric_name[:80]!r} is not supported here",
            hint=f"use {TRACE_COUNT} or {LATENCY}",
        )
    if not 1 <= len(aggregations) <= MAX_AGGREGATIONS:
        raise Invalid(f"give 1 to {MAX_AGGREGATIONS} aggregations, got {len(aggregations)}")
    for a in aggregations:
        if metric_name == TRACE_COUNT and a.kind is not Aggregation.COUNT:
            raise Invalid(f"{TRACE_COUNT} is aggregated by COUNT only, not {a.kind.value}")
        if (a.kind is Aggregation.PERCENTILE) != (a.percentile is not None):
            raise Invalid("a percentile value goes with the PERCENTILE aggregation, and only it")
        if a.percentile is not None and not 0 <= a.percentile <= 100:
            raise Invalid(f"a percentile is 0 to 100, got {a.percentile}")
    for d in dimensions:
        if d not in (TRACE_NAME_DIM, TRACE_STATUS_DIM):
            raise Invalid(
                f"dimension {d[:80]!r} is not supported here",
                hint=f"use {TRACE_NAME_DIM} or {TRACE_STATUS_DIM}",
            )
    if len(set(dimensions)) != len(dimensions):
        raise Invalid("a dimension is named twice")
    if len(filters) > MAX_FILTERS:
        raise Invalid(f"at most {MAX_FILTERS} filters, got {len(filters)}")
    if interval_s is not None and not 1 <= interval_s <= 366 * 86400:
        raise Invalid(f"time_interval_seconds is 1 to {366 * 86400}, got {interval_s}")


def _aggregate(a: MetricAggregation, g: store.Group, ranks: Iterator[tuple[float, float]]) -> float:
    if a.kind is Aggregation.COUNT:
        return float(g.count)
    if a.kind is Aggregation.SUM:
        return g.sum
    if a.kind is Aggregation.AVG:
        return g.sum / g.count
    if a.kind is Aggregation.MIN:
        return g.min
    if a.kind is Aggregation.MAX:
        return g.max
    return _percentile(g.count, next(ranks), a.percentile or 0.0)


def _percentile(count: int, around: tuple[float, float], p: float) -> float:
    """Interpolated between the two nearest values (as PostgreSQL's percentile_cont)."""
    at = (count - 1) * p / 100
    low, high = around
    return low + (high - low) * (at - int(at))


def correlation(
    reg: Registry,
    experiment_ids: Sequence[str],
    first: str,
    second: str,
    base: str | None,
) -> Correlation:
    """How often each filter holds among the traces (those meeting base, when given), and
    both together."""
    reg.require("viewer")
    scope = _scope(reg.workspace, experiment_ids) + _filter(base, "base_filter", reg.store.dialect)
    one = _filter(first, "filter_string1", reg.store.dialect)
    two = _filter(second, "filter_string2", reg.store.dialect)
    with reg.store.read() as conn:
        total, first_n, second_n, joint = store.counts(conn, scope, [one, two, one + two])
    return Correlation(total=total, first=first_n, second=second_n, joint=joint)


def _filter(text: str | None, name: str, dialect: str) -> list[sa.ColumnElement[bool]]:
    try:
        return conditions(text, dialect)
    except Invalid as e:
        # MLflow's clients match on its word "Invalid"
        raise Invalid(f"Invalid {name}: {e.message}", hint=e.hint) from None
