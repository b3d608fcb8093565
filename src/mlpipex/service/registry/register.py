"""Registration: a version is complete (commit, datasets, metrics) or it is refused and nothing
but the refusal event is written."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.manifest import FileEntry, Manifest
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.domain.policy import missing_for_registration
from mlpipex.domain.refs import check_model_name
from mlpipex.domain.workspaces import Quota
from mlpipex.errors import Invalid, NotFound, PolicyViolation
from mlpipex.objects.hashing import Progress
from mlpipex.objects.manifest import list_files, store_tree
from mlpipex.objects.store import PARALLEL_MIN
from mlpipex.service.access import workspaces
from mlpipex.service.context import Registry
from mlpipex.service.registry.models import check_tag
from mlpipex.store import registry
from mlpipex.store.registry import ModelRecord
from mlpipex.store.tracking import runs
from mlpipex.store.tracking.records import RunInputRecord, RunRecord

MAX_METRIC_KEY = 250


@dataclass
class Registration:
    """What a new version carries. ``commit=None`` means: detect it from git, or go without.

    The artifact is the file or directory at ``path``, or ``files`` already in the object store
    (a run's artifacts). With ``run_id``, what is not given is inherited from the run."""

    name: str
    path: Path | None
    commit: str | None = None
    commit_dirty: bool = False
    datasets: Sequence[DatasetRef] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    run_id: str | None = None
    flavor: str | None = None
    files: Sequence[FileEntry] | None = None
    # The URI of files (and maybe a run) this registry does not hold, named by an MLflow client:
    # recorded with no files when the policy allows it (require.files off), never deployable
    external: str = ""

    @property
    def source(self) -> str:
        if self.external:
            return self.external
        return str(self.path) if self.path is not None else f"runs:/{self.run_id}"


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


@dataclass(frozen=True, slots=True)
class Basis:
    """What a registration is judged against, read together: its run (None when it names none
    or the run is not in the workspace) with the run's dataset inputs and the latest value of
    each of its metrics, and its model (None before the model's first version)."""

    run: RunRecord | None = None
    inputs: Sequence[RunInputRecord] = ()
    latest: Sequence[tuple[str, float, int, int]] = ()
    model: ModelRecord | None = None


def read_basis(
    conn: Connection, ws: str, name: str, run_id: str | None, run: RunRecord | None = None
) -> Basis:
    """The basis of a registration of model name from run_id; ``run`` when the caller has read
    that run already (in the same connection)."""
    if run_id is not None and (run is None or run.id != run_id):
        run = runs.run_row(conn, ws, run_id)
    if run_id is None or run is None:
        return Basis(model=registry.model_row(conn, ws, name))
    d = runs.details_of(conn, [run.id], params_and_tags=False)
    return Basis(run, d.inputs[run.id], d.metrics[run.id], registry.model_row(conn, ws, name))


def _inherit(r: Registration, basis: Basis) -> Registration:
    """r completed from its run: the run's commit unless one is given, its dataset inputs and the
    latest value of each of its metrics (NaN left out), given values winning on the same name."""
    if r.run_id is None:
        return r
    row = basis.run
    if row is None and r.external:
        return r
    if row is None:
        raise NotFound(f"run {r.run_id!r} does not exist", hint="see `mlpipex runs list`")
    datasets = {i.name: DatasetRef(i.name, i.uri, i.digest, i.size) for i in basis.inputs}
    datasets.update({d.name: d for d in r.datasets})
    metrics = {k: v for k, v, _, _ in basis.latest if not math.isnan(v)}
    metrics.update(r.metrics)
    commit, dirty = (r.commit, r.commit_dirty) if r.commit else (row.commit, bool(row.commit_dirty))
    return replace(
        r, commit=commit, commit_dirty=dirty, datasets=list(datasets.values()), metrics=metrics
    )


def check_registration(
    reg: Registry, r: Registration, *, artifact: bool = True, basis: Basis | None = None
) -> Registration:
    """r with what it inherits from its run, once it passes validation and the policy; else
    the refusal is recorded as an event and raised, and nothing else is written. With
    ``artifact=False`` the artifact is not looked at (a client asks before uploading it). The
    run and the model are read once (``basis``, when the caller has read them)."""
    check_model_name(r.name)
    reg.require("editor", r.name)
    if basis is None:
        with reg.store.lookup() as conn:
            basis = read_basis(conn, reg.workspace, r.name, r.run_id)
    r = _inherit(r, basis)
    metrics = check_metrics(r.metrics)
    for k, v in r.tags.items():
        check_tag(k, v)
    names = [d.name for d in r.datasets]
    if len(set(names)) != len(names):
        raise Invalid(f"dataset names repeat: {', '.join(sorted(names))}")
    policy = reg.policy_of(basis.model.policy if basis.model else None)
    if r.external:
        if policy.require.files:
            raise PolicyViolation(
                f"registration of {r.name} refused: {r.source} is not held by this registry",
                ["files this registry holds (the source's run and files)"],
                hint="log the model to a run here first, or use a permissive policy to "
                "record an external reference",
            )
    elif artifact and r.files is None and (r.path is None or not r.path.exists()):
        raise NotFound(
            f"{r.source} does not exist", hint="give the model file or directory to register"
        )
    if artifact and r.files is not None and not r.files and not r.external:
        raise NotFound(f"{r.source} holds no files to register")

    missing = missing_for_registration(policy, r.commit, r.datasets, metrics, r.tags)
    if missing:
        with reg.store.write() as conn:
            reg.record(
                conn,
                time=reg.clock(),
                kind=ev.REGISTRATION_REFUSED,
                model=r.name,
                reason="missing " + ", ".join(m.split(" ")[0] for m in missing),
                payload={"missing": missing, "path": r.source, "run_id": r.run_id},
            )
        hint = "nothing was stored; add what is missing and register again"
        if r.run_id:
            hint = (
                f"nothing was stored and run {r.run_id} is unchanged; log what is missing to "
                "the run (or pass it here) and register again"
            )
        raise PolicyViolation(f"registration of {r.name} refused, missing", missing, hint=hint)
    return replace(r, metrics=metrics)


# More writes of the caller's about the new version (its row id and the version), in the
# registration's own transaction: what a front end records beside it lands with it or not at all.
Also = Callable[[Connection, int, ModelVersion], None]


def register_version(
    reg: Registry,
    r: Registration,
    progress: Progress | None = None,
    also: Also | None = None,
    *,
    basis: Basis | None = None,
    touch_model: bool = False,
) -> ModelVersion:
    """Validate everything, store the artifact's objects, then record the version in one
    transaction. The model is created when it does not exist yet, as MLflow does; with
    ``touch_model`` its update time moves to the version's creation (MLflow's API does so).
    ``basis``: the run and model the caller has read for it (see ``check_registration``)."""
    basis = basis or _basis(reg, r)
    r = check_registration(reg, r, basis=basis)
    metrics = r.metrics
    if r.files is not None:
        manifest = Manifest.of(r.files)
        absent = reg.objects.missing(e.digest for e in manifest.files)
        if absent:
            raise NotFound(
                f"{r.source}: {len(absent)} file(s) are missing from the object store",
                hint="run `mlpipex fsck`",
            )
    else:
        assert r.path is not None
        manifest = store_tree(
            reg.objects, r.path, progress=progress, seen_sizes=_seen_sizes(reg, r.path)
        )
    digest, now = manifest.digest, reg.clock()  # the digest hashes the manifest: once
    with reg.store.write() as conn:
        model_id, version = _number(
            conn, reg, r.name, manifest.size, now, basis.model is not None, touch_model
        )
        vid, v = registry.insert_version(
            conn,
            model_id,
            version,
            model=r.name,
            commit=r.commit,
            commit_dirty=r.commit_dirty,
            run_id=r.run_id,
            flavor=r.flavor,
            description=r.description,
            artifact_digest=digest,
            artifact_size=manifest.size,
            created_by=reg.actor.name,
            now=now,
            metrics=metrics,
            tags=r.tags,
            datasets=r.datasets,
            files=manifest.files,
        )
        reg.record(
            conn,
            time=now,
            kind=ev.VERSION_REGISTERED,
            model=r.name,
            version=version,
            payload={
                "artifact": digest,
                "size": manifest.size,
                "commit": r.commit,
                "commit_dirty": r.commit_dirty,
                "run_id": r.run_id,
                "metrics": metrics,
                "datasets": {d.name: d.digest for d in r.datasets},
            },
        )
        if also is not None:
            also(conn, vid, v)
        return v


def _basis(reg: Registry, r: Registration) -> Basis:
    check_model_name(r.name)
    reg.require("editor", r.name)  # before anything is read
    with reg.store.lookup() as conn:
        return read_basis(conn, reg.workspace, r.name, r.run_id)


def _number(
    conn: Connection, reg: Registry, name: str, size: int, now: int, known: bool, touch: bool
) -> tuple[int, int]:
    """The model's id and the new version's number, within the workspace's quotas. The model is
    numbered by name in one statement when it was there (``known``), which reads the quotas too
    (checked after, with the model's row locked; a refusal rolls the number back); else it is
    created (as a concurrent creator may have done: then it is not), counted against the models
    quota and its creation recorded."""
    ws, touched = reg.workspace, now if touch else None
    adding = {Quota.VERSIONS: 1, Quota.BYTES: size}
    if known:
        numbered = registry.allocate_version_of(conn, ws, name, touched=touched)
        if numbered is not None:
            model_id, number, quotas = numbered
            workspaces.check_quotas(conn, ws, adding, quotas)
            return model_id, number
    row, created = registry.ensure_model(conn, ws, name, now)
    if created:
        with_model = {Quota.MODELS: 1, **adding}
        workspaces.check_quotas(conn, ws, with_model, written={Quota.MODELS})  # its row is there
        reg.record(conn, time=now, kind=ev.MODEL_CREATED, model=name)
    else:
        workspaces.check_quotas(conn, ws, adding)
    return row.id, registry.allocate_version(conn, row.id, touched=touched)


def _seen_sizes(reg: Registry, path: Path) -> frozenset[int]:
    """Sizes of this artifact's large files that a version already has: storing those hashes
    first, so registering the same bytes again only reads them (no speculative copy)."""
    big = {p.stat().st_size for _, p in list_files(path)}
    big = {s for s in big if s >= PARALLEL_MIN}
    if not big:
        return frozenset()
    with reg.store.read() as conn:
        return registry.stored_sizes(conn, big)
