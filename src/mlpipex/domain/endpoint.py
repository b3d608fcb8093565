"""Endpoint specs (``mlpipex endpoint apply FILE.yaml``): which registry entry an endpoint
follows, or which versions it serves, and how a new version rolls out."""

from __future__ import annotations

import itertools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlpipex.domain.durations import parse_duration
from mlpipex.domain.outcome import REGISTERED_NAMES
from mlpipex.domain.refs import check_model_name
from mlpipex.domain.validation import validated
from mlpipex.errors import Invalid


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weight(_Strict):
    version: int = Field(ge=1)
    weight: int = Field(ge=0, le=100)


class Analysis(_Strict):
    """Rules each rollout step is judged by, on the new version's own requests of that step."""

    max_error_rate: float = Field(0.01, ge=0, le=1)
    max_p99_latency_ms: float | None = Field(None, gt=0)
    min_requests: int = Field(50, ge=0)
    max_drift: float | None = Field(None, ge=0, le=1)  # share of drifted features
    # Live quality the new version must reach on the step's labelled requests, and how long
    # past the interval a step waits for monitoring.quality.min_labels labels.
    min_quality: dict[str, float] | None = None
    quality_wait: str = "5m"

    @field_validator("min_quality")
    @classmethod
    def _metrics(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        unknown = sorted(set(v or ()) - set(REGISTERED_NAMES))
        if unknown:
            known = ", ".join(REGISTERED_NAMES)
            raise ValueError(f"unknown quality metric(s) {', '.join(unknown)}; known: {known}")
        return v

    @field_validator("quality_wait")
    @classmethod
    def _wait(cls, v: str) -> str:
        parse_duration(v)
        return v


class Rollout(_Strict):
    strategy: Literal["canary", "blue_green", "all_at_once"] = "canary"
    steps: list[int] = Field(default_factory=lambda: [20, 50, 100])
    interval: str = "30s"
    analysis: Analysis = Field(default_factory=Analysis)
    on_failure: Literal["rollback", "pause"] = "rollback"
    max_wait: str | None = None  # pause a step that never reaches min_requests after this long

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[int]) -> list[int]:
        if not v or v[-1] != 100 or any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError("steps must rise and end at 100, like [20, 50, 100]")
        if any(s < 0 or s > 100 for s in v):
            raise ValueError("steps are percentages from 0 to 100")
        return v

    @field_validator("interval", "max_wait")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @property
    def interval_s(self) -> float:
        return parse_duration(self.interval)

    def plan(self) -> list[int]:
        """The new version's share at each step."""
        if self.strategy == "all_at_once":
            return [100]
        if self.strategy == "blue_green":
            return [0, 100]  # warm beside the old one with no traffic, then switch all at once
        return list(self.steps)


class Shadow(_Strict):
    version: int = Field(ge=1)
    percent: int = Field(100, ge=0, le=100)


class Quality(_Strict):
    """Live quality from feedback: which metrics (``auto``: from the version's registered
    metrics, else from the labels), the window scored, and when a version alerts: a metric
    worse than its registered value by more than ``tolerance`` over at least ``min_labels``."""

    task: Literal["auto", "classification", "regression"] = "auto"
    tolerance: float = Field(0.05, ge=0)
    min_labels: int = Field(100, ge=1, le=10_000_000)
    window: str = "24h"

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        parse_duration(v)
        return v


class Monitoring(_Strict):
    drift_share: float = Field(0.5, gt=0, le=1)
    window: int = Field(1000, ge=30)
    sample_rate: float = Field(1.0, ge=0, le=1)
    quality: Quality = Field(default_factory=Quality)


# Shown by `endpoint status` and an agent's /health for an endpoint that sets resources.
RESOURCES_NOTE = (
    "replicas, autoscaling and ray_actor_options apply on agents run with --runtime ray; "
    "the local runtime serves one copy in the agent's process and ignores them"
)


class Autoscaling(_Strict):
    min_replicas: int = Field(1, ge=0, le=1000)
    max_replicas: int = Field(1, ge=1, le=1000)
    target_ongoing_requests: float = Field(2.0, gt=0, le=10_000)

    @model_validator(mode="after")
    def _range(self) -> Autoscaling:
        if self.max_replicas < self.min_replicas:
            raise ValueError("autoscaling max_replicas must be at least min_replicas")
        return self


class ActorOptions(_Strict):
    """What each replica asks the cluster for (Ray's ``ray_actor_options``)."""

    num_cpus: float | None = Field(None, ge=0, le=1024)
    num_gpus: float | None = Field(None, ge=0, le=64)
    memory: int | None = Field(None, ge=0, le=2**50)  # bytes


class EndpointSpec(_Strict):
    name: str
    model: str
    follow: str | None = None  # a stage name, or @alias
    traffic: list[Weight] | None = None
    rollout: Rollout = Field(default_factory=Rollout)
    shadow: Shadow | None = None
    sticky_header: str | None = Field(None, max_length=128)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    # Per version, on a runtime that places replicas (Ray); the local runtime ignores them.
    replicas: int | None = Field(None, ge=1, le=1000)
    autoscaling: Autoscaling | None = None
    ray_actor_options: ActorOptions | None = None

    @field_validator("name", "model")
    @classmethod
    def _names(cls, v: str) -> str:
        return check_model_name(v)

    @model_validator(mode="after")
    def _one_source(self) -> EndpointSpec:
        if self.replicas is not None and self.autoscaling is not None:
            raise ValueError("give either replicas or autoscaling, not both")
        if (self.follow is None) == (self.traffic is None):
            raise ValueError("give either follow (a stage or @alias) or a fixed traffic list")
        if self.traffic is not None:
            if sum(w.weight for w in self.traffic) != 100:
                raise ValueError("traffic weights must add up to 100")
            versions = [w.version for w in self.traffic]
            if len(set(versions)) != len(versions):
                raise ValueError("a version appears twice in traffic")
        return self

    @property
    def resources(self) -> dict[str, Any] | None:
        """The replicas and resources as the agents' desired state carries them; None when
        the spec sets none."""
        actor = self.ray_actor_options
        if self.replicas is None and self.autoscaling is None and actor is None:
            return None
        return {
            "replicas": self.replicas,
            "autoscaling": self.autoscaling.model_dump() if self.autoscaling else None,
            **(actor.model_dump() if actor else {}),
        }

    @property
    def alias(self) -> str | None:
        return self.follow[1:] if self.follow and self.follow.startswith("@") else None

    def to_json(self) -> dict[str, Any]:
        """As stored and as the audit log records it: what was given, defaults filled in."""
        return self.model_dump(mode="json", exclude_none=True)


def parse_endpoint(data: Any) -> EndpointSpec:
    if not isinstance(data, dict):
        raise Invalid("an endpoint spec is a mapping (name, model, follow or traffic, rollout)")
    return validated(EndpointSpec, data, "endpoint spec")
