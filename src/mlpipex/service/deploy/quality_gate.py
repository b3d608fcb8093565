"""Rollout analysis on live quality (``analysis.min_quality``): the new version's metrics on
the labelled requests of the step must reach each value (stay under it for log loss, MAE and
RMSE). A step waits up to ``analysis.quality_wait`` past its interval for
``monitoring.quality.min_labels`` labels, then goes on without a verdict on quality."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from mlpipex.domain.deployment import StepVerdict
from mlpipex.domain.durations import parse_duration
from mlpipex.domain.endpoint import EndpointSpec
from mlpipex.domain.outcome import LOWER_IS_BETTER, worse_by

# (endpoint, version, since ms, workspace) -> (labelled requests, live value per metric); the
# monitor layer provides it (monitor/quality.live_quality), as it does drift.
LiveQuality = tuple[int, dict[str, float]]
QualityFn = Callable[[str, int, int, str], LiveQuality]


@dataclass(frozen=True)
class Measured:
    """What a step is judged on beyond its request counts, measured outside the write
    transaction: the share of drifted features and the live quality (None: not measured)."""

    drift: float | None
    quality: LiveQuality | None


def wanted(spec: EndpointSpec, share: int) -> bool:
    """Whether a step at this share is judged on live quality."""
    return bool(spec.rollout.analysis.min_quality) and share != 0


def judge(
    result: StepVerdict,
    spec: EndpointSpec,
    step_started_at: int,
    now: int,
    measured: LiveQuality | None,
) -> StepVerdict | None:
    """The step's result with the quality check added, or None while it waits for labels."""
    bounds = spec.rollout.analysis.min_quality
    if measured is None or not bounds or result.breached or result.weight == 0:
        return result
    labelled, live = measured
    if labelled < spec.monitoring.quality.min_labels:
        waited = now - step_started_at - spec.rollout.interval_s * 1000
        if waited < parse_duration(spec.rollout.analysis.quality_wait) * 1000:
            return None
        return replace(result, quality={"labelled": labelled, "verdict": "not enough labels"})
    breached = []
    for metric, bound in sorted(bounds.items()):
        value = live.get(metric)
        if value is None:
            breached.append(f"{metric} not measured on {labelled} labels (no scores logged?)")
        elif worse_by(metric, value, bound) > 0:
            op = ">" if metric in LOWER_IS_BETTER else "<"
            breached.append(f"live {metric} {value:.4f} {op} min_quality {bound:g}")
    return replace(
        result,
        quality={"labelled": labelled, **live},
        breached=tuple(breached),
        passed=result.passed and not breached,
    )
