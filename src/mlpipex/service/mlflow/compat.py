"""Tracking as MLflow's API sees it, over service/tracking: the Default experiment, experiment
edits and views, run names and git commits read from MLflow's tags, dataset inputs kept as
MLflow sent them (and as native inputs, which registration inherits), and run outputs."""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.models import Page
from mlpipex.domain.workspaces import DEFAULT_WORKSPACE
from mlpipex.errors import AlreadyExists, Invalid, NotFound
from mlpipex.service.context import Registry
from mlpipex.service.registry import search
from mlpipex.service.tracking import checks
from mlpipex.service.tracking import runs as tracking
from mlpipex.service.tracking.checks import Metric
from mlpipex.service.tracking.runs import DatasetInput, Experiment, NewRun, Run
from mlpipex.store import schema as t
from mlpipex.store.mlflow import records
from mlpipex.store.mlflow.records import MlflowDataset as MlflowDataset  # re-exported
from mlpipex.store.tracking import logged_models as lm_store
from mlpipex.store.tracking import runs as store
from mlpipex.store.tracking.logged_models import ModelMetric
from mlpipex.store.tracking.records import ExperimentRecord
from mlpipex.store.tracking.runs import Latest
from mlpipex.store.tracking.search import experiment_conditions

GIT_COMMIT_TAG = "mlflow.source.git.commit"
SOURCE_NAME_TAG = "mlflow.source.name"
RUN_NAME_TAG = "mlflow.runName"
CONTEXT_TAG = "mlflow.data.context"
T = TypeVar("T")
VIEWS = {"ACTIVE_ONLY": ["active"], "DELETED_ONLY": ["deleted"], "ALL": ["active", "deleted"]}
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
_DEFAULT_READY: set[str] = set()
_DEFAULT_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class MlflowRun:
    run: Run
    datasets: tuple[MlflowDataset, ...] = ()
    outputs: tuple[tuple[str, int], ...] = ()  # (logged model id, step)
    metrics: dict[str, tuple[float, int, int]] = field(default_factory=dict)  # value, time, step
    model_inputs: tuple[str, ...] = ()  # logged model ids


# -- experiments -------------------------------------------------------------------------------


def ensure_default(reg: Registry, eid: str | None = None) -> None:
    """The Default experiment MLflow clients assume, named 0 (they send it when no experiment
    is set). ``default``'s, id 0, is made on first use, checked once per store. Elsewhere 0
    names the workspace's own Default, made when eid (what a run, logged model or trace is
    created in) names it, so ``mlflow.start_run()`` works there too, while a workspace only
    looked at stays empty and can be deleted. (MLflow 3.17 makes none outside ``default`` and
    answers RESOURCE_DOES_NOT_EXIST to such a run.)"""
    if reg.workspace != DEFAULT_WORKSPACE:
        if eid is not None and _names_default(eid):
            # one read when it is there, as it is after the first call: its tags are not needed
            with reg.store.read() as conn:
                there = store.experiment_row(conn, reg.workspace, name=store.DEFAULT_EXPERIMENT)
            if there is None:
                tracking.ensure_experiment(reg, None)
        return
    if reg.store.url in _DEFAULT_READY:
        return
    tracking.ensure_experiment(reg, None)
    with _DEFAULT_LOCK:
        _DEFAULT_READY.add(reg.store.url)


def _names_default(eid: str) -> bool:
    return not eid or (eid.isdigit() and int(eid) == store.DEFAULT_EXPERIMENT_ID)


