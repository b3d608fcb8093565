"""Alerts: drift, error-rate, latency and live-quality findings about the versions serving an
endpoint, as
events tied to (endpoint, version), one per episode: raised when a finding starts, cleared when
it ends (and sent to webhooks like every event)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from mlpipex.domain import events as ev
from mlpipex.domain.deployment import Endpoint
from mlpipex.domain.latency import quantile
from mlpipex.errors import MLPipeXError, NotFound
from mlpipex.monitor import quality, serving
from mlpipex.service.context import Registry
from mlpipex.store.deploy import alerts as store
from mlpipex.store.deploy import endpoints as deploy
from mlpipex.store.deploy import traffic
from mlpipex.store.deploy.alerts import Alert

WINDOW_MS = 5 * 60_000
MONITOR = "mlpipex-monitor"  # who raises and clears alerts in the audit log
log = logging.getLogger("mlpipex.alerts")


def open_alerts(reg: Registry, endpoint: str | None = None) -> list[Alert]:
    with reg.store.read() as conn:
        return store.open_alerts(conn, reg.workspace, endpoint)


def quality_findings(reg: Registry, ep: Endpoint) -> dict[int, dict[str, Any] | None]:
    """Per version with live quality: the quality finding (None: within tolerance, or too few
    labels to say). One join over the endpoint's window serves every version."""
    rules = ep.spec.monitoring.quality
    try:
        report = quality.measure(reg, ep.name)
    except MLPipeXError:  # labels that cannot be scored: no verdict
        return {}
    return {
        v.version: quality.breaches(v, rules.tolerance, rules.min_labels) for v in report.versions
    }


def findings(
    reg: Registry, ep: Endpoint, version: int, now: int
) -> dict[str, dict[str, Any] | None]:
    """Per kind: the finding's details when it holds, None when it does not, absent when unknown."""
    spec = ep.spec
    rules = spec.rollout.analysis
    out: dict[str, dict[str, Any] | None] = {}
    with reg.store.read() as conn:
        requests, errors, _, buckets = traffic.window(
            conn, ep.workspace, ep.name, version, now - WINDOW_MS, now
        )
    if requests >= max(rules.min_requests, 1):
        rate = errors / requests
        out["error_rate"] = (
            {"error_rate": rate, "max_error_rate": rules.max_error_rate, "requests": requests}
            if rate > rules.max_error_rate
            else None
        )
        if rules.max_p99_latency_ms is not None:
            p99 = quantile(buckets, 0.99)
            out["latency"] = (
                {"p99_latency_ms": p99, "max": rules.max_p99_latency_ms}
                if p99 > rules.max_p99_latency_ms
                else None
            )
    try:
        _, result = serving.drift(reg, ep.name, version)
    except NotFound:
        return out
    if result.drifted is not None:
        out["drift"] = (
            {"share": result.share, "features": result.drifted_features} if result.drifted else None
        )
    return out


def evaluate(reg: Registry) -> int:
    """One pass over the serving versions of every endpoint of every workspace, each judged and
    recorded in its own workspace; returns how many alerts changed."""
    now = reg.clock()
    changed = 0
    with reg.store.read() as conn:
        eps = deploy.every_endpoint(conn)
    for ep in eps:
        try:
            changed += _evaluate(replace(reg, workspace=ep.workspace), ep, now)
        except Exception:  # one endpoint's failure must not silence the others' alerts
            log.exception("alerts for endpoint %s failed", ep.name)
    return changed


def _evaluate(reg: Registry, ep: Endpoint, now: int) -> int:
    changed = 0
    live = quality_findings(reg, ep)
    for w in ep.traffic:
        if w.weight == 0:
            continue
        found = findings(reg, ep, w.version, now)
        if w.version in live:
            found["quality"] = live[w.version]
        for kind, finding in found.items():
            changed += _record(reg, ep, w.version, kind, finding, now)
    return changed


def _record(
    reg: Registry, ep: Endpoint, version: int, kind: str, finding: dict[str, Any] | None, now: int
) -> int:
    with reg.store.write() as conn:
        current = store.open_alert(conn, ep.workspace, ep.name, version, kind)
        if finding is not None and current is None:
            store.raise_alert(conn, ep.workspace, ep.name, version, kind, finding, now)
            reg.record(
                conn,
                time=now,
                actor=MONITOR,
                kind=ev.ALERT_RAISED,
                model=ep.model,
                version=version,
                reason=f"{kind} on {ep.name}",
                payload={"endpoint": ep.name, "alert": kind, "details": finding},
            )
            return 1
        if finding is None and current is not None:
            store.close_alert(conn, current.id, now)
            reg.record(
                conn,
                time=now,
                actor=MONITOR,
                kind=ev.ALERT_CLEARED,
                model=ep.model,
                version=version,
                reason=f"{kind} on {ep.name} ended",
                payload={"endpoint": ep.name, "alert": kind},
            )
            return 1
    return 0
