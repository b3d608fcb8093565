"""Trace analytics on both databases: metrics grouped by status, name and hour, each aggregation
and page as MLflow answers them; the correlation of two filters; each one statement."""

from __future__ import annotations

import pytest

from mlpipex.client import Client
from mlpipex.domain.traces import (
    Aggregation,
    MetricAggregation,
    MetricPoint,
    MetricQuery,
    MetricView,
    TraceInfo,
    TraceState,
)
from mlpipex.service.context import Registry
from mlpipex.service.tracking import trace_analytics, traces
from tests.conftest import statements_sent

pytestmark = pytest.mark.direct  # counts the statements sent to the database

HOUR = 1_699_999_200_000  # the start of an hour, in ms
OK, ERROR = TraceState.OK, TraceState.ERROR
# name (None: no name tag), state, duration (ms), ms after HOUR, env tag
TRACES = [
    ("a", OK, 10, 1, "prod"),
    ("a", OK, 20, 2, "prod"),
    ("a", OK, 40, 3_600_000 + 5, None),  # the next hour
    ("B", ERROR, 7, 4, "prod"),
    ("b", OK, None, 6, None),
    (None, OK, 100, 7, None),
    ("a", ERROR, 30, 8, None),
]


@pytest.fixture
def seeded(client: Client) -> tuple[Registry, str]:
    reg, eid = client.registry, client.create_experiment("analysed")
    for i, (name, state, duration, after, env) in enumerate(TRACES):
        tags = {**({traces.TRACE_NAME: name} if name else {}), **({"env": env} if env else {})}
        info = TraceInfo(f"tr-{i:032x}", eid, HOUR + after, duration, state, tags=tags)
        traces.start_trace(reg, info, "mlflow-artifacts:/traces")
    return reg, eid


def _query(eid: str, metric: str, *aggs: MetricAggregation, **kw: object) -> MetricQuery:
    return MetricQuery((eid,), MetricView.TRACES, metric, aggs, **kw)  # type: ignore[arg-type]


COUNT = MetricAggregation(Aggregation.COUNT)


def _points(page: list[MetricPoint]) -> list[tuple[dict[str, str], dict[str, float]]]:
    return [(dict(p.dimensions), dict(p.values)) for p in page]


def test_counts_by_status_and_name_in_code_point_order_a_page_at_a_time(
    seeded: tuple[Registry, str],
) -> None:
    reg, eid = seeded
    q = _query(eid, "trace_count", COUNT, dimensions=("trace_status", "trace_name"))
    with statements_sent(reg.store.engine) as statements:
        first = trace_analytics.query_metrics(reg, q, 3, None)
    (read,) = [s for s in statements if "mlflow_traces" in s]
    assert "GROUP BY" in read and "LIMIT" in read  # groups and pages made by the database
    assert _points(first.items) == [
        ({"trace_status": "ERROR", "trace_name": "B"}, {"COUNT": 1.0}),
        ({"trace_status": "ERROR", "trace_name": "a"}, {"COUNT": 1.0}),
        ({"trace_status": "OK", "trace_name": "a"}, {"COUNT": 3.0}),
    ]  # the trace without a name is in no group
    assert first.next_token is not None
    rest = trace_analytics.query_metrics(reg, q, 3, first.next_token)
    assert _points(rest.items) == [({"trace_status": "OK", "trace_name": "b"}, {"COUNT": 1.0})]
    assert rest.next_token is None


def test_latency_aggregations_by_name(seeded: tuple[Registry, str]) -> None:
    reg, eid = seeded
    aggs = [MetricAggregation(Aggregation(k)) for k in ("COUNT", "SUM", "AVG", "MIN", "MAX")]
    aggs += [MetricAggregation(Aggregation.PERCENTILE, p) for p in (0.0, 50.0, 90.0, 100.0)]
    q = _query(eid, "latency", *aggs, dimensions=("trace_name",))
    got = _points(trace_analytics.query_metrics(reg, q, 10, None).items)
    # "b" has no duration: no group; "a" is 10, 20, 30, 40
    assert [d for d, _ in got] == [{"trace_name": "B"}, {"trace_name": "a"}]
    b, a = (v for _, v in got)
    assert b == {"COUNT": 1.0} | {
        k: 7.0 for k in ("SUM", "AVG", "MIN", "MAX", "P0.0", "P50.0", "P90.0", "P100.0")
    }
    assert {k: a[k] for k in ("COUNT", "SUM", "AVG", "MIN", "MAX", "P0.0", "P100.0")} == {
        "COUNT": 4.0,
        "SUM": 100.0,
        "AVG": 25.0,
        "MIN": 10.0,
        "MAX": 40.0,
        "P0.0": 10.0,
        "P100.0": 40.0,
    }
    assert a["P50.0"] == pytest.approx(25.0) and a["P90.0"] == pytest.approx(37.0)


def test_counts_by_hour_within_a_time_range_and_filter(seeded: tuple[Registry, str]) -> None:
    reg, eid = seeded
    q = _query(eid, "trace_count", COUNT, interval_s=3600)
    assert _points(trace_analytics.query_metrics(reg, q, 10, None).items) == [
        ({"time_bucket": "2023-11-14T22:00:00+00:00"}, {"COUNT": 6.0}),
        ({"time_bucket": "2023-11-14T23:00:00+00:00"}, {"COUNT": 1.0}),
    ]
    q = _query(
        eid,
        "trace_count",
        COUNT,
        dimensions=("trace_status",),
        filters=("trace.status = 'OK'",),
        start_ms=HOUR + 2,
        end_ms=HOUR + 3_600_000 + 5,
    )
    got = _points(trace_analytics.query_metrics(reg, q, 10, None).items)
    assert got == [({"trace_status": "OK"}, {"COUNT": 3.0})]  # 2, 6 and 7 ms after the hour


def test_correlation_is_one_statement(seeded: tuple[Registry, str]) -> None:
    reg, eid = seeded
    ok, prod = "trace.status = 'OK'", "tags.env = 'prod'"
    with statements_sent(reg.store.engine) as statements:
        c = trace_analytics.correlation(reg, [eid], ok, prod, None)
    assert len([s for s in statements if "mlflow_traces" in s]) == 1, statements
    assert (c.total, c.first, c.second, c.joint) == (7, 5, 3, 2)
    c = trace_analytics.correlation(reg, [eid], ok, prod, ok)
    assert (c.total, c.first, c.second, c.joint) == (5, 5, 2, 2)
    c = trace_analytics.correlation(reg, [eid], prod, "tags.env = 'dev'", None)
    assert (c.total, c.first, c.second, c.joint) == (7, 3, 0, 0)


def test_one_group_of_all_or_none(seeded: tuple[Registry, str], client: Client) -> None:
    reg, eid = seeded
    p50 = MetricAggregation(Aggregation.PERCENTILE, 50.0)
    got = trace_analytics.query_metrics(reg, _query(eid, "latency", COUNT, p50), 10, None)
    assert _points(got.items) == [({}, {"COUNT": 6.0, "P50.0": 25.0})]  # 7 10 20 30 40 100
    empty = client.create_experiment("quiet")
    for metric in ("latency", "trace_count"):
        got = trace_analytics.query_metrics(reg, _query(empty, metric, COUNT), 10, None)
        assert got.items == [] and got.next_token is None
