"""MLflow evaluation datasets: named record sets a team evaluates against, with tags, linked to
any number of experiments; created, read, searched, tagged, linked and deleted here (their
records: ``eval_records.py``)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.evaluation import EvalDataset
from mlpipex.domain.models import Page
from mlpipex.errors import Invalid, NotFound
from mlpipex.service.context import Registry
from mlpipex.service.mlflow.compat import ensure_default, experiments, order_terms, paged
from mlpipex.service.registry import search
from mlpipex.service.tracking import checks
from mlpipex.store import schema_genai
from mlpipex.store.tracking import eval_datasets as store
from mlpipex.store.tracking.search import numeric_cmp, string_cmp

MAX_NAME = 250
MAX_TAGS = 1000
MAX_EXPERIMENTS = 100
MAX_RESULTS = 1000
MAX_TEXT = 1_000_000  # characters of a schema or profile
D = store.D
TAG_VALUE = schema_genai.eval_dataset_tags.c.value
GRAMMAR = search.Grammar(
    entities={"tag": "tags", "tags": "tags", "attribute": "attributes", "attributes": "attributes"},
    numeric_entities=frozenset(),
    numeric_keys=frozenset(("attributes", k) for k in ("created_time", "last_update_time")),
)
_STRINGS: dict[str, sa.ColumnElement[Any]] = {
    "name": D.name,
    "dataset_id": D.id,
    "digest": D.digest,
    "created_by": D.created_by,
    "last_updated_by": D.last_updated_by,
}
_NUMBERS: dict[str, sa.ColumnElement[Any]] = {
    "created_time": D.created_time,
    "last_update_time": D.last_update_time,
}


def missing(dataset_id: str) -> NotFound:
    return NotFound(f"Evaluation dataset with id '{dataset_id[:80]}' not found")


def require(conn: Connection, ws: str, dataset_id: str) -> EvalDataset:
    found = store.dataset(conn, ws, dataset_id)
    if found is None:
        raise missing(dataset_id)
    return found


def check_tags(tags: Mapping[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise Invalid(f"at most {MAX_TAGS} dataset tags at a time, got {len(tags)}")
    for key in tags:
        if not 0 < len(key) <= checks.MAX_KEY:
            raise Invalid(f"a dataset tag key is 1 to {checks.MAX_KEY} characters: {key[:80]!r}")


def _experiment_keys(conn: Connection, ws: str, experiment_ids: Sequence[str]) -> list[int]:
    if len(experiment_ids) > MAX_EXPERIMENTS:
        raise Invalid(f"at most {MAX_EXPERIMENTS} experiments at a time, got {len(experiment_ids)}")
    return [e.id for e in experiments(conn, ws, experiment_ids)]


def create(
    reg: Registry,
    name: str,
    experiment_ids: Sequence[str],
    tags: Mapping[str, str],
    schema: str | None = None,
    profile: str | None = None,
    created_by: str | None = None,
) -> EvalDataset:
    reg.require("editor")
    if not 0 < len(name) <= MAX_NAME:
        raise Invalid(f"a dataset name is 1 to {MAX_NAME} characters")
    if len(schema or "") > MAX_TEXT or len(profile or "") > MAX_TEXT:
        raise Invalid(f"a dataset's schema and profile are at most {MAX_TEXT} characters each")
    check_tags(tags)
    for eid in experiment_ids:
        ensure_default(reg, eid)
    now = reg.clock()
    made = EvalDataset(
        dataset_id=f"d-{uuid.uuid4().hex}",
        name=name,
        digest=hashlib.sha256(f"{name}\n{now}".encode()).hexdigest()[:16],
        created_time=now,
        last_update_time=now,
        created_by=created_by or reg.actor.name,
        last_updated_by=created_by or reg.actor.name,
        schema=schema,
        profile=profile,
        tags=dict(tags),
    )
    with reg.store.write() as conn:
        keys = _experiment_keys(conn, reg.workspace, experiment_ids)
        store.insert(conn, reg.workspace, made)
        store.link(conn, made.dataset_id, keys)
        return require(conn, reg.workspace, made.dataset_id)


def get(reg: Registry, dataset_id: str) -> EvalDataset:
    reg.require("viewer")
    with reg.store.read() as conn:
        return require(conn, reg.workspace, dataset_id)


def delete(reg: Registry, dataset_id: str) -> None:
    reg.require("editor")
    with reg.store.write() as conn:
        if not store.delete(conn, dataset_id):
            raise missing(dataset_id)


def set_tags(reg: Registry, dataset_id: str, tags: Mapping[str, str]) -> EvalDataset:
    """Tags merged into the dataset's (a key given again takes the new value)."""
    reg.require("editor")
    check_tags(tags)
    with reg.store.write() as conn:
        require(conn, reg.workspace, dataset_id)
        store.put_tags(conn, dataset_id, tags)
        store.touch(conn, dataset_id, reg.clock(), reg.actor.name, None)
        return require(conn, reg.workspace, dataset_id)


