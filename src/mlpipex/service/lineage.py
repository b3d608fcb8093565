"""Lineage of a version: datasets -> (pipeline stage) -> run -> version -> stage history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlpipex.domain import events as ev
from mlpipex.domain.models import DatasetRef, Event, ModelVersion
from mlpipex.service.context import Registry
from mlpipex.service.versions import get_version
from mlpipex.store import events


@dataclass(frozen=True)
class StageChange:
    time: int
    actor: str
    from_stage: str
    to_stage: str
    reason: str


@dataclass(frozen=True)
class Lineage:
    version: ModelVersion
    datasets: tuple[DatasetRef, ...]
    run: dict[str, Any] | None
    stages: list[StageChange]
    deployments: list[dict[str, Any]] = field(default_factory=list)


def lineage(reg: Registry, name: str, version: int) -> Lineage:
    v = get_version(reg, f"{name}/{version}", files=False)
    with reg.store.read() as conn:
        history = events.query(conn, model=name, version=version, kind=ev.TRANSITION_DONE)
    return Lineage(v, v.datasets, _run(v), [_change(e) for e in history])


def _run(v: ModelVersion) -> dict[str, Any] | None:
    if v.run_id is None:
        return None
    return {"id": v.run_id, "commit": v.commit, "metrics": v.metrics}


def _change(e: Event) -> StageChange:
    return StageChange(e.time, e.actor, str(e.payload.get("from")), str(e.payload.get("to")), e.reason)
