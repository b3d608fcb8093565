"""Registration: a version is complete (commit, datasets, metrics) or it is refused and nothing
but the refusal event is written."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlpipex.domain import events as ev
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.domain.policy import missing_for_registration
from mlpipex.domain.refs import check_model_name
from mlpipex.errors import Invalid, NotFound, PolicyViolation
from mlpipex.objects.hashing import Progress
from mlpipex.objects.manifest import hash_tree, store_tree
from mlpipex.service.context import Registry
from mlpipex.service.models import check_tag
from mlpipex.store import events, registry

MAX_METRIC_KEY = 250


@dataclass
class Registration:
    """What a new version carries. ``commit=None`` means: detect it from git, or go without."""

    name: str
    path: Path
    commit: str | None = None
    commit_dirty: bool = False
    datasets: Sequence[DatasetRef] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    run_id: str | None = None
    flavor: str | None = None


def check_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    out = {}
    for k, v in metrics.items():
        if not k or len(k) > MAX_METRIC_KEY:
            raise Invalid(f"metric key {k[:40]!r} must be 1 to {MAX_METRIC_KEY} characters")
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            raise Invalid(f"metric {k}: {v!r} is not a number") from None
        if math.isnan(out[k]):
            raise Invalid(f"metric {k} is NaN; an evaluation metric must be a number")
    return out


def register_version(reg: Registry, r: Registration, progress: Progress | None = None) -> ModelVersion:
    """Validate everything, store the artifact's objects, then record the version in one
    transaction. The model is created when it does not exist yet, as MLflow does."""
    check_model_name(r.name)
    reg.require("editor", r.name)
    metrics = check_metrics(r.metrics)
    for k, v in r.tags.items():
        check_tag(k, v)
    names = [d.name for d in r.datasets]
    if len(set(names)) != len(names):
        raise Invalid(f"dataset names repeat: {', '.join(sorted(names))}")
    if not r.path.exists():
        raise NotFound(f"{r.path} does not exist", hint="give the model file or directory to register")

    with reg.store.read() as conn:
        row = registry.model_row(conn, r.name)
        policy = reg.policy_of(row.policy if row else None)
    missing = missing_for_registration(policy, r.commit, r.datasets, metrics, r.tags)
    if missing:
        with reg.store.write() as conn:
            events.append(conn, time=reg.clock(), actor=reg.actor.name, kind=ev.REGISTRATION_REFUSED,
                          model=r.name, reason="missing " + ", ".join(m.split(" ")[0] for m in missing),
                          payload={"missing": missing, "path": str(r.path)})
        raise PolicyViolation(f"registration of {r.name} refused, missing", missing,
                              hint="nothing was stored; add what is missing and register again")

    manifest = hash_tree(r.path, progress)
    store_tree(reg.objects, r.path, manifest)
    now = reg.clock()
    with reg.store.write() as conn:
        row, created = registry.ensure_model(conn, r.name, now)
        if created:
            events.append(conn, time=now, actor=reg.actor.name, kind=ev.MODEL_CREATED, model=r.name)
        version = registry.allocate_version(conn, row.id)
        registry.insert_version(
            conn, row.id, version, commit=r.commit, commit_dirty=r.commit_dirty, run_id=r.run_id,
            flavor=r.flavor, description=r.description, artifact_digest=manifest.digest,
            artifact_size=manifest.size, created_by=reg.actor.name, now=now, metrics=metrics,
            tags=r.tags, datasets=r.datasets, files=manifest.files,
        )
        events.append(conn, time=now, actor=reg.actor.name, kind=ev.VERSION_REGISTERED, model=r.name,
                      version=version, payload={
                          "artifact": manifest.digest, "size": manifest.size, "commit": r.commit,
                          "commit_dirty": r.commit_dirty, "run_id": r.run_id, "metrics": metrics,
                          "datasets": {d.name: d.digest for d in r.datasets},
                      })
        vrow = registry.version_row(conn, row.id, version)
        return registry.to_versions(conn, [vrow], files=True)[0]
