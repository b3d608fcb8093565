"""Experiment tracking with MLflow's meaning and limits: experiments, runs, params, metrics with
step history, tags, dataset inputs and content-addressed artifacts.

Metrics are logged in one insert and one upsert per call and write no audit event: the event log
is for registry state changes, and tracking must keep up with thousands of values a second.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import Page
from mlpipex.errors import AlreadyExists, Invalid, NotFound
from mlpipex.objects.manifest import store_tree
from mlpipex.service.context import ANONYMOUS, Registry
from mlpipex.service.registry import search
from mlpipex.service.tracking.checks import (
    MAX_RESULTS,
    STATUSES,
    Batch,
    Metric,
    check_artifact_path,
    check_batch,
    check_key,
    check_name,
    check_tags,
)
from mlpipex.store.tracking import runs as store
from mlpipex.store.tracking.records import ExperimentRecord, RunInputRecord, RunRecord
from mlpipex.store.tracking.search import experiment_conditions, run_search

if TYPE_CHECKING:
    from sqlalchemy import Select


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    name: str
    lifecycle_stage: str
    created_at: int
    updated_at: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset a run read: its content digest (``algo:hex``), size, schema and row count."""

    name: str
    uri: str
    digest: str
    size: int | None = None
    schema: dict[str, str] | None = None
    num_rows: int | None = None
    context: str | None = None  # "training", "evaluation"...


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    experiment_id: str
    name: str
    status: str
    lifecycle_stage: str
    user_id: str
    start_time: int
    end_time: int | None
    parent_id: str | None
    commit: str | None
    commit_dirty: bool
    entry_point: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # the latest value of each
    tags: dict[str, str] = field(default_factory=dict)
    inputs: tuple[DatasetInput, ...] = ()

    @property
    def artifact_uri(self) -> str:
        return f"runs:/{self.id}"


# -- experiments -----------------------------------------------------------------------------


def _experiment(row: ExperimentRecord, tags: Mapping[str, str]) -> Experiment:
    return Experiment(
        str(row.id), row.name, row.lifecycle_stage, row.created_at, row.updated_at, dict(tags)
    )


def _exp_id(experiment_id: str | int) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise NotFound(f"experiment {experiment_id!r} does not exist") from None


def create_experiment(
    reg: Registry, name: str, tags: Mapping[str, str] | None = None
) -> Experiment:
    check_name("experiment", name)
    checked = check_tags(tags or {})
    reg.require("editor")
    now = reg.clock()
    with reg.store.write() as conn:
        if store.experiment_row(conn, reg.workspace, name=name) is not None:
            raise AlreadyExists(f"experiment {name!r} already exists")
        fixed = store.default_id(reg.workspace, name)
        eid = store.insert_experiment(conn, reg.workspace, name, now, fixed)
        store.set_experiment_tags(conn, eid, checked)
        row = store.experiment_row(conn, reg.workspace, id=eid)
        assert row is not None  # inserted in this transaction
        return _experiment(row, checked)


def ensure_experiment(reg: Registry, name: str | None = None) -> Experiment:
    """The experiment named name (the Default one when None), created on first use as MLflow's
    set_experiment does."""
    name = check_name("experiment", name or store.DEFAULT_EXPERIMENT)
    with reg.store.read() as conn:
        row = store.experiment_row(conn, reg.workspace, name=name)
    if row is None:
        reg.require("editor")
        with reg.store.write() as conn:
            row, _ = store.ensure_experiment(conn, reg.workspace, name, reg.clock())
    with reg.store.read() as conn:
        return _experiment(row, store.experiment_tags(conn, [row.id]).get(row.id, {}))


def get_experiment(reg: Registry, experiment_id: str | int) -> Experiment:
    reg.require("viewer")
    with reg.store.read() as conn:
        row = store.experiment_row(conn, reg.workspace, id=_exp_id(experiment_id))
        if row is None:
            raise NotFound(f"experiment {experiment_id!r} does not exist")
        return _experiment(row, store.experiment_tags(conn, [row.id]).get(row.id, {}))


def get_experiment_by_name(reg: Registry, name: str) -> Experiment | None:
    """The experiment, or None when there is none by that name (as MLflow)."""
    reg.require("viewer")
    with reg.store.read() as conn:
        row = store.experiment_row(conn, reg.workspace, name=name)
        if row is None:
            return None
        return _experiment(row, store.experiment_tags(conn, [row.id]).get(row.id, {}))