def experiment_id(value: str | int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound(f"experiment {value!r} does not exist") from None


def experiments(conn: Connection, ws: str, eids: Sequence[str]) -> list[ExperimentRecord]:
    """The workspace's experiments that eids name (0: its Default), in their order without
    repeats, read in one statement; NotFound names the first that is not there (an id that is
    not a number included)."""
    named = {experiment_id(e): e for e in eids}
    query = store.experiment_ids_in(ws, list(named)).with_only_columns(t.experiments)
    found = [ExperimentRecord.of(r) for r in conn.execute(query)]
    by_id = {r.id: r for r in found}
    # outside ``default`` 0 is not a row id: it names the experiment that is the Default there
    for r in found:
        if store.is_default(ws, r):
            by_id.setdefault(store.DEFAULT_EXPERIMENT_ID, r)
    out = []
    for key, eid in named.items():
        row = by_id.get(key)
        if row is None:
            raise NotFound(f"experiment {eid!r} does not exist")
        out.append(row)
    return out


def experiment_key(conn: Connection, ws: str, eid: str) -> int:
    """The row id of the workspace's experiment eid names, or NotFound."""
    return experiments(conn, ws, [eid])[0].id


def create_experiment(
    reg: Registry, name: str, tags: Mapping[str, str], artifact_location: str = ""
) -> Experiment:
    """An experiment; an artifact location of its own is refused rather than dropped: every
    artifact goes through this server's proxy into the object store."""
    if artifact_location:
        raise Invalid(
            f"artifact_location {artifact_location[:200]!r} is not supported: this server keeps "
            "every experiment's artifacts itself (mlflow-artifacts:/, content-addressed)",
            hint="create the experiment without artifact_location",
        )
    ensure_default(reg)
    return tracking.create_experiment(reg, name, tags)


def get_experiment(reg: Registry, eid: str) -> Experiment:
    ensure_default(reg)
    return tracking.get_experiment(reg, eid)


def get_experiment_by_name(reg: Registry, name: str) -> Experiment:
    ensure_default(reg)
    found = tracking.get_experiment_by_name(reg, name)
    if found is None:
        raise NotFound(f"experiment {name!r} does not exist")
    return found


def search_experiments(
    reg: Registry,
    filter: str | None,
    view: str,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> Page[Experiment]:
    ensure_default(reg)
    reg.require("viewer")
    stages = VIEWS.get(view or "ACTIVE_ONLY")
    if stages is None:
        raise Invalid(f"view_type {view!r} is not one of " + ", ".join(VIEWS))
    conds = experiment_conditions(
        search.parse_filter(filter, "experiment filter"), reg.store.dialect
    )
    order = _experiment_order(order_by)
    offset = search.decode_page_token(page_token)
    search.check_max_results(max_results, checks.MAX_RESULTS)
    with reg.store.read() as conn:
        rows = records.experiment_rows(
            conn, reg.workspace, stages, conds, order, max_results + 1, offset
        )
        tags = store.experiment_tags(conn, [r.id for r in rows[:max_results]])
    items = [
        Experiment(
            str(r.id), r.name, r.lifecycle_stage, r.created_at, r.updated_at, tags.get(r.id, {})
        )
        for r in rows[:max_results]
    ]
    return paged(items, len(rows) > max_results, offset)


_EXP_ORDER = {
    "name": "name",
    "experiment_id": "id",
    "creation_time": "created_at",
    "last_update_time": "updated_at",
}


def _experiment_order(order_by: Sequence[str]) -> list[sa.ColumnElement[Any]]:
    e = t.experiments.c
    if not order_by:
        return [e.created_at.desc()]
    return order_terms(order_by, {k: e[c] for k, c in _EXP_ORDER.items()})


def order_terms(order_by: Sequence[str], cols: Mapping[str, Any]) -> list[Any]:
    """ORDER BY terms for MLflow's ``KEY [ASC|DESC]`` strings over the columns named."""
    out = []
    for text in order_by:
        parts = text.split()
        key = parts[0].removeprefix("attributes.") if parts else ""
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if key not in cols or len(parts) > 2 or direction not in ("ASC", "DESC"):
            raise Invalid(
                f"invalid order_by {text!r}", hint="order by " + ", ".join(cols) + " [ASC|DESC]"
            )
        out.append(cols[key].desc() if direction == "DESC" else cols[key].asc())
    return out


def paged(items: list[T], more: bool, offset: int) -> Page[T]:
    """A page of items read from offset, with the token of the next page when there is more."""
    return Page(items, search.encode_page_token(offset + len(items)) if more else None)


def _edit_experiment(reg: Registry) -> None:
    reg.require("editor")
    ensure_default(reg)


def rename_experiment(reg: Registry, eid: str, new_name: str) -> None:
    _edit_experiment(reg)
    if not new_name or not new_name.strip() or len(new_name) > checks.MAX_NAME:
        raise Invalid(f"experiment name {new_name[:40]!r} must be 1 to {checks.MAX_NAME} chars")
    with reg.store.write() as conn:
        (row,) = experiments(conn, reg.workspace, [eid])
        other = store.experiment_row(conn, reg.workspace, name=new_name)
        if other is not None and other.id != row.id:
            raise AlreadyExists(f"experiment {new_name!r} already exists")
        records.update_experiment(conn, row.id, name=new_name, updated_at=reg.clock())


def set_experiment_deleted(reg: Registry, eid: str, deleted: bool) -> None:
    """Delete (or restore) an experiment and its runs, as MLflow: marked, nothing removed."""
    _edit_experiment(reg)
    stage = "deleted" if deleted else "active"
    with reg.store.write() as conn:
        (row,) = experiments(conn, reg.workspace, [eid])
        if deleted and store.is_default(reg.workspace, row):
            raise Invalid(f"the Default experiment (id {eid}) cannot be deleted")
        records.update_experiment(conn, row.id, lifecycle_stage=stage, updated_at=reg.clock())
        conn.execute(
            sa.update(t.runs).where(t.runs.c.experiment_id == row.id).values(lifecycle_stage=stage)
        )


def set_experiment_tag(reg: Registry, eid: str, key: str, value: str) -> None:
    tags = checks.check_tags({key: value})
    _edit_experiment(reg)
    with reg.store.write() as conn:
        store.set_experiment_tags(conn, experiment_key(conn, reg.workspace, eid), tags)


def delete_experiment_tag(reg: Registry, eid: str, key: str) -> None:
    _edit_experiment(reg)
    with reg.store.write() as conn:
        if not records.delete_experiment_tag(conn, experiment_key(conn, reg.workspace, eid), key):
            raise NotFound(f"experiment {eid} has no tag {key!r}")


# -- runs --------------------------------------------------------------------------------------


def create_run(
    reg: Registry,
    eid: str,
    run_name: str | None,
    start_time: int | None,
    tags: Mapping[str, str],
    user_id: str = "",
) -> MlflowRun:
    """A run, with its commit and entry point read from MLflow's source tags; user_id is who
    the client says runs it (kept when the server does not authenticate)."""
    ensure_default(reg, eid)
    name = run_name or tags.get(RUN_NAME_TAG) or f"run-{secrets.token_hex(4)}"
    run = tracking.create_run(
        reg,
        NewRun(
            experiment_id=eid or str(store.DEFAULT_EXPERIMENT_ID),
            name=name,
            tags={**tags, RUN_NAME_TAG: name},
            commit=_commit(tags),
            entry_point=tags.get(SOURCE_NAME_TAG),
            start_time=start_time,
            user_id=user_id[:256] or None,
        ),
    )
    return MlflowRun(run)  # a new run has no metrics, inputs or outputs yet


def _commit(tags: Mapping[str, str]) -> str | None:
    sha = tags.get(GIT_COMMIT_TAG)
    return sha if sha and _SHA.fullmatch(sha) else None


def update_run(
    reg: Registry, run_id: str, status: str | None, end_time: int | None, run_name: str | None
) -> Run:
    reg.require("editor")  # a write, even when nothing is sent to change
    if run_name:
        tracking.log_batch(reg, run_id, tags={RUN_NAME_TAG: run_name})
        with reg.store.write() as conn:
            store.update_run(conn, run_id, name=run_name)
    if status:
        return tracking.set_status(reg, run_id, status, end_time)
    return tracking.get_run(reg, run_id)


def log_batch(
    reg: Registry,
    run_id: str,
    metrics: Sequence[Metric] = (),
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    model_metrics: Sequence[ModelMetric] = (),
) -> None:
    """tracking's batch in one transaction, with what MLflow's tags say about the run (the git
    commit tag becomes its commit, the run name tag its name); model_metrics, those of metrics
    logged with a model_id, are kept on their logged models too."""
    batch = checks.check_batch(metrics, params, tags)
    reg.require("editor")
    updates: dict[str, str] = {}
    if (sha := _commit(batch.tags)) is not None:
        updates["commit"] = sha
    if batch.tags.get(RUN_NAME_TAG):
        updates["name"] = batch.tags[RUN_NAME_TAG][: checks.MAX_NAME]
    with reg.store.write() as conn:
        tracking.write_batch(conn, reg.workspace, run_id, batch)
        if updates:
            store.update_run(conn, run_id, **updates)
        if model_metrics:
            wanted = sorted({x.model_id for x in model_metrics})
            missing = set(wanted) - lm_store.existing(conn, reg.workspace, wanted)
            if missing:
                raise NotFound(f"Logged model with ID '{min(missing)}' not found.")
            lm_store.put_metrics(conn, model_metrics)


def log_inputs(
    reg: Registry, run_id: str, datasets: Sequence[MlflowDataset], models: Sequence[str] = ()
) -> None:
    """Record each dataset as MLflow sent it and as the run's native input (name, source URI,
    digest, rows), which registration from the run inherits; and the logged models it read."""
    reg.require("editor")  # a write, even when the list is empty
    if models:
        with reg.store.write() as conn:
            if store.run_row(conn, reg.workspace, run_id) is None:
                raise tracking.RunMissing(run_id)
            records.put_model_inputs(conn, run_id, models)
    for d in datasets:
        if not d.name or not d.digest:
            raise Invalid("a dataset input needs a name and a digest")
        context = dict(d.tags).get(CONTEXT_TAG)
        tracking.log_input(
            reg,
            run_id,
            DatasetInput(
                name=d.name,
                uri=_source_uri(d),
                digest=d.digest,
                num_rows=_num_rows(d.profile),
                context=context,
            ),
        )
    with reg.store.write() as conn:
        for d in datasets:
            records.put_dataset_input(
                conn,
                run_id,
                name=d.name,
                digest=d.digest,
                source_type=d.source_type,
                source=d.source,
                schema=d.schema,
                profile=d.profile,
                tags=[list(kv) for kv in d.tags],
            )


def _source_uri(d: MlflowDataset) -> str:
    try:
        src = json.loads(d.source)
    except ValueError:
        return d.source
    if isinstance(src, dict):
        for key in ("uri", "url", "path", "table_name"):
            if isinstance(src.get(key), str):
                return str(src[key])
    return f"{d.source_type}:{d.source}"[:4096]


def _num_rows(profile: str | None) -> int | None:
    try:
        rows = json.loads(profile or "{}").get("num_rows")
    except (ValueError, AttributeError):
        return None
    return rows if isinstance(rows, int) else None


def log_outputs(reg: Registry, run_id: str, models: Mapping[str, int]) -> None:
    reg.require("editor")
    with reg.store.write() as conn:
        if store.run_row(conn, reg.workspace, run_id) is None:
            raise tracking.RunMissing(run_id)
        records.put_outputs(conn, run_id, models)


def get_run(reg: Registry, run_id: str) -> MlflowRun:
    reg.require("viewer")
    with reg.store.read() as conn:
        return _with_extras(conn, [tracking.run_in(conn, reg.workspace, run_id)])[0]


def search_runs(
    reg: Registry,
    experiment_ids: Sequence[str],
    filter: str | None,
    view: str,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> Page[MlflowRun]:
    stages = VIEWS.get(view or "ACTIVE_ONLY")
    if stages is None:
        raise Invalid(f"run_view_type {view!r} is not one of " + ", ".join(VIEWS))
    view_name = {"ACTIVE_ONLY": "active", "DELETED_ONLY": "deleted", "ALL": "all"}[
        view or "ACTIVE_ONLY"
    ]
    q = tracking.run_query(
        reg, experiment_ids, filter, order_by, max_results, page_token, view_name
    )
    with reg.store.read() as conn:  # the page and what MLflow shows beside it, read at once
        page, latest = tracking.query_runs_latest(conn, q)
        return Page(_with_extras(conn, page.items, latest), page.next_token)


def _with_extras(
    conn: Connection, runs: Sequence[Run], metrics: Latest | None = None
) -> list[MlflowRun]:
    ids = [r.id for r in runs]
    if not ids:
        return []
    extras = records.extras_of(conn, ids)
    inputs, outputs, model_inputs = extras.datasets, extras.outputs, extras.model_inputs
    if metrics is None:
        metrics = store.latest_metrics_of(conn, ids)
    # most runs of a page have none of these: nothing is built for them
    return [
        MlflowRun(
            r,
            tuple(inputs[r.id]) if r.id in inputs else (),
            tuple(outputs[r.id]) if r.id in outputs else (),
            {k: (v, ts, step) for k, v, ts, step in metrics[r.id]} if r.id in metrics else {},
            tuple(model_inputs[r.id]) if r.id in model_inputs else (),
        )
        for r in runs
    ]


MAX_DATASET_EXPERIMENTS = 20
MAX_DATASET_SUMMARIES = 1000


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    experiment_id: str
    name: str
    digest: str
    context: str | None


def dataset_summaries(reg: Registry, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
    """The datasets the experiments' runs logged, each once per (name, digest, context)."""
    if not experiment_ids:
        raise Invalid("SearchDatasets request must specify at least one experiment_id.")
    if len(experiment_ids) > MAX_DATASET_EXPERIMENTS:
        raise Invalid(
            f"SearchDatasets request cannot specify more than {MAX_DATASET_EXPERIMENTS} "
            f"experiment_ids. Received {len(experiment_ids)} experiment_ids."
        )
    reg.require("viewer")
    ids = [experiment_id(e) for e in experiment_ids]
    with reg.store.read() as conn:
        rows = records.dataset_summaries(conn, reg.workspace, ids, MAX_DATASET_SUMMARIES)
    found = {
        DatasetSummary(str(r.experiment_id), r.name, r.digest, dict(r.tags).get(CONTEXT_TAG))
        for r in rows
    }
    return sorted(found, key=lambda s: (s.experiment_id, s.name, s.digest, s.context or ""))
