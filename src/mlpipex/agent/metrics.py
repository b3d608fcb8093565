"""Prometheus exposition of an agent: per endpoint and version it serves, requests, errors and
a latency histogram (its own counters since it started), and the traffic weights."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from mlpipex.agent.table import Table


class AgentCollector(Collector):
    def __init__(self, table: Table) -> None:
        self.table = table

    def collect(self) -> Iterator[Metric]:
        labels = ["endpoint", "version"]
        requests = CounterMetricFamily("mlpipex_agent_requests", "Requests answered", labels=labels)
        errors = CounterMetricFamily(
            "mlpipex_agent_errors", "Requests answered with a 5xx or a model error", labels=labels
        )
        latency = HistogramMetricFamily(
            "mlpipex_agent_latency_ms", "Request latency in milliseconds", labels=labels
        )
        weight = GaugeMetricFamily(
            "mlpipex_agent_traffic_weight",
            "Percent of the endpoint's traffic sent to the version",
            labels=labels,
        )
        for name, endpoint in self.table.endpoints.items():
            shares = endpoint.split.shares() if endpoint.split else {}
            for number, live in endpoint.versions.items():
                lv = [name, str(number)]
                m = live.metrics
                requests.add_metric(lv, m.requests)
                errors.add_metric(lv, m.server_errors)
                buckets, running = [], 0
                bounds = (*m.latency.bounds, float("inf"))
                for bound, count in zip(bounds, m.latency.counts, strict=True):
                    running += count
                    buckets.append(("+Inf" if bound == float("inf") else f"{bound:g}", running))
                latency.add_metric(lv, buckets, m.latency.total_ms)
                weight.add_metric(lv, round(shares.get(live, 0.0), 6))
        yield from (requests, errors, latency, weight)


def render(table: Table) -> bytes:
    registry = CollectorRegistry()
    registry.register(AgentCollector(table))
    return generate_latest(registry)