def search_experiments(
    reg: Registry, filter: str | None = None, max_results: int = 1000, page_token: str | None = None
) -> Page[Experiment]:
    """Active experiments matching filter (``name LIKE 'fraud%'``, ``tags.team = 'risk'``)."""
    reg.require("viewer")
    conds = experiment_conditions(
        search.parse_filter(filter, "experiment filter"), reg.store.dialect
    )
    offset, limit = search.decode_page_token(page_token), _limit(max_results)
    with reg.store.read() as conn:
        rows = store.experiment_rows(conn, reg.workspace, conds, limit + 1, offset)
        tags = store.experiment_tags(conn, [r.id for r in rows[:limit]])
    items = [_experiment(r, tags.get(r.id, {})) for r in rows[:limit]]
    return Page(items, search.encode_page_token(offset + limit) if len(rows) > limit else None)


def _limit(max_results: int) -> int:
    return search.check_max_results(max_results, MAX_RESULTS)


# -- runs ------------------------------------------------------------------------------------


@dataclass
class NewRun:
    """What a run records at its start (git and the entry point are read by the caller)."""

    experiment_id: str | int
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    parent_id: str | None = None
    commit: str | None = None
    commit_dirty: bool = False
    entry_point: str | None = None
    start_time: int | None = None
    # who the client says started the run, kept only when the caller is not authenticated
    user_id: str | None = None


def create_run(reg: Registry, new: NewRun) -> Run:
    """A run, in one transaction of three statements: its experiment read, the run and its tags
    inserted. It is returned as written (a new run has no params, metrics or inputs), not read
    back."""
    tags = check_tags(new.tags)
    reg.require("editor")
    run_id = uuid.uuid4().hex
    name = check_name("run", new.name) if new.name else f"run-{run_id[:8]}"
    now = reg.clock()
    with reg.store.write() as conn:
        exp = store.experiment_row(conn, reg.workspace, id=_exp_id(new.experiment_id))
        if exp is None:
            raise NotFound(f"experiment {new.experiment_id!r} does not exist")
        if exp.lifecycle_stage != "active":
            raise Invalid(f"experiment {exp.name!r} is deleted; restore it to start runs in it")
        if new.parent_id is not None and store.run_row(conn, reg.workspace, new.parent_id) is None:
            raise NotFound(f"parent run {new.parent_id!r} does not exist")
        row = RunRecord(
            id=run_id,
            experiment_id=exp.id,
            name=name,
            status="RUNNING",
            lifecycle_stage="active",
            user_id=(new.user_id if reg.actor.name == ANONYMOUS else None) or reg.actor.name,
            start_time=new.start_time or now,
            end_time=None,
            parent_id=new.parent_id,
            commit=new.commit,
            commit_dirty=new.commit_dirty,
            entry_point=new.entry_point,
        )
        store.insert_run(conn, row, tags)
    # in key order, as a read of the run lists them
    return _run(row, tags=dict(sorted(tags.items())))


