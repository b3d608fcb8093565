"""Drift of what a serving version receives: its recent logged inputs against the reference
profile stored with that version's package."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlpipex.domain.endpoint import parse_endpoint
from mlpipex.errors import NotFound
from mlpipex.monitor import predictions
from mlpipex.monitor.drift import DriftOptions, DriftResult, compute_drift
from mlpipex.service import endpoints, versions
from mlpipex.service.context import Registry

PROFILE = "reference_profile.json"


def version_profile(reg: Registry, model: str, version: int) -> dict[str, Any] | None:
    """The reference profile registered with the version (None when it has none)."""
    v = versions.get_version(reg, f"{model}/{version}")
    entry = next((f for f in v.files if f.path == PROFILE), None)
    if entry is None:
        return None
    profile: dict[str, Any] = json.loads(reg.objects.read_bytes(entry.digest))
    return profile


def serving_version(status: dict[str, Any]) -> int:
    """The version taking most traffic (the stable one on ties)."""
    traffic = status["traffic"]
    if not traffic:
        raise NotFound(f"endpoint {status['name']!r} serves nothing yet")
    return int(
        max(traffic, key=lambda t: (t["weight"], t["version"] == status["stable_version"]))[
            "version"
        ]
    )


def drift(
    reg: Registry,
    endpoint: str,
    version: int | None = None,
    window: int | None = None,
    since_ms: int = 0,
) -> tuple[int, DriftResult]:
    """(version, its drift) over its last ``window`` logged rows (the endpoint's setting)."""
    status = endpoints.get_status(reg, endpoint)
    spec = parse_endpoint(_spec(reg, endpoint))
    version = version if version is not None else serving_version(status)
    profile = version_profile(reg, status["model"], version)
    if profile is None:
        raise NotFound(
            f"{status['model']}/{version} has no reference profile",
            hint="log the model with reference_data= (mlpipex.log_model) to monitor drift",
        )
    rows = predictions.read(reg, endpoint, since_ms, version, window or spec.monitoring.window)
    options = DriftOptions(share=spec.monitoring.drift_share)
    return version, compute_drift(profile, predictions.inputs_frame(rows), options)


def _spec(reg: Registry, endpoint: str) -> dict[str, Any]:
    from mlpipex.store import deploy

    with reg.store.read() as conn:
        row = deploy.endpoint_row(conn, endpoint)
    if row is None:
        raise NotFound(f"endpoint {endpoint!r} does not exist")
    spec: dict[str, Any] = row.spec
    return spec


def drift_share(reg: Registry) -> Callable[[str, int, int], float | None]:
    """For rollout analysis: the share of drifted features of a version's requests since a time
    (None when there is no profile or not enough data for a verdict)."""

    def share(endpoint: str, version: int, since_ms: int) -> float | None:
        try:
            _, result = drift(reg, endpoint, version, since_ms=since_ms)
        except NotFound:
            return None
        return result.share if result.drifted is not None else None

    return share


def report(reg: Registry, endpoint: str, since_ms: int = 0, bucket_s: int = 60) -> str:
    """The endpoint's monitoring report (one self-contained HTML page): per serving version its
    reference versus current distributions and drift, and traffic over time."""
    from mlpipex.monitor.report import VersionInfo, render_report

    status = endpoints.get_status(reg, endpoint)
    infos, drifts, profiles, current = [], {}, {}, {}
    for t in status["traffic"]:
        v = t["version"]
        version = versions.get_version(reg, f"{status['model']}/{v}")
        infos.append(VersionInfo(v, status["model"], version.stage, version.aliases, t["weight"]))
        profile = version_profile(reg, status["model"], v)
        if profile is None:
            continue
        profiles[v] = profile
        _, drifts[v] = drift(reg, endpoint, v)
        rows = predictions.read(
            reg, endpoint, since_ms, v, parse_endpoint(_spec(reg, endpoint)).monitoring.window
        )
        current[v] = predictions.inputs_frame(rows)
    series = endpoints.timeseries(reg, endpoint, since_ms, bucket_s)
    points = [{**p, "time": p["time"] / 1000} for p in series]
    return render_report(
        endpoint=endpoint,
        versions=infos,
        drift=drifts,
        profiles=profiles,
        current=current,
        timeseries=points,
    )
