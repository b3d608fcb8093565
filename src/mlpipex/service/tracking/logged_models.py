"""MLflow 3 logged models: a model's files logged under an experiment (and usually a run),
before any registration. Their files are content-addressed artifact records (scope: the id)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.models import Page
from mlpipex.errors import Invalid, NotFound
from mlpipex.service.context import Registry
from mlpipex.service.mlflow.compat import ensure_default, experiments, paged
from mlpipex.service.registry import search
from mlpipex.service.tracking import checks
from mlpipex.store import schema_mlflow as m
from mlpipex.store.tracking import logged_models as store
from mlpipex.store.tracking.logged_models import ModelMetric as ModelMetric  # re-exported
from mlpipex.store.tracking.records import LoggedModelRecord
from mlpipex.store.tracking.search import int_id, numeric_cmp, string_cmp

MAX_DATASETS = 100

STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_ATTRS = {
    "model_id": "id",
    "name": "name",
    "status": "status",
    "source_run_id": "source_run_id",
    "model_type": "model_type",
    "experiment_id": "experiment_id",
}
_NUMERIC = {"creation_timestamp": "created_at", "last_updated_timestamp": "updated_at"}


@dataclass(frozen=True, slots=True)
class LoggedModel:
    id: str
    experiment_id: str
    name: str
    model_type: str | None
    source_run_id: str | None
    status: str
    status_message: str | None
    creator: str
    created_at: int
    updated_at: int
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: tuple[ModelMetric, ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset that logged models are searched by (its metrics were measured on it)."""

    name: str
    digest: str | None = None


def is_model_id(text: str) -> bool:
    return text.startswith("m-") and len(text) == 34 and text[2:].isalnum()


def create(
    reg: Registry,
    eid: str,
    name: str | None,
    model_type: str | None,
    source_run_id: str | None,
    params: Mapping[str, str],
    tags: Mapping[str, str],
) -> LoggedModel:
    reg.require("editor")
    ensure_default(reg, eid)
    checked_tags, checked_params = checks.check_tags(tags), checks.check_params(params)
    mid = f"m-{uuid.uuid4().hex}"
    now = reg.clock()
    with reg.store.write() as conn:
        (exp,) = experiments(conn, reg.workspace, [eid])
        # the source run is a reference, as in MLflow: one this server does not know is kept
        # (a version registered from the model is then an external reference)
        if source_run_id and len(source_run_id) > 32:
            raise Invalid(f"source_run_id {source_run_id[:40]!r} is longer than 32 characters")
        store.insert(
            conn,
            id=mid,
            experiment_id=exp.id,
            # unnamed models get unique names, as MLflow gives them, so a search tells them apart
            name=(name or f"model-{uuid.uuid4().hex[:8]}")[: checks.MAX_NAME],
            model_type=model_type or None,
            source_run_id=source_run_id or None,
            status="LOGGED_MODEL_PENDING",
            status_message=None,
            creator=reg.actor.name,
            created_at=now,
            updated_at=now,
        )
        store.set_tags(conn, mid, checked_tags)
        store.set_params(conn, mid, checked_params)
    return get(reg, mid)


def get(reg: Registry, model_id: str) -> LoggedModel:
    reg.require("viewer")
    with reg.store.read() as conn:
        return _models(conn, [_require(conn, reg.workspace, model_id)])[0]


def _require(conn: Connection, ws: str, model_id: str) -> LoggedModelRecord:
    """The workspace's logged model; one of another workspace is missing here."""
    row = store.row(conn, ws, model_id)
    if row is None:
        raise NotFound(f"Logged model with ID '{model_id}' not found.")
    return row


def _models(conn: Connection, rows: Sequence[LoggedModelRecord]) -> list[LoggedModel]:
    ids = [r.id for r in rows]
    tags, params = store.tags_of(conn, ids), store.params_of(conn, ids)
    metrics = store.metrics_of(conn, ids)
    return [
        LoggedModel(
            r.id,
            str(r.experiment_id),
            r.name,
            r.model_type,
            r.source_run_id,
            r.status,
            r.status_message,
            r.creator,
            r.created_at,
            r.updated_at,
            tags.get(r.id, {}),
            params.get(r.id, {}),
            tuple(metrics.get(r.id, ())),
        )
        for r in rows
    ]


def _edit(reg: Registry, model_id: str, **values: Any) -> LoggedModel:
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, model_id)
        store.update(conn, model_id, updated_at=reg.clock(), **values)
    return get(reg, model_id)