class RunMissing(NotFound):
    """Typed, like the two below, so a front end can say it in its own words (MLflow's)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} does not exist")
        self.run_id = run_id


class RunNotActive(Invalid):
    def __init__(self, run_id: str, stage: str) -> None:
        super().__init__(f"run {run_id} is {stage}; restore it before logging to it")
        self.run_id, self.stage = run_id, stage


class RunTagMissing(NotFound):
    def __init__(self, run_id: str, key: str) -> None:
        super().__init__(f"run {run_id} has no tag {key!r}")
        self.run_id, self.key = run_id, key


def _require_run(conn: Connection, ws: str, run_id: str, *, active: bool = False) -> RunRecord:
    """The run, when it is in the workspace; one of another workspace is missing, worded as
    one that never was."""
    row = store.run_row(conn, ws, run_id) if isinstance(run_id, str) else None
    if row is None:
        raise RunMissing(run_id)
    if active and row.lifecycle_stage != "active":
        raise RunNotActive(run_id, row.lifecycle_stage)
    return row


def _runs(conn: Connection, rows: Sequence[RunRecord]) -> tuple[list[Run], store.Latest]:
    """The runs of rows, with the latest metrics read (their times and steps, which a Run does
    not keep), all read in one statement."""
    if not rows:
        return [], {}
    d = store.details_of(conn, [r.id for r in rows])
    metrics, inputs = d.metrics, d.inputs
    # most runs of a page have no metrics or inputs: nothing is built for them
    runs = [
        _run(
            r,
            d.params.get(r.id, {}),
            {k: v for k, v, _, _ in metrics[r.id]} if r.id in metrics else {},
            d.tags.get(r.id, {}),
            _inputs(inputs[r.id]) if r.id in inputs else (),
        )
        for r in rows
    ]
    return runs, metrics


def _inputs(records: Sequence[RunInputRecord]) -> tuple[DatasetInput, ...]:
    return tuple(
        DatasetInput(i.name, i.uri, i.digest, i.size, i.schema, i.num_rows, i.context)
        for i in records
    )


def _run(
    r: RunRecord,
    params: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    inputs: tuple[DatasetInput, ...] = (),
) -> Run:
    # by position, checked by mypy: a third less than by keyword, and a page is 50 runs
    return Run(
        r.id,
        str(r.experiment_id),
        r.name,
        r.status,
        r.lifecycle_stage,
        r.user_id,
        r.start_time,
        r.end_time,
        r.parent_id,
        r.commit,
        r.commit_dirty,
        r.entry_point,
        params or {},
        metrics or {},
        tags or {},
        inputs,
    )


def get_run(reg: Registry, run_id: str) -> Run:
    reg.require("viewer")
    with reg.store.read() as conn:
        return run_in(conn, reg.workspace, run_id)


def run_in(conn: Connection, ws: str, run_id: str) -> Run:
    """The workspace's run, read in the caller's transaction (the caller holds the viewer
    role)."""
    return _runs(conn, [_require_run(conn, ws, run_id)])[0][0]


def end_run(
    reg: Registry, run_id: str, status: str = "FINISHED", end_time: int | None = None
) -> Run:
    if status not in STATUSES or status in ("RUNNING", "SCHEDULED"):
        raise Invalid(
            f"run status {status!r} does not end a run", hint="use FINISHED, FAILED or KILLED"
        )
    return set_status(reg, run_id, status, end_time)


def set_status(reg: Registry, run_id: str, status: str, end_time: int | None = None) -> Run:
    if status not in STATUSES:
        raise Invalid(f"unknown run status {status!r}", hint="statuses are " + ", ".join(STATUSES))
    reg.require("editor")
    ended = None if status in ("RUNNING", "SCHEDULED") else (end_time or reg.clock())
    with reg.store.write() as conn:
        _require_run(conn, reg.workspace, run_id, active=True)
        store.update_run(conn, run_id, status=status, end_time=ended)
    return get_run(reg, run_id)


def delete_run(reg: Registry, run_id: str, *, restore: bool = False) -> None:
    """Mark a run deleted (or active again); its rows and artifacts stay, as in MLflow."""
    reg.require("editor")
    with reg.store.write() as conn:
        _require_run(conn, reg.workspace, run_id)
        store.update_run(conn, run_id, lifecycle_stage="active" if restore else "deleted")


def write_batch(conn: Connection, ws: str, run_id: str, batch: Batch) -> None:
    """Write a checked batch in the caller's transaction (the caller holds the editor role). A
    param keeps its first value: logging it again with a different value is refused (MLflow's
    rule)."""
    _require_run(conn, ws, run_id, active=True)
    if batch.params:
        old = store.existing_params(conn, run_id, batch.params)
        changed = sorted(k for k, v in batch.params.items() if k in old and old[k] != v)
        if changed:
            k = changed[0]
            raise Invalid(
                f"run {run_id}: param {k!r} was logged as {old[k]!r} and cannot change to "
                f"{batch.params[k]!r}",
                hint="params are immutable; log a tag or a metric for values that change",
            )
        store.insert_params(conn, run_id, {k: v for k, v in batch.params.items() if k not in old})
    store.set_run_tags(conn, run_id, batch.tags)
    store.log_metrics(conn, run_id, batch.metrics)


def log_batch(
    reg: Registry,
    run_id: str,
    metrics: Sequence[Metric] = (),
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """Log everything in one transaction, or nothing when any item is invalid."""
    batch = check_batch(metrics, params, tags)
    reg.require("editor")
    with reg.store.write() as conn:
        write_batch(conn, reg.workspace, run_id, batch)


def delete_tag(reg: Registry, run_id: str, key: str) -> None:
    reg.require("editor")
    with reg.store.write() as conn:
        _require_run(conn, reg.workspace, run_id, active=True)
        if not store.delete_run_tag(conn, run_id, key):
            raise RunTagMissing(run_id, key)


def metric_history(reg: Registry, run_id: str, key: str) -> list[Metric]:
    """Every value logged for key, by step then time."""
    reg.require("viewer")
    with reg.store.read() as conn:
        _require_run(conn, reg.workspace, run_id)
        rows = store.metric_history(conn, run_id, key)
    return [Metric(k, v, ts, step) for k, v, ts, step in rows]


def log_input(reg: Registry, run_id: str, dataset: DatasetInput) -> None:
    check_key("dataset", dataset.name)
    if not dataset.digest:
        raise Invalid(f"dataset {dataset.name!r} has no digest")
    reg.require("editor")
    with reg.store.write() as conn:
        _require_run(conn, reg.workspace, run_id, active=True)
        store.set_input(
            conn,
            run_id,
            name=dataset.name,
            uri=dataset.uri,
            digest=dataset.digest,
            size=dataset.size,
            schema=dataset.schema,
            num_rows=dataset.num_rows,
            context=dataset.context,
        )


@dataclass(frozen=True, slots=True)
class RunQuery:
    """A checked search over runs: its statement (``store.tracking.search.run_search``), which
    experiments (one id, or a list, as the statement was built for) and stages, and the page."""

    statement: Select[Any]
    workspace: str
    experiments: int | list[int]
    stages: list[str]
    offset: int
    limit: int


def run_query(
    reg: Registry,
    experiment_ids: Sequence[str | int],
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    view: str = "active",
) -> RunQuery:
    reg.require("viewer")
    stages = {"active": ["active"], "deleted": ["deleted"], "all": ["active", "deleted"]}.get(view)
    if stages is None:
        raise Invalid(f"run view {view!r} is not active, deleted or all")
    ids = [i for i in (_search_id(e) for e in experiment_ids) if i is not None]
    offset, limit = search.decode_page_token(page_token), _limit(max_results)
    default_too = store.names_default(reg.workspace, ids)
    one = len(ids) == 1  # MLflow's usual search: its runs come along an index, unsorted
    order = tuple(order_by or ())
    statement = _run_search(filter, order, reg.store.dialect, default_too, one)
    return RunQuery(statement, reg.workspace, ids[0] if one else ids, stages, offset, limit)


@functools.lru_cache(maxsize=256)
def _run_search(
    filter: str | None, order_by: tuple[str, ...], dialect: str, default_too: bool, one: bool
) -> Select[Any]:
    """A run search's statement, its filter and order parsed once per text (a pure function of
    its arguments, as ``run_search`` is of the terms parsed)."""
    clauses, order = tuple(search.parse_filter(filter)), search.parse_order(order_by)
    return run_search(clauses, order, dialect, default_too, one)


def query_runs(conn: Connection, q: RunQuery) -> Page[Run]:
    """The page of runs q asks for, in the caller's transaction."""
    return query_runs_latest(conn, q)[0]


