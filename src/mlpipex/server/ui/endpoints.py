"""The endpoint pages, behind a small interface until the endpoints service lands.

The UI asks ``mlpipex.service.endpoints`` (when that module exists) for:

    list_endpoints(reg) -> iterable of objects with ``name``          (optional)
    get_status(reg, name) -> object or mapping with:
        name: str
        follows: str                  what it tracks: "fraud:Production", "fraud@champion"...
        traffic: {version: percent}   the split in force
        rollout: None or {state, from_traffic, to_traffic, steps: [
                     {percent, state, analysis: [{name, value, threshold, passed}]}]}
        samples: [{time (ms), version, requests_per_s, error_rate (0..1), p50_ms, p99_ms}]
        drift: {version: status}      e.g. "ok", "drift in 3 of 25 features"

Attributes or mapping keys both work, so the service may return dataclasses or plain dicts.
The endpoints service's own shapes are read too: ``traffic`` as [{version, weight}], a
``deployment`` record (weights per step, one analysis result per step done) in place of
``rollout``, and ``timeseries(reg, name, since_ms, bucket_s)`` when the status has no samples.
Without the module the pages say there are no endpoints yet.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from mlpipex.domain.outcome import CLASSIFICATION, REGRESSION
from mlpipex.errors import MLPipeXError
from mlpipex.monitor import quality
from mlpipex.monitor.predictions import HOUR_MS
from mlpipex.monitor.quality import QualityReport
from mlpipex.server.deps import RegistryDep
from mlpipex.server.ui import render
from mlpipex.server.ui.charts import Line, line_chart
from mlpipex.service.context import Registry

router = APIRouter(include_in_schema=False)

SERVICE = "mlpipex.service.endpoints"
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


def _service() -> ModuleType | None:
    try:
        return importlib.import_module(SERVICE)
    except ModuleNotFoundError as exc:
        if exc.name == SERVICE:
            return None
        raise


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _split(raw: Any) -> dict[int, float]:
    """A split as {version: percent}, or as [{version, weight}] (the endpoint spec's form)."""
    if isinstance(raw, list):
        return {int(_get(w, "version")): float(_get(w, "weight", 0)) for w in raw}
    return {int(k): float(v) for k, v in dict(raw or {}).items()}


def _from_deployment(d: Any) -> Rollout:
    """A deployment record (state, from/to version, weights per step, the index of the step
    under way, one analysis result per step done) as the rollout the template shows."""
    weights = list(_get(d, "steps", None) or [])
    done = {int(_get(a, "step", i)): a for i, a in enumerate(_get(d, "analysis", None) or [])}
    current, state = int(_get(d, "step", 0) or 0), str(_get(d, "state", ""))
    steps = []
    for i, weight in enumerate(weights):
        a = done.get(i)
        if a is not None:
            step_state = "passed" if _get(a, "passed") else "failed"
        elif i == current and state not in ("succeeded", "rolled_back", "failed"):
            step_state = state or "running"
        else:
            step_state = "pending"
        checks = []
        if a is not None:
            breached = "; ".join(_get(a, "breached", None) or [])
            for key in ("requests", "error_rate", "p99_latency_ms", "drift"):
                if _get(a, key) is not None:
                    checks.append(Check(key, _opt(_get(a, key)), breached, _get(a, "passed")))
        steps.append(Step(float(weight), step_state, checks))
    old, new = _get(d, "from_version"), _get(d, "to_version")
    return Rollout(
        state,
        {int(old): 100.0} if old is not None else {},
        {int(new): 100.0} if new is not None else {},
        steps,
    )


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


def view(raw: Any) -> EndpointView:
    """The service's status, in the shape the template reads."""
    ro = _get(raw, "rollout")
    rollout = None
    if _get(raw, "deployment") is not None:
        rollout = _from_deployment(_get(raw, "deployment"))
    elif ro is not None:
        steps = [
            Step(
                float(_get(s, "percent", 0)),
                str(_get(s, "state", "")),
                [
                    Check(
                        str(_get(c, "name", "")),
                        _opt(_get(c, "value")),
                        str(_get(c, "threshold", "")),
                        _get(c, "passed"),
                    )
                    for c in _get(s, "analysis", None) or []
                ],
            )
            for s in _get(ro, "steps", None) or []
        ]
        rollout = Rollout(
            str(_get(ro, "state", "")),
            _split(_get(ro, "from_traffic")),
            _split(_get(ro, "to_traffic")),
            steps,
        )
    samples = [
        Sample(
            int(_get(s, "time", 0)),
            int(_get(s, "version", 0)),
            float(_get(s, "requests_per_s", 0.0)),
            float(_get(s, "error_rate", 0.0)),
            _opt(_get(s, "p50_ms")),
            _opt(_get(s, "p99_ms")),
        )
        for s in _get(raw, "samples", None) or []
    ]
    drift = {int(k): str(v) for k, v in dict(_get(raw, "drift", None) or {}).items()}
    return EndpointView(
        str(_get(raw, "name", "")),
        str(_get(raw, "follows", None) or _follows(_get(raw, "follow"), _get(raw, "model"))),
        _split(_get(raw, "traffic")),
        rollout,
        samples,
        drift,
    )


def _follows(follow: Any, model: Any) -> str:
    if isinstance(follow, Mapping):
        return ", ".join(f"{k} {v}" for k, v in follow.items())
    return f"{model}:{follow}" if model and follow else str(follow or model or "")


def status(reg: Registry, name: str) -> EndpointView | None:
    """The endpoint's status, or None while there is no endpoints service. Request rates come
    from ``samples`` in the status, or else from the service's ``timeseries`` (last hour)."""
    svc = _service()
    if svc is None:
        return None
    found = view(svc.get_status(reg, name))
    if found.samples or not hasattr(svc, "timeseries"):
        return found
    since = reg.clock() - HISTORY_MS
    samples = [_sample(s) for s in svc.timeseries(reg, name, since, BUCKET_S)]
    return replace(found, samples=samples)


def _sample(s: Any) -> Sample:
    """A bucket of counts (requests, errors) as rates."""
    requests = float(_get(s, "requests", 0) or 0)
    return Sample(
        int(_get(s, "time", 0)),
        int(_get(s, "version", 0)),
        requests / BUCKET_S,
        float(_get(s, "errors", 0) or 0) / requests if requests else 0.0,
        _opt(_get(s, "p50_ms")),
        _opt(_get(s, "p99_ms")),
    )


def names(reg: Registry) -> list[str]:
    svc = _service()
    if svc is None or not hasattr(svc, "list_endpoints"):
        return []
    found: Iterable[Any] = svc.list_endpoints(reg)
    return [str(_get(e, "name", e)) for e in found]


def charts(samples: list[Sample]) -> list[Markup]:
    """Request rate, error rate and latency per version over time."""
    if not samples:
        return []
    t0 = min(s.time for s in samples)
    by_version: dict[int, list[Sample]] = {}
    for s in sorted(samples, key=lambda s: s.time):
        by_version.setdefault(s.version, []).append(s)

    def lines(y: Any, suffix: str = "") -> list[Line]:
        return [
            Line(
                f"v{v}{suffix}",
                [((s.time - t0) / 1000, y(s)) for s in ss if y(s) is not None],
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
    return render.page(request, "endpoints.html", names=names(reg), service=_service() is not None)


@router.get("/ui/endpoints/{name}", response_class=HTMLResponse)
def endpoint_page(request: Request, reg: RegistryDep, name: str) -> HTMLResponse:
    found = status(reg, name)
    report, quality_charts = live_quality(reg, name) if found else (None, [])
    return render.page(
        request,
        "endpoint.html",
        name=name,
        ep=found,
        charts=charts(found.samples) if found else [],
        quality=report,
        quality_charts=quality_charts,
    )
