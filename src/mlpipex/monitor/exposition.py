"""Prometheus exposition of the control plane, for the workspace scraped (its header): per
endpoint and version, requests, errors and a latency histogram (from what agents reported),
traffic weights, rollout state, open alerts, live quality per version (over each endpoint's
monitoring.quality.window)."""

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
from mlpipex.errors import MLPipeXError
from mlpipex.monitor import alerts, quality
from mlpipex.service.context import Registry
from mlpipex.store.deploy import endpoints as deploy
from mlpipex.store.deploy import traffic

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
            for ep_name, version, req, err, _client, buckets, total_ms in traffic.totals(
                conn, self.reg.workspace
            ):
                lv = [ep_name, str(version)]
                requests.add_metric(lv, req)
                errors.add_metric(lv, err)
                cumulative, running = [], 0
                for bound, count in zip((*LATENCY_BUCKETS_MS, float("inf")), buckets, strict=True):
                    running += count
                    cumulative.append((_le(bound), running))
                latency.add_metric(lv, cumulative, total_ms)
            eps = deploy.endpoints(conn, self.reg.workspace)
            for ep in eps:
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
            opened.add_metric([a.endpoint, str(a.version), a.kind], 1)
        yield from (requests, errors, latency, weight, state, step, opened)
        yield from self._quality([ep.name for ep in eps])

    def _quality(self, names: list[str]) -> Iterator[Metric]:
        live = GaugeMetricFamily(
            "mlpipex_live_quality",
            "Live quality metric from feedback (registered: the version's registered value)",
            labels=["endpoint", "version", "metric", "bound"],
        )
        labelled = GaugeMetricFamily(
            "mlpipex_live_quality_labelled",
            "Labelled predictions in the quality window",
            labels=["endpoint", "version"],
        )
        for name in names:
            try:
                report = quality.measure(self.reg, name)
            except MLPipeXError:  # labels that cannot be scored: nothing to export
                continue
            for v in report.versions:
                labelled.add_metric([name, str(v.version)], v.labelled)
                for metric, m in v.metrics.items():
                    lv = [name, str(v.version), metric]
                    live.add_metric([*lv, "value"], m.value)
                    live.add_metric([*lv, "ci_low"], m.ci_low)
                    live.add_metric([*lv, "ci_high"], m.ci_high)
                    if m.registered is not None:
                        live.add_metric([*lv, "registered"], m.registered)
        yield from (live, labelled)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else f"{bound:g}"


def render(reg: Registry) -> bytes:
    registry = CollectorRegistry()
    registry.register(ControlPlaneCollector(reg))
    return generate_latest(registry)
