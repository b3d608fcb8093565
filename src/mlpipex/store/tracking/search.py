"""MLflow's search filters and orders compiled to SQL: the comparisons the parser
(``service/registry/search.py``) reads, made WHERE and ORDER BY terms over runs and experiments,
and the statement of a run search, built once per filter, order and dialect.

A search statement is a pure function of its filter, order and dialect (the workspace, the
experiments, the stages and the page are bound at execution), so it is kept: SQLAlchemy then
neither builds its tree nor computes its cache key again, which cost more than SQLite running
it.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mlpipex.errors import Invalid
from mlpipex.store import schema as t
from mlpipex.store.ids import in_ids
from mlpipex.store.tracking.runs import RUN_COLUMNS, experiments_among


@dataclass(frozen=True)
class Comparison:
    entity: str  # metrics, params, tags, attributes, datasets
    key: str
    op: str  # canonical: =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN
    value: float | str | tuple[str, ...]


@dataclass(frozen=True)
class OrderTerm:
    """One ``order_by`` item, parsed: ``metrics.auc DESC``."""

    entity: str
    key: str
    desc: bool
    text: str  # as the caller wrote it, for errors


# Run attributes by their MLflow names; "created" is MLflow's alias of start_time.
RUN_STRING_ATTRS = {
    "run_id": "id",
    "run_name": "name",
    "status": "status",
    "user_id": "user_id",
    "lifecycle_stage": "lifecycle_stage",
    "commit": "commit",
    "parent_run_id": "parent_id",
    "entry_point": "entry_point",
}
RUN_NUMERIC_ATTRS = {"start_time": "start_time", "end_time": "end_time", "created": "start_time"}
EXP_STRING_ATTRS = {"name": "name", "experiment_id": "id", "lifecycle_stage": "lifecycle_stage"}
EXP_NUMERIC_ATTRS = {"creation_time": "created_at", "last_update_time": "updated_at"}
_DATASET_FIELDS = ("name", "digest", "context", "uri")


def string_cmp(
    col: sa.ColumnElement[Any], op: str, value: Any, dialect: str
) -> sa.ColumnElement[bool]:
    if op in ("=", "!="):
        return numeric_cmp(col, op, value)
    if op == "IN":
        return col.in_(list(value))
    if op == "NOT IN":
        return col.not_in(list(value))
    if op == "ILIKE":
        return col.ilike(value)
    if dialect == "sqlite":
        # SQLite's LIKE ignores case; GLOB does not, and MLflow's LIKE is case-sensitive.
        glob = re.sub(r"[*?\[]", lambda m: f"[{m.group(0)}]", value)
        glob = glob.replace("%", "*").replace("_", "?")
        return col.op("GLOB")(glob)
    return col.like(value)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def numeric_cmp(col: sa.ColumnElement[Any], op: str, value: Any) -> sa.ColumnElement[bool]:
    out: sa.ColumnElement[bool] = _COMPARE[op](col, value)  # only the one asked for is built
    return out


def run_conditions(clauses: Sequence[Comparison], dialect: str) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions on the runs table; each key's rows are found through a subquery."""
    out: list[sa.ColumnElement[bool]] = []
    for c in clauses:
        if c.entity == "attributes":
            key = c.key.lower()
            if key in RUN_NUMERIC_ATTRS:
                out.append(numeric_cmp(t.runs.c[RUN_NUMERIC_ATTRS[key]], c.op, c.value))
            elif key in RUN_STRING_ATTRS:
                out.append(string_cmp(t.runs.c[RUN_STRING_ATTRS[key]], c.op, c.value, dialect))
            else:
                raise unknown_attr(c.key, [*RUN_STRING_ATTRS, *RUN_NUMERIC_ATTRS])
        elif c.entity == "metrics":
            m = t.latest_metrics.c
            cond = (
                sa.or_(m.is_nan, m.value != c.value)
                if c.op == "!="
                else sa.and_(~m.is_nan, numeric_cmp(m.value, c.op, c.value))
            )
            out.append(t.runs.c.id.in_(sa.select(m.run_id).where(m.key == c.key, cond)))
        elif c.entity == "datasets":
            if c.key not in _DATASET_FIELDS:
                raise Invalid(
                    f"invalid filter: datasets.{c.key} is not searchable",
                    hint="use datasets." + ", datasets.".join(_DATASET_FIELDS),
                )
            i = t.run_inputs.c
            out.append(
                t.runs.c.id.in_(
                    sa.select(i.run_id).where(string_cmp(i[c.key], c.op, c.value, dialect))
                )
            )
        else:
            kv = t.params if c.entity == "params" else t.run_tags
            out.append(
                t.runs.c.id.in_(
                    sa.select(kv.c.run_id).where(
                        kv.c.key == c.key, string_cmp(kv.c.value, c.op, c.value, dialect)
                    )
                )
            )
    return out


