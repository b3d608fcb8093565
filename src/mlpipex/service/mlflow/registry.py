"""The model registry as MLflow's API sees it, over the native services: versions registered
from an MLflow source (held to the same policy, files recorded without a copy), stage
transitions through promote, deletions, searches by MLflow filter, latest versions per stage."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.manifest import EXTERNAL_DIGEST, FileEntry
from mlpipex.domain.models import ModelVersion, Page, RegisteredModel
from mlpipex.domain.refs import VersionRef, check_model_name
from mlpipex.errors import Conflict, Invalid, MLPipeXError, NotFound
from mlpipex.objects import ObjectStore
from mlpipex.service.context import Registry
from mlpipex.service.mlflow.artifacts import Place, files, locate_uri, relative, version_dir
from mlpipex.service.mlflow.compat import order_terms, paged
from mlpipex.service.registry import promote, register, search, versions
from mlpipex.service.registry.missing import missing_model
from mlpipex.service.registry.models import require_model
from mlpipex.service.tracking import logged_models
from mlpipex.store import registry, schema_mlflow
from mlpipex.store import schema as t
from mlpipex.store.mlflow import records
from mlpipex.store.registry import ModelRecord, VersionRecord, details
from mlpipex.store.tracking import runs as runs_store
from mlpipex.store.tracking.search import string_cmp

MODEL_DELETED = ev.MODEL_DELETED
VERSION_DELETED = ev.VERSION_DELETED
MAX_RESULTS = 10_000
MAX_COPY_HOPS = 16


@dataclass(frozen=True, slots=True)
class MlflowVersion:
    version: ModelVersion
    source: str
    model_id: str | None = None
    edited_at: int | None = None  # its description's last change through MLflow's API

    @property
    def last_updated(self) -> int:
        """MLflow's last update of a version: its creation, stage change or edit."""
        v = self.version
        return max(v.created_at, v.stage_entered_at, self.edited_at or 0)

    @property
    def external(self) -> bool:
        """Recorded as a reference to files elsewhere (its source), holding none here."""
        return self.version.artifact_digest == EXTERNAL_DIGEST


@dataclass(frozen=True, slots=True)
class MlflowModel:
    model: RegisteredModel
    latest: tuple[MlflowVersion, ...] = ()


def _versions(conn: Connection, rows: Sequence[VersionRecord]) -> list[MlflowVersion]:
    """The versions of rows, in their order, with their details and what the MLflow API recorded
    of them (source, logged model, last edit), all read in one statement."""
    read = details.versions_with(conn, rows, records.version_source_columns())
    return [_mlflow_version(v, records.version_source(row)) for v, row in read]


def _model(conn: Connection, row: ModelRecord, model: RegisteredModel | None = None) -> MlflowModel:
    """The model (``model``, when read with its row) with the newest version in each stage."""
    latest = _latest(conn, row.id)
    return MlflowModel(model or registry.to_model(conn, row), tuple(latest))


def _latest(conn: Connection, model_id: int) -> list[MlflowVersion]:
    return [_mlflow_version(v, s) for v, s in records.latest_per_stage(conn, model_id)]


def _mlflow_version(v: ModelVersion, s: records.VersionSource) -> MlflowVersion:
    """A version as MLflow's API shows it: its files are served under the registry's own
    artifact path unless the API recorded where it came from."""
    source = s.source or f"mlflow-artifacts:/{version_dir(v.model, v.version)}"
    return MlflowVersion(v, source, s.model_id, s.edited_at)


# -- registered models ---------------------------------------------------------------------


def get_model(reg: Registry, name: str) -> MlflowModel:
    reg.require("viewer", name)
    with reg.store.lookup() as conn:  # two statements: the model, its latest versions
        found = registry.model_with_details(conn, reg.workspace, name)
        if found is None:
            raise missing_model(name)
        return _model(conn, *found)


def latest_versions(reg: Registry, name: str, stages: Sequence[str]) -> list[MlflowVersion]:
    reg.require("viewer", name)
    with reg.store.lookup() as conn:
        model = require_model(conn, reg.workspace, name)
        policy = reg.policy_of(model.policy)
        wanted = {policy.stage(s) for s in stages}
        found = _latest(conn, model.id)
    return [v for v in found if not wanted or v.version.stage in wanted]