def query_runs_latest(conn: Connection, q: RunQuery) -> tuple[Page[Run], store.Latest]:
    """query_runs, with the latest metrics it read (their timestamps and steps, which a Run
    does not keep) for a front end that shows them: one statement fewer than reading again."""
    rows = store.search_run_rows(
        conn, q.statement, q.workspace, q.experiments, q.stages, q.limit + 1, q.offset
    )
    items, latest = _runs(conn, rows[: q.limit])
    more = len(rows) > q.limit
    return Page(items, search.encode_page_token(q.offset + q.limit) if more else None), latest


def search_runs(
    reg: Registry,
    experiment_ids: Sequence[str | int],
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    view: str = "active",
) -> Page[Run]:
    """Runs of the experiments matching filter, in MLflow's grammar; newest first by default."""
    q = run_query(reg, experiment_ids, filter, order_by, max_results, page_token, view)
    with reg.store.read() as conn:
        return query_runs(conn, q)


def _search_id(experiment_id: str | int) -> int | None:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        return None  # an id that cannot exist matches no run, as MLflow


# -- artifacts -------------------------------------------------------------------------------


def log_artifacts(
    reg: Registry, run_id: str, local: Path, artifact_path: str = ""
) -> list[FileEntry]:
    """Store a file (as artifact_path/NAME) or a directory's files (under artifact_path) as
    content-addressed objects and list them on the run."""
    prefix = check_artifact_path(artifact_path)
    with reg.store.read() as conn:
        _require_run(conn, reg.workspace, run_id, active=True)
    manifest = store_tree(reg.objects, local)
    files = [
        FileEntry(f"{prefix}/{e.path}" if prefix else e.path, e.digest, e.size)
        for e in manifest.files
    ]
    record_artifacts(reg, run_id, files)
    return files


def record_artifacts(reg: Registry, run_id: str, files: Sequence[FileEntry]) -> None:
    """List objects already in the store as the run's artifacts."""
    reg.require("editor")
    for f in files:
        check_artifact_path(f.path)
    missing = reg.objects.missing(f.digest for f in files)
    if missing:
        raise NotFound(
            f"{len(missing)} artifact object(s) are not in the object store, e.g. "
            f"{sorted(missing)[0]}"
        )
    with reg.store.write() as conn:
        _require_run(conn, reg.workspace, run_id, active=True)
        store.put_artifacts(conn, run_id, [(f.path, f.digest, f.size) for f in files])


def list_artifacts(reg: Registry, run_id: str, path: str = "") -> list[FileEntry]:
    """The run's artifact files at path or under it, with paths relative to the run."""
    prefix = check_artifact_path(path)
    reg.require("viewer")
    with reg.store.read() as conn:
        held = store.artifacts_in(conn, reg.workspace, run_id, prefix)
    if held is None:
        raise RunMissing(run_id)
    return held.files