def finalize(reg: Registry, model_id: str, status: str) -> LoggedModel:
    if status not in STATUSES:
        raise Invalid(f"logged model status {status!r} is not one of " + ", ".join(STATUSES))
    return _edit(reg, model_id, status=status)


def set_tags(reg: Registry, model_id: str, tags: Mapping[str, str]) -> LoggedModel:
    checked = checks.check_tags(tags)
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, model_id)
        store.set_tags(conn, model_id, checked)
    return get(reg, model_id)


MODEL_VERSIONS_TAG = "mlflow.modelVersions"


def add_version(reg: Registry, model_id: str, name: str, version: int) -> None:
    """Record on the logged model a version registered from it (MLflow's mlflow.modelVersions
    tag: a JSON list of {name, version})."""
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, model_id)
        current = store.tags_of(conn, [model_id]).get(model_id, {}).get(MODEL_VERSIONS_TAG)
        listed = json.loads(current) if current else []
        listed.append({"name": name, "version": version})
        store.set_tags(conn, model_id, {MODEL_VERSIONS_TAG: json.dumps(listed)})


def delete_tag(reg: Registry, model_id: str, key: str) -> None:
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, model_id)
        if not store.delete_tag(conn, model_id, key):
            raise NotFound(f"No tag with key {key!r} found for logged model {model_id}")


def log_params(reg: Registry, model_id: str, params: Mapping[str, str]) -> None:
    checked = checks.check_params(params)
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, model_id)
        store.set_params(conn, model_id, checked)


def delete(reg: Registry, model_id: str) -> None:
    """Forget the logged model and its file records; versions registered from it keep theirs."""
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, model_id)
        store.delete(conn, model_id)


def search_models(
    reg: Registry,
    experiment_ids: Sequence[str],
    filter: str | None,
    order_by: Sequence[tuple[str, bool]],
    max_results: int,
    page_token: str | None,
    datasets: Sequence[DatasetRef] = (),
) -> Page[LoggedModel]:
    """Logged models of the experiments matching filter (attributes, tags., params.), and with a
    metric measured on one of datasets when any is given."""
    reg.require("viewer")
    conds = _conditions(search.parse_filter(filter, "logged model filter"), reg.store.dialect)
    if len(datasets) > MAX_DATASETS:
        raise Invalid(f"at most {MAX_DATASETS} datasets to search by, got {len(datasets)}")
    if datasets:
        conds.append(
            sa.or_(*(store.LM.id.in_(store.with_dataset(d.name, d.digest)) for d in datasets))
        )
    cols = {**_ATTRS, **_NUMERIC}
    order = []
    for name, ascending in order_by:
        key = name.removeprefix("attributes.")
        if key not in cols:
            raise Invalid(f"cannot order logged models by {name!r}")
        col = store.LM[cols[key]]
        order.append(col.asc() if ascending else col.desc())
    ids = [i for i in (_int(e) for e in experiment_ids) if i is not None]
    offset = search.decode_page_token(page_token)
    limit = max(1, min(max_results or 100, checks.MAX_RESULTS))
    with reg.store.read() as conn:
        rows = store.search(conn, reg.workspace, ids, conds, order, limit + 1, offset)
        return paged(_models(conn, rows[:limit]), len(rows) > limit, offset)


def _int(v: str) -> int | None:
    return int(v) if str(v).isdigit() else None


def _conditions(clauses: Sequence[search.Comparison], dialect: str) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    for c in clauses:
        if c.entity == "attributes" and c.key in _ATTRS:
            value: Any = c.value
            if c.key == "experiment_id":  # stored as integers, shown as strings
                if isinstance(value, tuple):
                    value = tuple(int_id(v) for v in value)
                else:
                    value = int_id(value)
            out.append(string_cmp(store.LM[_ATTRS[c.key]], c.op, value, dialect))
        elif c.entity == "attributes" and c.key in _NUMERIC:
            out.append(numeric_cmp(store.LM[_NUMERIC[c.key]], c.op, c.value))
        elif c.entity in ("tags", "params"):
            kv = m.logged_model_tags if c.entity == "tags" else m.logged_model_params
            out.append(
                store.LM.id.in_(
                    sa.select(kv.c.model_id).where(
                        kv.c.key == c.key, string_cmp(kv.c.value, c.op, c.value, dialect)
                    )
                )
            )
        else:
            raise Invalid(
                f"invalid logged model filter: {c.entity}.{c.key} is not searchable",
                hint="filter by " + ", ".join([*_ATTRS, *_NUMERIC]) + ", tags.KEY or params.KEY",
            )
    return out
