"""Deployment records as they cross the layers: an endpoint, a rollout (deployment) with one
verdict per step judged, how to revert the registry change that started it, and an endpoint's
status. Each has the JSON form the HTTP API sends (``to_json``) and reads back (``from_json``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from mlpipex.domain.endpoint import ActorOptions, Autoscaling, EndpointSpec, Rollout, Shadow
from mlpipex.domain.workspaces import DEFAULT_WORKSPACE


class _Record:
    """A flat record's JSON: its fields in order, tuples as lists."""

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items()}


class DeploymentState(StrEnum):
    PROGRESSING = "progressing"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    ROLLED_BACK = "rolled_back"

    @property
    def active(self) -> bool:
        """Under way: the controller (progressing) or a person (paused) has more to do."""
        return self in (DeploymentState.PROGRESSING, DeploymentState.PAUSED)


class Strategy(StrEnum):
    CANARY = "canary"
    BLUE_GREEN = "blue_green"
    ALL_AT_ONCE = "all_at_once"
    FIRST = "first"  # nothing served yet: straight to 100%


class RevertKind(StrEnum):
    STAGE = "stage"
    ALIAS = "alias"


class DriftShare(Protocol):
    """The share of drifted features of a version's requests to an endpoint (of a workspace:
    the controller serves them all) since a time, or None when there is no verdict (no
    reference profile, not enough data)."""

    def __call__(
        self, endpoint: str, version: int, since_ms: int, workspace: str
    ) -> float | None: ...


@dataclass(frozen=True)
class Share(_Record):
    """One version's weight (percent) in an endpoint's traffic."""

    version: int
    weight: int

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Share:
        return cls(int(d["version"]), int(d["weight"]))


@dataclass(frozen=True)
class Revert(_Record):
    """How to undo the registry change that started a rollout: a stage (the failed version goes
    back to the stage it came from) or an alias."""

    kind: RevertKind
    target: str  # the stage or the alias
    failed_from: str | None = None  # the stage the new version came from

    @classmethod
    def of_stage(cls, stage: str, failed_from: str) -> Revert:
        return cls(RevertKind.STAGE, stage, failed_from)

    @classmethod
    def of_alias(cls, alias: str) -> Revert:
        return cls(RevertKind.ALIAS, alias)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Revert:
        return cls(RevertKind(d["kind"]), str(d["target"]), d.get("failed_from"))


@dataclass(frozen=True)
class StepVerdict(_Record):
    """A rollout step judged on the new version's own requests in ``window``."""

    step: int
    weight: int
    requests: int
    errors: int
    error_rate: float
    p99_latency_ms: float
    drift: float | None
    breached: tuple[str, ...]
    enough_data: bool
    passed: bool
    window: tuple[int, int]
    # live quality of the step's labelled requests, when min_quality asked for it
    quality: Mapping[str, float | int | str] | None = None

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if self.quality is None:  # the JSON of steps judged without min_quality is unchanged
            del out["quality"]
        else:
            out["quality"] = dict(self.quality)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> StepVerdict:
        start, end = d["window"]
        return cls(
            step=int(d["step"]),
            weight=int(d["weight"]),
            requests=int(d["requests"]),
            errors=int(d["errors"]),
            error_rate=d["error_rate"],
            p99_latency_ms=d["p99_latency_ms"],
            drift=d.get("drift"),
            breached=tuple(d["breached"]),
            enough_data=bool(d["enough_data"]),
            passed=bool(d["passed"]),
            window=(int(start), int(end)),
            quality=d.get("quality"),
        )


@dataclass(frozen=True)
class Deployment:
    """One rollout of an endpoint from the version serving to a new one, step by step."""

    id: int
    endpoint_id: int
    from_version: int | None
    to_version: int
    strategy: Strategy
    steps: tuple[int, ...]  # the new version's share at each step
    step: int  # index into steps
    state: DeploymentState
    analysis: tuple[StepVerdict, ...]  # one per step judged
    revert: Revert | None
    reason: str
    step_started_at: int
    started_at: int
    finished_at: int | None

    @property
    def weight(self) -> int | None:
        return self.steps[self.step] if self.steps else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": str(self.state),
            "strategy": str(self.strategy),
            "from_version": self.from_version,
            "to_version": self.to_version,
            "step": self.step,
            "steps": list(self.steps),
            "weight": self.weight,
            "analysis": [a.to_json() for a in self.analysis],
            "reason": self.reason,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any], endpoint_id: int = 0) -> Deployment:
        """What the API sends (it leaves out the endpoint's id, the revert and the step's start,
        which only the control plane uses)."""
        return cls(
            id=int(d["id"]),
            endpoint_id=endpoint_id,
            from_version=d["from_version"],
            to_version=int(d["to_version"]),
            strategy=Strategy(d["strategy"]),
            steps=tuple(d["steps"]),
            step=int(d["step"]),
            state=DeploymentState(d["state"]),
            analysis=tuple(StepVerdict.from_json(a) for a in d["analysis"]),
            revert=None,
            reason=str(d["reason"]),
            step_started_at=0,
            started_at=int(d["started_at"]),
            finished_at=d["finished_at"],
        )


