"""GTO's registry written into this one: each model artifact a registered model, each registration
a version at its commit (semver kept as the tag ``gto.version`` and the alias ``vX.Y.Z``), each
stage assignment, unassignment, deregistration and deprecation an imported event with GTO's
tagger and tag date. Those moves already happened in GTO, so gates and approvals are not asked.

A GTO version may hold several stages at once; a version here holds one. The current stage is the
latest assignment the version still holds (``None`` when it holds none); every assignment and
unassignment is an imported ``transition_done`` event whose payload lists the GTO stages held
after it, so the history keeps what a single stage cannot. A deregistered version goes to
``Archived``; a deprecated artifact's model gets the tag ``gto.deprecated``.

The import is a replay: tags already applied (named in the payloads of imported events) are
skipped, so importing twice changes nothing and new tags import incrementally. It is held to the
workspace's quotas like a registration, in one transaction, so a refusal writes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.manifest import Manifest
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.domain.policy import MISSING_TAG, Policy, missing_for_registration
from mlpipex.domain.refs import check_alias, check_model_name
from mlpipex.domain.stage import Stage
from mlpipex.domain.workspaces import Quota
from mlpipex.errors import Invalid
from mlpipex.objects.manifest import store_tree
from mlpipex.service.access import workspaces
from mlpipex.service.context import Registry
from mlpipex.service.registry.models import check_tag
from mlpipex.store import registry
from mlpipex.store.events import log as events
from mlpipex.store.registry import ModelRecord

IMPORTED = "gto"
VERSION_TAG = "gto.version"
EXTERNAL_TAG = "mlpipex.external"
DEPRECATED_TAG = "gto.deprecated"
ARCHIVED = Stage.ARCHIVED.value


class Move(StrEnum):
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEREGISTER = "deregister"
    DEPRECATE = "deprecate"
    CREATE = "create"  # GTO's ``name@created``: the artifact is active again


@dataclass(frozen=True, slots=True)
class GtoVersion:
    """One version to import. ``path``: its bytes, fetched; else ``external`` says where they
    are (the DVC remote and md5) and the version is recorded without files."""

    version: str  # vX.Y.Z, or the commit for a version only ever given a stage
    commit: str
    tag: str
    actor: str
    time: int  # milliseconds
    path: Path | None = None
    external: str = ""
    datasets: tuple[DatasetRef, ...] = ()
    metrics: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class GtoMove:
    tag: str
    move: Move
    actor: str
    time: int  # milliseconds
    version: str | None = None
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class GtoModel:
    name: str
    description: str = ""
    labels: tuple[str, ...] = ()
    versions: tuple[GtoVersion, ...] = ()  # in the order numbers are given (semver)
    moves: tuple[GtoMove, ...] = ()  # in the order they happened
    stages: tuple[str, ...] = ()  # every stage GTO uses for it


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    versions: list[tuple[str, str, int]] = field(default_factory=list)  # model, gto version, n
    moves: int = 0
    completed: list[str] = field(default_factory=list)  # external versions given their files
    missing: dict[str, list[str]] = field(default_factory=dict)  # "model/n" -> what it lacks


def import_gto(reg: Registry, models: list[GtoModel]) -> ImportReport:
    """Write what the models hold that the registry lacks, all in one transaction: a quota
    passed midway leaves nothing of the import behind (the stored bytes are gc's)."""
    reg.require("admin")  # imported moves skip gates and approvals
    for m in models:
        check_model_name(m.name)
        for label in m.labels:
            check_tag(f"gto.label.{label}", "true")
    manifests = {
        (m.name, v.version): store_tree(reg.objects, v.path)
        for m in models
        for v in m.versions
        if v.path is not None
    }
    report = ImportReport()
    with reg.store.write() as conn:
        for m in models:
            _import_model(conn, reg, m, manifests, report)
    return report


def with_files(reg: Registry, name: str) -> frozenset[str]:
    """The GTO versions of a model imported with their files: nothing to fetch for them."""
    reg.require("viewer")
    with reg.store.read() as conn:
        row = registry.model_row(conn, reg.workspace, name)
        have = _imported(conn, row.id) if row is not None else {}
    return frozenset(k for k, v in have.items() if EXTERNAL_TAG not in v.tags)


def _import_model(
    conn: Connection,
    reg: Registry,
    m: GtoModel,
    manifests: Mapping[tuple[str, str], Manifest],
    report: ImportReport,
) -> None:
    now = reg.clock()
    row, created = registry.ensure_model(conn, reg.workspace, m.name, now)
    if created:
        # the row just ensured is counted already, as in a registration
        workspaces.check_quotas(conn, reg.workspace, {Quota.MODELS: 1}, written={Quota.MODELS})
        registry.update_model(conn, row.id, now, description=m.description)
        for label in m.labels:
            registry.set_model_tag(conn, row.id, f"gto.label.{label}", "true")
        _event(
            conn,
            reg,
            _Importer(reg.actor.name, now),
            ev.MODEL_CREATED,
            m.name,
            None,
            {"description": m.description, "labels": list(m.labels)},
        )
        report.created.append(m.name)
    policy = _with_stages(conn, reg, row, m)
    imported = _imported(conn, row.id)
    numbers = {k: v.version for k, v in imported.items()}
    for v in m.versions:
        have = imported.get(v.version)
        manifest = manifests.get((m.name, v.version))
        if have is None:
            n = _register(conn, reg, policy, row.id, m.name, v, manifest, report)
            numbers[v.version] = n
            report.versions.append((m.name, v.version, n))
        elif EXTERNAL_TAG in have.tags and manifest is not None:
            _complete(conn, reg, policy, row.id, have, manifest, report)
    applied, held = _replayed(conn, reg.workspace, m.name)
    for mv in m.moves:
        if mv.tag in applied:
            continue
        _apply(conn, reg, policy, row.id, m.name, mv, numbers, held)
        report.moves += 1


class _Stamped(Protocol):
    """Who made a GTO change and when (a tag), or who imports (no tag)."""

    @property
    def actor(self) -> str: ...
    @property
    def time(self) -> int: ...
    @property
    def tag(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _Importer:
    actor: str
    time: int
    tag: str = ""


def _event(
    conn: Connection,
    reg: Registry,
    by: _Stamped,
    kind: str,
    model: str,
    version: int | None,
    payload: Mapping[str, Any],
) -> None:
    reg.record(
        conn,
        time=by.time,
        actor=by.actor,
        kind=kind,
        model=model,
        version=version,
        reason=f"imported from GTO ({by.tag})" if by.tag else "imported from GTO",
        payload={**payload, "imported": IMPORTED, "tag": by.tag},
    )


def _with_stages(conn: Connection, reg: Registry, row: ModelRecord, m: GtoModel) -> Policy:
    """The model's policy, given the stages GTO uses that it lacks (and Archived)."""
    policy = reg.policy_of(row.policy)
    known = {s.lower() for s in policy.stages}
    wanted = [*m.stages, ARCHIVED] if any(x.move == Move.DEREGISTER for x in m.moves) else m.stages
    lacking = [s for s in dict.fromkeys(wanted) if s.lower() not in known]
    if not lacking:
        return policy
    policy = policy.model_copy(update={"stages": [*policy.stages, *lacking]})
    stored = policy.model_dump(mode="json")
    registry.set_policy(conn, row.id, stored, reg.clock())
    _event(
        conn,
        reg,
        _Importer(reg.actor.name, reg.clock()),
        ev.POLICY_SET,
        m.name,
        None,
        {"policy": stored, "stages_added": lacking},
    )
    return policy


def _imported(conn: Connection, model_id: int) -> dict[str, ModelVersion]:
    """GTO version -> the version imported for it before."""
    versions = registry.to_versions(conn, registry.version_rows(conn, model_id))
    return {v.tags[VERSION_TAG]: v for v in versions if VERSION_TAG in v.tags}


def _missing(policy: Policy, v: ModelVersion | GtoVersion, tags: Mapping[str, str]) -> list[str]:
    return missing_for_registration(policy, v.commit, v.datasets, dict(v.metrics), tags)


def _complete(
    conn: Connection,
    reg: Registry,
    policy: Policy,
    model_id: int,
    v: ModelVersion,
    manifest: Manifest,
    report: ImportReport,
) -> None:
    """An external version given the files fetched now; promotable once nothing else lacks."""
    row = registry.version_row(conn, model_id, v.version)
    assert row is not None
    tags = {k: x for k, x in v.tags.items() if k not in (EXTERNAL_TAG, MISSING_TAG)}
    missing = _missing(policy, v, tags)
    # an external version held no bytes: all of these are new
    workspaces.check_quota(conn, reg.workspace, Quota.BYTES, adding=manifest.size)
    registry.set_artifact(conn, row.id, manifest.digest, manifest.size)
    registry.insert_files(conn, row.id, manifest.files)
    registry.delete_version_tag(conn, row.id, EXTERNAL_TAG)
    registry.delete_version_tag(conn, row.id, MISSING_TAG)
    if missing:
        registry.set_version_tag(conn, row.id, MISSING_TAG, _lacks(missing))
        report.missing[f"{v.model}/{v.version}"] = missing
    _event(
        conn,
        reg,
        _Importer(reg.actor.name, reg.clock()),
        ev.VERSION_UPDATED,
        v.model,
        v.version,
        {"artifact": manifest.digest, "size": manifest.size, "fetched": v.tags[EXTERNAL_TAG]},
    )
    report.completed.append(f"{v.model}/{v.version}")


def _lacks(missing: list[str]) -> str:
    return "; ".join(x.split(" (")[0] for x in missing)


def _register(
    conn: Connection,
    reg: Registry,
    policy: Policy,
    model_id: int,
    name: str,
    v: GtoVersion,
    manifest: Manifest | None,
    report: ImportReport,
) -> int:
    metrics = dict(v.metrics)
    tags = {VERSION_TAG: v.version}
    missing = _missing(policy, v, tags)
    if manifest is None:
        manifest = Manifest.of(())
        tags[EXTERNAL_TAG] = v.external
        if policy.require.files:  # off, an external reference is enough (never deployed)
            missing.insert(0, f"files (only referenced: {v.external}; import again with the data)")
    if missing:
        tags[MISSING_TAG] = _lacks(missing)
    workspaces.check_quotas(conn, reg.workspace, {Quota.VERSIONS: 1, Quota.BYTES: manifest.size})
    n = registry.allocate_version(conn, model_id)
    registry.insert_version(
        conn,
        model_id,
        n,
        model=name,
        commit=v.commit,
        commit_dirty=False,
        run_id=None,
        flavor=None,
        description="",
        artifact_digest=manifest.digest,
        artifact_size=manifest.size,
        created_by=v.actor,
        now=v.time,
        metrics=metrics,
        tags=tags,
        datasets=v.datasets,
        files=manifest.files,
    )
    _event(
        conn,
        reg,
        v,
        ev.VERSION_REGISTERED,
        name,
        n,
        {
            "artifact": manifest.digest,
            "size": manifest.size,
            "commit": v.commit,
            "gto_version": v.version,
            "external": v.external or None,
            "metrics": metrics,
            "datasets": {d.name: d.digest for d in v.datasets},
            "missing": missing,
        },
    )
    if missing:
        report.missing[f"{name}/{n}"] = missing
    if v.version.startswith("v"):
        with contextlib.suppress(Invalid):  # build metadata (+...) is no alias; the tag keeps it
            registry.set_alias(conn, model_id, check_alias(v.version), n)
    return n


def _replayed(conn: Connection, ws: str, name: str) -> tuple[set[str], dict[int, list[str]]]:
    """Tags applied by earlier imports, and the GTO stages each version held after them."""
    applied: set[str] = set()
    held: dict[int, list[str]] = {}
    for e in events.query(conn, ws, model=name):
        if e.payload.get("imported") != IMPORTED:
            continue
        applied.add(str(e.payload.get("tag", "")))
        if e.version is not None and "gto_stages" in e.payload:
            held[e.version] = list(e.payload["gto_stages"])
    return applied, held


def _apply(
    conn: Connection,
    reg: Registry,
    policy: Policy,
    model_id: int,
    name: str,
    mv: GtoMove,
    numbers: Mapping[str, int],
    held: dict[int, list[str]],
) -> None:
    if mv.move in (Move.DEPRECATE, Move.CREATE):
        if mv.move == Move.DEPRECATE:
            registry.set_model_tag(conn, model_id, DEPRECATED_TAG, "true")
        else:
            registry.delete_model_tag(conn, model_id, DEPRECATED_TAG)
        key = {"key": DEPRECATED_TAG}
        kind = ev.TAG_SET if mv.move == Move.DEPRECATE else ev.TAG_DELETED
        _event(conn, reg, mv, kind, name, None, key)
        return
    n = numbers.get(mv.version or "")
    row = registry.version_row(conn, model_id, n) if n is not None else None
    if row is None:  # a move on a version not imported (not a model's) is recorded, no more
        _event(
            conn,
            reg,
            mv,
            ev.TRANSITION_DONE,
            name,
            None,
            {"gto_version": mv.version, "skipped": True},
        )
        return
    stages = held.setdefault(row.version, [])
    if mv.stage in stages:
        stages.remove(mv.stage)
    if mv.move == Move.ASSIGN and mv.stage:
        stages.append(mv.stage)
    if mv.move == Move.DEREGISTER:
        stages.clear()
    to = ARCHIVED if mv.move == Move.DEREGISTER else (stages[-1] if stages else Stage.NONE.value)
    to = policy.stage(to)
    registry.set_stage(conn, row.id, to, mv.time)
    _event(
        conn,
        reg,
        mv,
        ev.TRANSITION_DONE,
        name,
        row.version,
        {
            "from": row.stage,
            "to": to,
            "gto": mv.move.value,
            "gto_stage": mv.stage,
            "gto_stages": list(stages),
        },
    )