def delete_model(reg: Registry, name: str) -> None:
    """Delete a model and its versions (MLflow's DeleteRegisteredModel); the events stay."""
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        row = require_model(conn, reg.workspace, name, lock=True)
        registry.delete_model(conn, row.id)
        reg.record(
            conn,
            time=now,
            kind=MODEL_DELETED,
            model=name,
            payload={"versions": row.last_version},
        )


def search_models(
    reg: Registry,
    filter: str | None,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> Page[MlflowModel]:
    conds = _conditions(
        filter, "registered model filter", versions_too=False, dialect=reg.store.dialect
    )
    order = order_terms(order_by, {"name": t.models.c.name, **_TIMES_MODEL})
    offset, limit = search.decode_page_token(page_token), _limit(max_results)
    with reg.store.read() as conn:
        rows = records.search_model_rows(
            conn, reg.workspace, conds, order, limit + 1, offset, reg.visible_models()
        )
        return paged([_model(conn, r) for r in rows[:limit]], len(rows) > limit, offset)


# -- versions ------------------------------------------------------------------------------

# An MLmodel file is a few KB; a larger one is not read to name the flavor.
_MLMODEL_MAX = 1 << 20


def create_version(
    reg: Registry,
    name: str,
    source: str,
    run_id: str | None,
    tags: Mapping[str, str],
    description: str,
    model_id: str | None,
    describe: Describe | None = None,
) -> MlflowVersion:
    """Register the files under source as a new version. A logged model's source run (or the
    run named) is the run it inherits commit, datasets and metrics from; a refusal names what
    is missing. A source or run this registry does not hold is recorded, as MLflow records it,
    as an external reference when the policy allows it (never deployable), else refused."""
    check_model_name(name)
    reg.require("editor", name)  # before anything the source names is read
    held = _held(reg, name, source, run_id, model_id)
    found, run_id, model_id = held.files, held.run_id, held.model_id
    run_known = run_id is None or held.basis.run is not None
    flavor, facts = _describe(reg, found or [], describe)

    def mlflow_source(conn: Connection, version_id: int, _: ModelVersion) -> None:
        records.put_version_source(conn, version_id, source, model_id)

    v = register.register_version(
        reg,
        register.Registration(
            name=name,
            path=None,
            files=found or [],
            run_id=run_id or None,
            tags={**tags, **facts},
            description=description,
            external="" if found and run_known else source or f"runs:/{run_id}",
            flavor=flavor,
        ),
        also=mlflow_source,
        basis=held.basis,
        touch_model=True,  # MLflow: a new version updates its model
    )
    if model_id:
        logged_models.add_version(reg, model_id, v.model, v.version)
    return MlflowVersion(v, source, model_id)


@dataclass(frozen=True, slots=True)
class _Held:
    """What a version's source names: the files this registry holds there (None: none), the run
    and logged model the version comes from, and the basis of its registration."""

    files: list[FileEntry] | None
    run_id: str | None
    model_id: str | None
    basis: register.Basis


def _held(reg: Registry, name: str, source: str, run_id: str | None, model_id: str | None) -> _Held:
    """The source's files, and what its registration is judged against: for a run's artifacts
    (the common case) the run, its listing, its inputs and metrics and the model are read once,
    in one connection."""
    place = locate_source(f"models:/{model_id}" if model_id and not source else source)
    found: list[FileEntry] | None = None
    if place is not None and (place.kind == "model" or model_id):
        lm = logged_models.get(reg, place.key if place.kind == "model" else str(model_id))
        model_id, run_id = lm.id, run_id or lm.source_run_id
    elif place is not None and place.kind == "run":
        run_id = run_id or place.key
    if place is not None and place.kind != "run":
        try:
            found = files(reg, place)
        except NotFound:
            found = None
    run = None
    with reg.store.lookup() as conn:
        if place is not None and place.kind == "run":
            reg.require("viewer")  # as listing the run's artifacts asks
            held = runs_store.artifacts_in(conn, reg.workspace, place.key, place.path)
            if held is not None:
                run, found = held.run, held.files
        basis = register.read_basis(conn, reg.workspace, name, run_id or None, run)
    if place is not None and found:
        return _Held(relative(found, place.path), run_id, model_id, basis)
    return _Held(None, run_id, model_id, basis)


def external_source(reg: Registry, name: str, version: int) -> str | None:
    """Where an external version's files are (its source, through the versions it was copied
    from), or None for a version whose files this registry holds."""
    found = get_version(reg, name, version)
    for _ in range(MAX_COPY_HOPS):
        if not found.external:
            return None
        place = locate_source(found.source)
        if place is None or place.kind != "version":
            return found.source
        src_name, _, number = place.key.rpartition("/")
        found = get_version(reg, src_name, int(number))
    return found.source


def locate_source(source: str) -> Place | None:
    try:
        return locate_uri(source)
    except Invalid:
        return None


# (MLmodel bytes) -> (flavor, tags): ``flavors.mlmodel.version_facts``.
Describe = Callable[[bytes], tuple[str | None, dict[str, str]]]


def _describe(
    reg: Registry, rel: Sequence[FileEntry], describe: Describe | None
) -> tuple[str | None, dict[str, str]]:
    mlmodel = next((f for f in rel if f.path == "MLmodel"), None)
    if describe is None or mlmodel is None or mlmodel.size > _MLMODEL_MAX:
        return None, {}
    try:
        return _facts(describe, reg.objects, mlmodel.digest)
    except MLPipeXError:
        return None, {}  # unreadable here: not remembered (lru_cache keeps no error)


# What an MLmodel says, by its digest: its bytes never change, and registering the same logged
# model again is common (0.07 ms a registration to read and parse it).
@functools.lru_cache(maxsize=256)
def _facts(
    describe: Describe, objects: ObjectStore, digest: str
) -> tuple[str | None, dict[str, str]]:
    text = objects.read_bytes(digest)
    try:
        return describe(text)
    except MLPipeXError:
        return None, {}  # not an MLmodel we read: registered as MLflow would, flavor unknown


def get_version(reg: Registry, name: str, version: int) -> MlflowVersion:
    reg.require("viewer", name)
    with reg.store.read() as conn:
        row = versions.resolve_row(conn, reg, VersionRef(name, version=version))
        return _versions(conn, [row])[0]


def update_description(reg: Registry, name: str, version: int, description: str) -> None:
    """The description, and the time of the edit, which MLflow reports as the version's last
    update (the native stage-entry time, which soak times read, does not move)."""
    versions.update_description(reg, name, version, description)
    with reg.store.write() as conn:
        row = versions.resolve_row(conn, reg, VersionRef(name, version=version))
        records.mark_version_edited(conn, row.id, reg.clock())


def get_by_alias(reg: Registry, name: str, alias: str) -> MlflowVersion:
    reg.require("viewer", name)
    with reg.store.read() as conn:
        row = versions.resolve_row(conn, reg, VersionRef(name, alias=alias))
        return _versions(conn, [row])[0]


def delete_version(reg: Registry, name: str, version: int) -> None:
    """Delete a version and the aliases pointing at it; its number is never reused."""
    reg.require("editor", name)
    now = reg.clock()
    with reg.store.write() as conn:
        model = require_model(conn, reg.workspace, name, lock=True)
        row = versions.resolve_row(conn, reg, VersionRef(name, version=version))
        registry.delete_aliases_of(conn, model.id, version)
        registry.delete_version(conn, row.id)
        registry.update_model(conn, model.id, now)
        reg.record(
            conn,
            time=now,
            kind=VERSION_DELETED,
            model=name,
            version=version,
            payload={"stage": row.stage, "artifact": row.artifact_digest},
        )


def transition(
    reg: Registry, name: str, version: int, stage: str, archive_existing: bool
) -> MlflowVersion:
    """MLflow's transition-stage through promote: gates and approvals apply. Waiting for
    approval is refused as a conflict that says so (the request stays recorded)."""
    result = promote.promote(reg, name, version, stage, reason="MLflow transition-stage")
    if result.status == "pending":
        raise Conflict(
            f"{name}/{version} -> {result.to_stage} waits for approval "
            f"({result.approvals_missing} more needed); the request is recorded",
            hint=f"approve it with `mlpipex approve {name} {version} --to {result.to_stage}`",
        )
    with reg.store.write() as conn:
        registry.update_model(conn, require_model(conn, reg.workspace, name).id, reg.clock())
    if archive_existing and reg.policy_of(_policy(reg, name)).replaced_into(stage) is None:
        for other in search_versions(reg, f"name = '{_quote(name)}'", [], MAX_RESULTS, None).items:
            v = other.version
            if v.version != version and v.stage == result.to_stage:
                promote.promote(reg, name, v.version, "Archived", reason=f"replaced by {version}")
    return get_version(reg, name, version)


def _policy(reg: Registry, name: str) -> Any:
    with reg.store.read() as conn:
        return require_model(conn, reg.workspace, name).policy


def _quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace("'", "\\'")


def search_versions(
    reg: Registry,
    filter: str | None,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> Page[MlflowVersion]:
    only = reg.visible_models()
    statement = _version_search(filter, tuple(order_by), reg.store.dialect, only is not None)
    offset, limit = search.decode_page_token(page_token), _limit(max_results)
    with reg.store.read() as conn:
        found, more = records.search_versions(conn, statement, reg.workspace, limit, offset, only)
    return paged([_mlflow_version(v, s) for v, s in found], more, offset)


# -- filters and order -----------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _version_search(
    filter: str | None, order_by: tuple[str, ...], dialect: str, restricted: bool
) -> sa.Select[Any]:
    """The statement of a version search (``records.version_search``), parsed and built once per
    filter, order and dialect (a pure function of them): SQLAlchemy then neither builds its tree
    nor computes its cache key again."""
    conds = _conditions(filter, "model version filter", versions_too=True, dialect=dialect)
    v = t.versions.c
    order = order_terms(
        order_by,
        {"name": t.models.c.name, "version_number": v.version, **_TIMES_VERSION},
    ) or [v.stage_entered_at.desc(), v.created_at.desc()]  # MLflow: latest updated first
    return records.version_search(conds, order, dialect == "postgresql", restricted)


_TIMES_MODEL: dict[str, sa.ColumnElement[Any]] = {
    "creation_timestamp": t.models.c.created_at,
    "last_updated_timestamp": t.models.c.updated_at,
}
_TIMES_VERSION: dict[str, sa.ColumnElement[Any]] = {
    "creation_timestamp": t.versions.c.created_at,
    "last_updated_timestamp": t.versions.c.stage_entered_at,
}


def _limit(max_results: int) -> int:
    return search.check_max_results(max_results, MAX_RESULTS)


def _conditions(
    text: str | None, what: str, *, versions_too: bool, dialect: str
) -> list[sa.ColumnElement[bool]]:
    """name, tags.KEY (the model's, or the version's for versions), and for versions run_id,
    version_number, current_stage, source_path."""
    v = t.versions.c
    attrs: dict[str, sa.ColumnElement[Any]] = {"name": t.models.c.name}
    if versions_too:
        attrs |= {"run_id": v.run_id, "current_stage": v.stage, "version_number": v.version}
    out: list[sa.ColumnElement[bool]] = []
    for c in search.parse_filter(text, what):
        if versions_too and (c.entity, c.key) == ("attributes", "source_path"):
            s = schema_mlflow.version_sources.c
            cmp = string_cmp(s.source, c.op, c.value, dialect)
            out.append(v.id.in_(sa.select(s.version_id).where(cmp)))
        elif c.entity == "attributes" and c.key in attrs:
            value: Any = c.value
            if c.key == "version_number":
                value = _numbers(value)
            out.append(string_cmp(attrs[c.key], c.op, value, dialect))
        elif c.entity == "tags":
            kv, owner = (t.version_tags, v.id) if versions_too else (t.model_tags, t.models.c.id)
            fk = kv.c.version_id if versions_too else kv.c.model_id
            # != and NOT IN match what lacks the tag too (MLflow hides prompts this way)
            negated = {"!=": "=", "NOT IN": "IN"}.get(c.op)
            cmp = string_cmp(kv.c.value, negated or c.op, c.value, dialect)
            having = owner.in_(sa.select(fk).where(kv.c.key == c.key, cmp))
            out.append(sa.not_(having) if negated else having)
        else:
            raise Invalid(
                f"invalid {what}: {c.entity}.{c.key} is not searchable",
                hint="filter by "
                + ", ".join(attrs)
                + (", source_path" if versions_too else "")
                + " or tags.KEY",
            )
    return out


def _numbers(value: Any) -> Any:
    items = value if isinstance(value, tuple) else (value,)
    if not all(str(x).isdigit() for x in items):
        raise Invalid(f"version_number compares with whole numbers, found {value!r}")
    return tuple(int(x) for x in items) if isinstance(value, tuple) else int(value)