def run_order(terms: Sequence[OrderTerm]) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms; runs without the key and NaN metrics come last either way, as in
    MLflow."""
    out: list[sa.ColumnElement[Any]] = []
    for term in terms:
        entity, key = term.entity, term.key
        col: sa.ColumnElement[Any]
        if entity == "attributes":
            name = {**RUN_STRING_ATTRS, **RUN_NUMERIC_ATTRS}.get(key.lower())
            if name is None:
                raise unknown_attr(key, [*RUN_STRING_ATTRS, *RUN_NUMERIC_ATTRS])
            col = t.runs.c[name]
        elif entity == "metrics":
            lm = t.latest_metrics.c
            col = (
                sa.select(sa.case((lm.is_nan, sa.null()), else_=lm.value))
                .where(lm.run_id == t.runs.c.id, lm.key == key)
                .scalar_subquery()
            )
        elif entity in ("params", "tags"):
            kv = t.params if entity == "params" else t.run_tags
            col = (
                sa.select(kv.c.value)
                .where(kv.c.run_id == t.runs.c.id, kv.c.key == key)
                .scalar_subquery()
            )
        else:
            raise Invalid(f"invalid order_by {term.text!r}: cannot order by {entity}")
        out += [sa.case((col.is_(None), 1), else_=0), col.desc() if term.desc else col.asc()]
    return out


@functools.lru_cache(maxsize=256)
def run_search(
    clauses: tuple[Comparison, ...],
    order: tuple[OrderTerm, ...],
    dialect: str,
    default_too: bool,
    one: bool = False,
) -> sa.Select[Any]:
    """The runs meeting clauses, in order, of the experiments bound as "experiments" in the
    workspace "ws" with a stage among "stages", one page ("limit", "offset"). default_too: the
    workspace is not ``default``, so id 0 among the experiments names its Default. one: a
    single experiment id is bound, whose runs are then read along the index on (experiment,
    start time) rather than all sorted, as runs of a list of experiments are."""
    r = t.runs.c
    ws = sa.bindparam("ws", type_=sa.String)
    if one:
        named = t.experiments.c.id == sa.bindparam("experiments", type_=sa.Integer)
        # its id or its Default, never both: 0 is not in another workspace
        experiment = experiments_among(ws, named, default_too).scalar_subquery()
        in_experiments = r.experiment_id == experiment
    else:
        named = in_ids(t.experiments.c.id, name="experiments")
        in_experiments = r.experiment_id.in_(experiments_among(ws, named, default_too))
    return (
        sa.select(*RUN_COLUMNS)
        .where(
            in_experiments,
            in_ids(r.lifecycle_stage, name="stages"),
            *run_conditions(clauses, dialect),
        )
        .order_by(*run_order(order), r.start_time.desc(), r.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
    )


def experiment_conditions(
    clauses: Sequence[Comparison], dialect: str
) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    for c in clauses:
        key = c.key.lower()
        if c.entity == "tags":
            et = t.experiment_tags.c
            out.append(
                t.experiments.c.id.in_(
                    sa.select(et.experiment_id).where(
                        et.key == c.key, string_cmp(et.value, c.op, c.value, dialect)
                    )
                )
            )
        elif c.entity == "attributes" and key in EXP_NUMERIC_ATTRS:
            out.append(numeric_cmp(t.experiments.c[EXP_NUMERIC_ATTRS[key]], c.op, c.value))
        elif c.entity == "attributes" and key in EXP_STRING_ATTRS:
            value = c.value
            if key == "experiment_id":  # ids are integers stored, strings shown
                value = (
                    tuple(int_id(v) for v in value) if isinstance(value, tuple) else int_id(value)
                )
            out.append(string_cmp(t.experiments.c[EXP_STRING_ATTRS[key]], c.op, value, dialect))
        elif c.entity == "attributes":
            raise unknown_attr(c.key, [*EXP_STRING_ATTRS, *EXP_NUMERIC_ATTRS])
        else:
            raise Invalid(
                f"invalid experiment filter: {c.entity}.{c.key} does not apply",
                hint="filter by name, creation_time, last_update_time or tags.",
            )
    return out


def int_id(v: Any) -> Any:
    return int(v) if isinstance(v, str) and v.isdigit() else v


def unknown_attr(key: str, known: Sequence[str]) -> Invalid:
    return Invalid(
        f"invalid filter: unknown attribute {key!r}", hint="attributes are " + ", ".join(known)
    )
