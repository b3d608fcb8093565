"""Prometheus exposition of the control plane: per endpoint and version, requests, errors and a
latency histogram (from what agents reported), traffic weights, rollout state, open alerts."""

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

from mlpipex.domain.deployment import DeploymentState
from mlpipex.domain.latency import LATENCY_BUCKETS_MS
from mlpipex.monitor import alerts
from mlpipex.service.context import Registry
from mlpipex.store import deploy

STATES = (
    DeploymentState.PROGRESSING,
    DeploymentState.SUCCEEDED,
    DeploymentState.ROLLED_BACK,
    DeploymentState.PAUSED,
)


class ControlPlaneCollector(Collector):
    def __init__(self, reg: Registry) -> None:
        self.reg = reg

    def collect(self) -> Iterator[Metric]:
        labels = ["endpoint", "version"]
        requests = CounterMetricFamily(
            "mlpipex_endpoint_requests", "Requests answered", labels=labels
        )
        errors = CounterMetricFamily(
            "mlpipex_endpoint_errors",
            "Requests answered with a 5xx or a model error",
            labels=labels,
        )
        latency = HistogramMetricFamily(
            "mlpipex_endpoint_latency_ms", "Request latency in milliseconds", labels=labels
        )
        weight = GaugeMetricFamily(
            "mlpipex_endpoint_traffic_weight",
            "Percent of traffic sent to the version",
            labels=labels,
        )
        state = GaugeMetricFamily(
            "mlpipex_rollout_state",
            "1 for the state of the endpoint's latest rollout",
            labels=["endpoint", "state"],
        )
        step = GaugeMetricFamily(
            "mlpipex_rollout_weight",
            "The new version's share at the rollout's current step",
            labels=["endpoint", "version"],
        )
        with self.reg.store.read() as conn:
            for ep_name, version, req, err, _client, buckets, total_ms in deploy.totals(conn):
                lv = [ep_name, str(version)]
                requests.add_metric(lv, req)
                errors.add_metric(lv, err)
                cumulative, running = [], 0
                for bound, count in zip((*LATENCY_BUCKETS_MS, float("inf")), buckets, strict=True):
                    running += count
                    cumulative.append((_le(bound), running))
                latency.add_metric(lv, cumulative, total_ms)
            for ep in deploy.endpoints(conn):
                for w in ep.traffic:
                    weight.add_metric([ep.name, str(w.version)], w.weight)
                d = deploy.latest_deployment(conn, ep.id)
                if d is not None:
                    for s in STATES:
                        state.add_metric([ep.name, s], 1.0 if d.state == s else 0.0)
                    step.add_metric([ep.name, str(d.to_version)], d.steps[d.step])
        opened = GaugeMetricFamily(
            "mlpipex_alerts_open", "Open alerts", labels=["endpoint", "version", "kind"]
        )
        for a in alerts.open_alerts(self.reg):
            opened.add_metric([a["endpoint"], str(a["version"]), a["kind"]], 1)
        yield from (requests, errors, latency, weight, state, step, opened)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else f"{bound:g}"


def render(reg: Registry) -> bytes:
    registry = CollectorRegistry()
    registry.register(ControlPlaneCollector(reg))
    return generate_latest(registry)