@dataclass(frozen=True)
class Endpoint:
    """A named serving target: its spec, the traffic in force and the version that is stable."""

    id: int
    name: str
    model: str
    spec: EndpointSpec
    traffic: tuple[Share, ...]
    stable_version: int | None
    created_by: str
    created_at: int
    updated_at: int
    workspace: str = DEFAULT_WORKSPACE


@dataclass(frozen=True)
class VersionStats(_Record):
    """One version's requests to an endpoint over the last minute."""

    requests_1m: int
    errors_1m: int
    client_errors_1m: int
    p99_latency_ms_1m: float

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> VersionStats:
        return cls(
            int(d["requests_1m"]),
            int(d["errors_1m"]),
            int(d["client_errors_1m"]),
            d["p99_latency_ms_1m"],
        )


@dataclass(frozen=True)
class EndpointStatus:
    """What `mlpipex endpoint status` shows: the spec's sources, the traffic in force, the
    latest rollout and the last minute per serving version (keyed by version, as text)."""

    name: str
    model: str
    follow: str | None
    traffic: tuple[Share, ...]
    stable_version: int | None
    shadow: Shadow | None
    sticky_header: str | None
    rollout: Rollout
    deployment: Deployment | None
    stats: dict[str, VersionStats]
    updated_at: int
    notes: tuple[str, ...] = ()  # about the spec, for whoever reads the status
    replicas: int | None = None
    autoscaling: Autoscaling | None = None
    ray_actor_options: ActorOptions | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "follow": self.follow,
            "traffic": [s.to_json() for s in self.traffic],
            "stable_version": self.stable_version,
            "shadow": _dump(self.shadow),
            "sticky_header": self.sticky_header,
            "rollout": _dump(self.rollout),
            "deployment": self.deployment.to_json() if self.deployment else None,
            "stats": {v: s.to_json() for v, s in self.stats.items()},
            "updated_at": self.updated_at,
            "notes": list(self.notes),
            "replicas": self.replicas,
            "autoscaling": _dump(self.autoscaling),
            "ray_actor_options": _dump(self.ray_actor_options),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> EndpointStatus:
        return cls(
            name=str(d["name"]),
            model=str(d["model"]),
            follow=d["follow"],
            traffic=tuple(Share.from_json(s) for s in d["traffic"]),
            stable_version=d["stable_version"],
            shadow=Shadow.model_validate(d["shadow"]) if d["shadow"] else None,
            sticky_header=d["sticky_header"],
            rollout=Rollout.model_validate(d["rollout"]),
            deployment=Deployment.from_json(d["deployment"]) if d["deployment"] else None,
            stats={str(v): VersionStats.from_json(s) for v, s in d["stats"].items()},
            updated_at=int(d["updated_at"]),
            notes=tuple(str(n) for n in d.get("notes", ())),
            replicas=d.get("replicas"),
            autoscaling=Autoscaling.model_validate(d["autoscaling"])
            if d.get("autoscaling")
            else None,
            ray_actor_options=ActorOptions.model_validate(d["ray_actor_options"])
            if d.get("ray_actor_options")
            else None,
        )


@dataclass(frozen=True)
class TrafficBucket(_Record):
    """One version's requests to an endpoint in one time bucket (``time``: its start, in ms)."""

    time: int
    version: int
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> TrafficBucket:
        return cls(
            int(d["time"]),
            int(d["version"]),
            int(d["requests"]),
            int(d["errors"]),
            d["p50_ms"],
            d["p99_ms"],
        )


@dataclass(frozen=True)
class AgentInfo(_Record):
    """A serving host as last heard from: the desired state's generation it serves, its errors."""

    name: str
    url: str
    generation: int
    errors: tuple[str, ...]
    last_seen: int


def _dump(part: Shadow | Rollout | Autoscaling | ActorOptions | None) -> dict[str, Any] | None:
    """A part of the spec as it is stored (defaults in, unset values out)."""
    return None if part is None else part.model_dump(mode="json", exclude_none=True)
