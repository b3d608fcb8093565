"""Drift of what a serving version receives: its recent logged inputs against the reference
profile stored with that version's package."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from mlpipex.domain.deployment import DriftShare, Endpoint
from mlpipex.errors import MLPipeXError, NotFound
from mlpipex.monitor import predictions, quality
from mlpipex.monitor.drift import DriftOptions, DriftResult, compute_drift
from mlpipex.service.context import Registry
from mlpipex.service.deploy import endpoints
from mlpipex.service.registry import versions

PROFILE = "reference_profile.json"


def version_profile(reg: Registry, model: str, version: int) -> dict[str, Any] | None:
    """The reference profile registered with the version (None when it has none)."""
    v = versions.get_version(reg, f"{model}/{version}")
    entry = next((f for f in v.files if f.path == PROFILE), None)
    if entry is None:
        return None
    profile: dict[str, Any] = json.loads(reg.objects.read_bytes(entry.digest))
    return profile


def serving_version(ep: Endpoint) -> int:
    """The version taking most traffic (the stable one on ties)."""
    if not ep.traffic:
        raise NotFound(f"endpoint {ep.name!r} serves nothing yet")
    best = max(ep.traffic, key=lambda t: (t.weight, t.version == ep.stable_version))
    return best.version


def _measure(
    reg: Registry, ep: Endpoint, version: int, window: int | None, since_ms: int
) -> tuple[dict[str, Any], list[Any], DriftResult]:
    """(profile, window of logged inputs, drift) of one version of the endpoint ep."""
    spec = ep.spec
    profile = version_profile(reg, ep.model, version)
    if profile is None:
        raise NotFound(
            f"{ep.model}/{version} has no reference profile",
            hint="log the model with reference_data= (mlpipex.log_model) to monitor drift",
        )
    rows = predictions.read(reg, ep.name, since_ms, version, window or spec.monitoring.window)
    current = predictions.inputs_frame(rows)
    options = DriftOptions(share=spec.monitoring.drift_share)
    return profile, current, compute_drift(profile, current, options)


def drift(
    reg: Registry,
    endpoint: str,
    version: int | None = None,
    window: int | None = None,
    since_ms: int = 0,
) -> tuple[int, DriftResult]:
    """(version, its drift) over its last ``window`` logged rows (the endpoint's setting)."""
    ep = endpoints.endpoint(reg, endpoint)
    version = version if version is not None else serving_version(ep)
    return version, _measure(reg, ep, version, window, since_ms)[2]


def drift_share(reg: Registry) -> DriftShare:
    """For rollout analysis: the share of drifted features of a version's requests to an
    endpoint of a workspace since a time (None when there is no profile or not enough data
    for a verdict)."""

    def share(endpoint: str, version: int, since_ms: int, workspace: str) -> float | None:
        try:
            _, result = drift(
                replace(reg, workspace=workspace), endpoint, version, since_ms=since_ms
            )
        except NotFound:
            return None
        return result.share if result.drifted is not None else None

    return share


def report(reg: Registry, endpoint: str, since_ms: int = 0, bucket_s: int = 60) -> str:
    """The endpoint's monitoring report (one self-contained HTML page): per serving version its
    reference versus current distributions and drift, and traffic over time."""
    from mlpipex.monitor.report import TimePoint, VersionInfo, render_report

    ep = endpoints.endpoint(reg, endpoint)
    infos, drifts, profiles, current = [], {}, {}, {}
    for t in ep.traffic:
        v = t.version
        version = versions.get_version(reg, f"{ep.model}/{v}", files=False)
        infos.append(VersionInfo(v, ep.model, version.stage, version.aliases, t.weight))
        try:
            profiles[v], current[v], drifts[v] = _measure(reg, ep, v, None, since_ms)
        except NotFound:  # a version without a reference profile: traffic only
            continue
    series = endpoints.timeseries(reg, endpoint, since_ms, bucket_s)
    points = [
        TimePoint(b.time / 1000, b.version, b.requests, b.errors, b.p50_ms, b.p99_ms)
        for b in series
    ]
    try:
        live = quality.measure(reg, endpoint, since_ms=since_ms)
    except MLPipeXError:  # labels that cannot be scored: the rest of the report still stands
        live = None
    return render_report(
        endpoint=endpoint,
        versions=infos,
        drift=drifts,
        profiles=profiles,
        current=current,
        timeseries=points,
        quality=live,
    )