def delete_tag(reg: Registry, dataset_id: str, key: str) -> None:
    reg.require("editor")
    with reg.store.write() as conn:
        require(conn, reg.workspace, dataset_id)
        store.delete_tag(conn, dataset_id, key)  # a tag already gone is no error, as MLflow
        store.touch(conn, dataset_id, reg.clock(), reg.actor.name, None)


def add_experiments(reg: Registry, dataset_id: str, experiment_ids: Sequence[str]) -> EvalDataset:
    """Link the dataset to the experiments too (linking again changes nothing)."""
    reg.require("editor")
    with reg.store.write() as conn:
        require(conn, reg.workspace, dataset_id)
        store.link(conn, dataset_id, _experiment_keys(conn, reg.workspace, experiment_ids))
        return require(conn, reg.workspace, dataset_id)


def remove_experiments(
    reg: Registry, dataset_id: str, experiment_ids: Sequence[str]
) -> EvalDataset:
    """Unlink the dataset from the experiments (one not linked is no error)."""
    reg.require("editor")
    with reg.store.write() as conn:
        require(conn, reg.workspace, dataset_id)
        store.unlink(conn, dataset_id, _experiment_keys(conn, reg.workspace, experiment_ids))
        return require(conn, reg.workspace, dataset_id)


def search_datasets(
    reg: Registry,
    experiment_ids: Sequence[str],
    filter: str | None,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> Page[EvalDataset]:
    reg.require("viewer")
    search.check_max_results(max_results, MAX_RESULTS)
    conds = _conditions(filter, reg.store.dialect)
    order = order_terms(order_by, {**_NUMBERS, "name": D.name}) or [D.created_time.desc()]
    offset = search.decode_page_token(page_token)
    with reg.store.read() as conn:
        if experiment_ids:
            conds.append(
                store.in_experiments(_experiment_keys(conn, reg.workspace, experiment_ids))
            )
        found = store.search(conn, reg.workspace, conds, order, max_results + 1, offset)
    return paged(found[:max_results], len(found) > max_results, offset)


def _conditions(text: str | None, dialect: str) -> list[sa.ColumnElement[bool]]:
    """name, dataset_id, digest, created_by, last_updated_by, created_time, last_update_time
    (bare or prefixed attributes.) and tags.KEY."""
    out: list[sa.ColumnElement[bool]] = []
    for c in search.parse_filter(text, "dataset filter", GRAMMAR):
        key = c.key.lower()
        if c.entity == "tags":
            out.append(store.tag_cmp(c.key, string_cmp(TAG_VALUE, c.op, c.value, dialect)))
        elif key in _NUMBERS:
            out.append(numeric_cmp(_NUMBERS[key], c.op, c.value))
        elif key in _STRINGS:
            out.append(string_cmp(_STRINGS[key], c.op, c.value, dialect))
        else:
            raise Invalid(
                f"invalid dataset filter: {c.entity}.{c.key} is not searchable",
                hint="filter by name, tags.KEY, created_time or last_update_time",
            )
    return out
