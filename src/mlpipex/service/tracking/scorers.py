"""MLflow scorers: a judge's serialized form registered under an experiment and a name, each
registration a new version (from 1); listed, read (the latest or one version), deleted."""

from __future__ import annotations

import uuid

from mlpipex.domain.evaluation import ScorerVersion
from mlpipex.errors import Invalid, NotFound
from mlpipex.service.context import Registry
from mlpipex.service.mlflow.compat import ensure_default, experiment_key, experiments
from mlpipex.store.tracking import scorers as store

MAX_NAME = 250
MAX_SERIALIZED = 1_000_000  # characters of one serialized scorer
MAX_VERSIONS = 10_000  # versions one listing returns
MAX_EXPERIMENTS = 100


def _check_name(name: str) -> None:
    if not 0 < len(name) <= MAX_NAME:
        raise Invalid(f"a scorer name is 1 to {MAX_NAME} characters")


def register(reg: Registry, eid: str, name: str, serialized: str) -> ScorerVersion:
    """The next version of the experiment's scorer of that name."""
    reg.require("editor")
    _check_name(name)
    if not serialized or len(serialized) > MAX_SERIALIZED:
        raise Invalid(f"a serialized scorer is 1 to {MAX_SERIALIZED} characters")
    ensure_default(reg, eid)
    with reg.store.write() as conn:
        key = experiment_key(conn, reg.workspace, eid)
        last = store.latest(conn, key, name)
        made = ScorerVersion(
            experiment_id=str(key),
            name=name,
            version=last.version + 1 if last else 1,
            scorer_id=last.scorer_id if last else f"sc-{uuid.uuid4().hex}",
            serialized=serialized,
            creation_time=reg.clock(),
        )
        store.insert(conn, key, made)
    return made


def list_latest(reg: Registry, experiment_ids: list[str]) -> list[ScorerVersion]:
    """Each scorer's latest version, under the experiments given."""
    reg.require("viewer")
    if not 1 <= len(experiment_ids) <= MAX_EXPERIMENTS:
        raise Invalid(f"give 1 to {MAX_EXPERIMENTS} experiment ids, got {len(experiment_ids)}")
    with reg.store.read() as conn:
        keys = [e.id for e in experiments(conn, reg.workspace, experiment_ids)]
        return store.latest_of_each(conn, keys)


def list_versions(reg: Registry, eid: str, name: str) -> list[ScorerVersion]:
    reg.require("viewer")
    _check_name(name)
    with reg.store.read() as conn:
        return store.versions(conn, experiment_key(conn, reg.workspace, eid), name, MAX_VERSIONS)


def get(reg: Registry, eid: str, name: str, version: int | None) -> ScorerVersion:
    reg.require("viewer")
    _check_name(name)
    with reg.store.read() as conn:
        key = experiment_key(conn, reg.workspace, eid)
        found = (
            store.latest(conn, key, name)
            if version is None
            else store.get(conn, key, name, version)
        )
    if found is None:
        which = "" if version is None else f" version {version}"
        raise NotFound(f"Scorer with name '{name}'{which} not found for experiment {eid}.")
    return found


def delete(reg: Registry, eid: str, name: str, version: int | None) -> None:
    """One version, or every version of the name."""
    reg.require("editor")
    _check_name(name)
    with reg.store.write() as conn:
        if store.delete(conn, experiment_key(conn, reg.workspace, eid), name, version) == 0:
            which = "" if version is None else f" version {version}"
            raise NotFound(f"Scorer with name '{name}'{which} not found for experiment {eid}.")
