"""The endpoint pages: an endpoint's traffic split, its latest rollout step by step, request
rates, errors and latency per version over the last hour, and its open drift alerts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from mlpipex.domain.deployment import Deployment, EndpointStatus, StepVerdict, TrafficBucket
from mlpipex.domain.outcome import CLASSIFICATION, REGRESSION
from mlpipex.errors import MLPipeXError
from mlpipex.monitor import alerts, quality
from mlpipex.monitor.predictions import HOUR_MS
from mlpipex.monitor.quality import QualityReport
from mlpipex.server.deps import RegistryDep
from mlpipex.server.ui import render
from mlpipex.server.ui.charts import Line, line_chart
from mlpipex.service.context import Registry
from mlpipex.service.deploy import endpoints

router = APIRouter(include_in_schema=False)

HISTORY_MS = 3600 * 1000
QUALITY_HISTORY_MS = 24 * 3600 * 1000
BUCKET_S = 10


@dataclass(frozen=True)
class Check:
    name: str
    value: float | None
    threshold: str
    passed: bool | None


@dataclass(frozen=True)
class Step:
    percent: float
    state: str
    analysis: list[Check]


@dataclass(frozen=True)
class Rollout:
    state: str
    from_traffic: dict[int, float]
    to_traffic: dict[int, float]
    steps: list[Step]


@dataclass(frozen=True)
class Sample:
    time: int
    version: int
    requests_per_s: float
    error_rate: float
    p50_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class EndpointView:
    name: str
    follows: str
    traffic: dict[int, float]
    rollout: Rollout | None
    samples: list[Sample] = field(default_factory=list)
    drift: dict[int, str] = field(default_factory=dict)


def _rollout(d: Deployment) -> Rollout:
    """A deployment (weights per step, the step under way, one verdict per step judged) as the
    rollout the template shows."""
    judged = {v.step: v for v in d.analysis}
    steps = []
    for i, weight in enumerate(d.steps):
        verdict = judged.get(i)
        if verdict is not None:
            state = "passed" if verdict.passed else "failed"
        elif i == d.step and d.state.active:
            state = str(d.state)
        else:
            state = "pending"
        steps.append(Step(float(weight), state, _checks(verdict) if verdict else []))
    old, new = d.from_version, d.to_version
    return Rollout(str(d.state), {old: 100.0} if old is not None else {}, {new: 100.0}, steps)


def _checks(v: StepVerdict) -> list[Check]:
    breached = "; ".join(v.breached)
    measured = {
        "requests": float(v.requests),
        "error_rate": v.error_rate,
        "p99_latency_ms": v.p99_latency_ms,
        "drift": v.drift,
    }
    return [Check(k, x, breached, v.passed) for k, x in measured.items() if x is not None]


def _follows(s: EndpointStatus) -> str:
    if s.follow is None:
        return "fixed traffic"
    return f"{s.model}{s.follow}" if s.follow.startswith("@") else f"{s.model}:{s.follow}"


def _drift(reg: Registry, name: str) -> dict[int, str]:
    """Per version, its open drift alert."""
    out = {}
    for a in alerts.open_alerts(reg, name):
        if a.kind == "drift":
            d = a.details or {}
            features = ", ".join(d.get("features") or [])
            out[a.version] = f"drift in {d.get('share', 0):.0%} of features: {features}"
    return out


def status(reg: Registry, name: str) -> EndpointView:
    """The endpoint's status with its request rates over the last hour."""
    s = endpoints.get_status(reg, name)
    since = reg.clock() - HISTORY_MS
    return EndpointView(
        s.name,
        _follows(s),
        {t.version: float(t.weight) for t in s.traffic},
        _rollout(s.deployment) if s.deployment else None,
        [_sample(b) for b in endpoints.timeseries(reg, name, since, BUCKET_S)],
        _drift(reg, name),
    )


def _sample(b: TrafficBucket) -> Sample:
    """A bucket of counts (requests, errors) as rates."""
    return Sample(
        b.time,
        b.version,
        b.requests / BUCKET_S,
        b.errors / b.requests if b.requests else 0.0,
        b.p50_ms,
        b.p99_ms,
    )


def names(reg: Registry) -> list[str]:
    return [s.name for s in endpoints.list_endpoints(reg)]


def charts(samples: list[Sample]) -> list[Markup]:
    """Request rate, error rate and latency per version over time."""
    if not samples:
        return []
    t0 = min(s.time for s in samples)
    by_version: dict[int, list[Sample]] = {}
    for s in sorted(samples, key=lambda s: s.time):
        by_version.setdefault(s.version, []).append(s)

    def lines(y: Callable[[Sample], float | None], suffix: str = "") -> list[Line]:
        return [
            Line(
                f"v{v}{suffix}",
                [((s.time - t0) / 1000, value) for s in ss if (value := y(s)) is not None],
            )
            for v, ss in sorted(by_version.items())
        ]

    x = "seconds"
    return [
        line_chart(
            lines(lambda s: s.requests_per_s), title="requests/s", x_label=x, from_zero=True
        ),
        line_chart(
            lines(lambda s: 100 * s.error_rate), title="error rate %", x_label=x, from_zero=True
        ),
        line_chart(
            lines(lambda s: s.p50_ms, " p50") + lines(lambda s: s.p99_ms, " p99"),
            title="latency ms",
            x_label=x,
            from_zero=True,
        ),
    ]


def live_quality(reg: Registry, name: str) -> tuple[QualityReport | None, list[Markup]]:
    """Per version: live metrics beside registered ones, and the first metric over the last
    day by hour of prediction (registered values as flat lines). Nothing when the endpoint has
    no labels that can be scored."""
    try:
        report = quality.measure(reg, name)
        points = quality.series(reg, name, reg.clock() - QUALITY_HISTORY_MS, HOUR_MS)
    except MLPipeXError:
        return None, []
    names = [m for m in (*CLASSIFICATION, *REGRESSION) if any(m in p.metrics for p in points)]
    if not names:
        return report, []
    metric, t0 = names[0], min(p.time for p in points)
    lines, registered = [], {}
    for v in sorted({p.version for p in points}):
        mine = [p for p in points if p.version == v and metric in p.metrics]
        lines.append(
            Line(f"v{v}", [((p.time - t0) / HOUR_MS, p.metrics[metric].value) for p in mine])
        )
        value = mine[0].metrics[metric].registered if mine else None
        if value is not None:
            registered[v] = value
    end = max((p.time - t0) / HOUR_MS for p in points)
    for v, value in sorted(registered.items()):
        lines.append(Line(f"v{v} registered", [(0.0, value), (end, value)]))
    return report, [line_chart(lines, title=f"live {metric}", x_label="hours")]


@router.get("/ui/endpoints", response_class=HTMLResponse)
def endpoints_page(request: Request, reg: RegistryDep) -> HTMLResponse:
    return render.page(request, "endpoints.html", names=names(reg))


@router.get("/ui/endpoints/{name}", response_class=HTMLResponse)
def endpoint_page(request: Request, reg: RegistryDep, name: str) -> HTMLResponse:
    found = status(reg, name)
    report, quality_charts = live_quality(reg, name)
    return render.page(
        request,
        "endpoint.html",
        name=name,
        ep=found,
        charts=charts(found.samples),
        quality=report,
        quality_charts=quality_charts,
    )
