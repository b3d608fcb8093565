"""Queries the MLflow-compatible API needs beyond the registry and tracking modules: artifact
files outside runs, MLflow dataset inputs and run outputs, version sources, experiment edits and
registry searches by filter."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.models import ModelVersion
from mlpipex.store import schema as t
from mlpipex.store import schema_mlflow as m
from mlpipex.store.engine import upsert_into
from mlpipex.store.ids import in_ids
from mlpipex.store.registry.details import version_columns
from mlpipex.store.registry.records import ModelRecord, version_at
from mlpipex.store.tracking.records import ExperimentRecord
from mlpipex.store.tracking.runs import experiment_ids_in

# -- artifact files outside runs (scope: a logged model's id, or "" for free paths) ------------

AF = m.artifact_files.c


def put_files(conn: Connection, scope: str, files: Sequence[tuple[str, str, int]]) -> None:
    """Record (path, digest, size) rows; a path written again points at its new bytes."""
    if not files:
        return
    paths = [p for p, _, _ in files]
    for i in range(0, len(paths), 500):
        conn.execute(
            sa.delete(m.artifact_files).where(AF.scope == scope, AF.path.in_(paths[i : i + 500]))
        )
    conn.execute(
        sa.insert(m.artifact_files),
        [{"scope": scope, "path": p, "digest": d, "size": s} for p, d, s in files],
    )


def files_of(conn: Connection, scope: str, prefix: str = "") -> list[tuple[str, str, int]]:
    """(path, digest, size) at prefix or under prefix/, by path."""
    q = sa.select(AF.path, AF.digest, AF.size).where(AF.scope == scope).order_by(AF.path)
    if prefix:
        q = q.where(sa.or_(AF.path == prefix, AF.path.like(f"{_escape(prefix)}/%", escape="\\")))
    return [(r.path, r.digest, r.size) for r in conn.execute(q)]


def delete_files(conn: Connection, scope: str, prefix: str) -> int:
    cond = AF.scope == scope
    if prefix:
        cond = sa.and_(
            cond, sa.or_(AF.path == prefix, AF.path.like(f"{_escape(prefix)}/%", escape="\\"))
        )
    return int(conn.execute(sa.delete(m.artifact_files).where(cond)).rowcount)


def delete_run_files(conn: Connection, run_id: str, prefix: str) -> int:
    a = t.run_artifacts.c
    cond = a.run_id == run_id
    if prefix:
        cond = sa.and_(
            cond, sa.or_(a.path == prefix, a.path.like(f"{_escape(prefix)}/%", escape="\\"))
        )
    return int(conn.execute(sa.delete(t.run_artifacts).where(cond)).rowcount)


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- dataset inputs and outputs as MLflow sent them ---------------------------------------------


def put_dataset_input(conn: Connection, run_id: str, **values: Any) -> None:
    d = m.dataset_inputs.c
    conn.execute(
        sa.delete(m.dataset_inputs).where(
            d.run_id == run_id, d.name == values["name"], d.digest == values["digest"]
        )
    )
    conn.execute(sa.insert(m.dataset_inputs).values(run_id=run_id, **values))


@dataclass(frozen=True, slots=True)
class MlflowDataset:
    """A dataset input in MLflow's shape: source, schema and profile are JSON strings."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetSeen:
    """A dataset an experiment's runs logged, with its input tags."""

    experiment_id: int
    name: str
    digest: str
    tags: tuple[tuple[str, str], ...]


def dataset_summaries(
    conn: Connection, ws: str, experiment_ids: Sequence[int], limit: int
) -> list[DatasetSeen]:
    """The datasets the workspace's experiments' runs logged."""
    d, r = m.dataset_inputs.c, t.runs.c
    q = (
        sa.select(r.experiment_id, d.name, d.digest, d.tags)
        .join(t.runs, r.id == d.run_id)
        .where(r.experiment_id.in_(experiment_ids_in(ws, experiment_ids)))
        .order_by(r.experiment_id, d.name, d.digest)
        .limit(limit)
    )
    return [
        DatasetSeen(x.experiment_id, x.name, x.digest, tuple((k, v) for k, v in x.tags or ()))
        for x in conn.execute(q)
    ]


def put_outputs(conn: Connection, run_id: str, outputs: Mapping[str, int]) -> None:
    if not outputs:
        return
    o = m.run_outputs.c
    conn.execute(sa.delete(m.run_outputs).where(o.run_id == run_id, o.model_id.in_(list(outputs))))
    conn.execute(
        sa.insert(m.run_outputs),
        [{"run_id": run_id, "model_id": k, "step": s} for k, s in outputs.items()],
    )


def put_model_inputs(conn: Connection, run_id: str, model_ids: Sequence[str]) -> None:
    if not model_ids:
        return
    ins = upsert_into(conn, m.model_inputs)
    rows = [{"run_id": run_id, "model_id": i} for i in dict.fromkeys(model_ids)]
    conn.execute(ins.on_conflict_do_nothing(), rows)


@dataclass(frozen=True, slots=True)
class RunExtras:
    """What MLflow shows of a page of runs beyond the tracking tables, by run id: dataset inputs
    as MLflow sent them, logged models output (id, step) and logged models taken as input."""

    datasets: dict[str, list[MlflowDataset]]
    outputs: dict[str, list[tuple[str, int]]]
    model_inputs: dict[str, list[str]]


def extras_of(conn: Connection, run_ids: Sequence[str]) -> RunExtras:
    """The runs' extras, in one statement (a page of runs is shown with them)."""
    datasets: dict[str, list[MlflowDataset]] = defaultdict(list)
    outputs: dict[str, list[tuple[str, int]]] = defaultdict(list)
    model_inputs: dict[str, list[str]] = defaultdict(list)
    rows = conn.execute(_extras(), {"ids": list(run_ids)}).all()
    for kind, run_id, key, digest, source_type, source, schema, profile, tags, step in rows:
        if kind == _DATASET:
            pairs = tuple((k, v) for k, v in tags)
            datasets[run_id].append(
                MlflowDataset(key, digest, source_type, source, schema, profile, pairs)
            )
        elif kind == _OUTPUT:
            outputs[run_id].append((key, step))
        else:
            model_inputs[run_id].append(key)
    return RunExtras(datasets, outputs, model_inputs)


_DATASET, _OUTPUT, _MODEL_INPUT = 0, 1, 2


@functools.cache  # built on first use, as the tracking module's page reads
def _extras() -> sa.CompoundSelect[Any]:
    """The three kinds in one statement, each row marked with its kind; the columns a kind
    lacks are NULL. The first select gives the columns their types (tags: JSON)."""
    d, o, i = m.dataset_inputs.c, m.run_outputs.c, m.model_inputs.c
    blank = [sa.null()] * 6
    no_step = sa.cast(sa.null(), sa.BigInteger)
    kind = sa.literal(_DATASET).label("kind")
    return sa.union_all(
        sa.select(
            kind,
            d.run_id,
            d.name,
            d.digest,
            d.source_type,
            d.source,
            d.schema,
            d.profile,
            d.tags,
            no_step.label("step"),
        ).where(in_ids(d.run_id)),
        sa.select(sa.literal(_OUTPUT), o.run_id, o.model_id, *blank, o.step).where(
            in_ids(o.run_id)
        ),
        sa.select(sa.literal(_MODEL_INPUT), i.run_id, i.model_id, *blank, no_step).where(
            in_ids(i.run_id)
        ),
    ).order_by(sa.literal_column("kind"), sa.literal_column("name"), sa.literal_column("digest"))


# -- version sources ----------------------------------------------------------------------------


def put_version_source(
    conn: Connection, version_id: int, source: str, logged_model: str | None
) -> None:
    """What the MLflow API registered a version (by row id) from: its source and logged model."""
    given = {"version_id": version_id, "source": source, "model_id": logged_model}
    conn.execute(_insert_source(), given)


@functools.cache
def _insert_source() -> sa.Insert:
    return sa.insert(m.version_sources)


@dataclass(frozen=True, slots=True)
class VersionSource:
    """What the MLflow API recorded about a version: the source it was registered from and the
    logged model (None for a version registered otherwise), and its last edit through the API."""

    source: str | None
    model_id: str | None
    edited_at: int | None


@functools.cache  # built once: the columns every version the MLflow API shows reads
def version_source_columns() -> tuple[sa.Label[Any], ...]:
    """What the MLflow API recorded of a version, as columns to add to a select over
    ``model_versions`` (``details.versions_with``): read with its details, in one statement."""
    s, e, v = m.version_sources.c, m.version_edits.c, t.versions

    def of(col: sa.Column[Any], key: sa.Column[int], label: str) -> sa.Label[Any]:
        return sa.select(col).where(key == v.c.id).correlate(v).scalar_subquery().label(label)

    return (
        of(s.source, s.version_id, "mlflow_source"),
        of(s.model_id, s.version_id, "mlflow_model_id"),
        of(e.updated_at, e.version_id, "mlflow_edited_at"),
    )


def version_source(row: Sequence[Any]) -> VersionSource:
    """The source columns of a row that ends with ``version_source_columns``, by position (by
    name, each costs more than the three together)."""
    source, model_id, edited_at = row[-3:]
    return VersionSource(source, model_id, edited_at)


def mark_version_edited(conn: Connection, version_id: int, now: int) -> None:
    ins = upsert_into(conn, m.version_edits)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=[m.version_edits.c.version_id], set_={"updated_at": now}
        ),
        {"version_id": version_id, "updated_at": now},
    )


# -- experiments --------------------------------------------------------------------------------


def update_experiment(conn: Connection, experiment_id: int, **values: Any) -> None:
    conn.execute(
        sa.update(t.experiments).where(t.experiments.c.id == experiment_id).values(**values)
    )


def delete_experiment_tag(conn: Connection, experiment_id: int, key: str) -> bool:
    et = t.experiment_tags.c
    res = conn.execute(
        sa.delete(t.experiment_tags).where(et.experiment_id == experiment_id, et.key == key)
    )
    return bool(res.rowcount)


def experiment_rows(
    conn: Connection,
    ws: str,
    lifecycle: Sequence[str],
    conditions: Sequence[sa.ColumnElement[bool]],
    order: Sequence[sa.ColumnElement[Any]],
    limit: int,
    offset: int,
) -> list[ExperimentRecord]:
    e = t.experiments.c
    q = (
        sa.select(t.experiments)
        .where(e.workspace == ws, e.lifecycle_stage.in_(lifecycle), *conditions)
        .order_by(*order, e.id)
        .limit(limit)
        .offset(offset)
    )
    return [ExperimentRecord.of(r) for r in conn.execute(q)]


# -- registry searches --------------------------------------------------------------------------


def version_search(
    conditions: Sequence[sa.ColumnElement[bool]],
    order: Sequence[sa.ColumnElement[Any]],
    pg: bool,
    restricted: bool,
) -> sa.Select[Any]:
    """The statement of a version search, to build once per filter, order and dialect: the
    workspace's versions ("ws") meeting conditions, in order, one page ("limit", "offset"), each
    with its details and what the MLflow API recorded of it; with ``restricted``, only those of
    the models bound as "models".

    The page's ids are chosen first, in a subquery that sorts only them: SQLite computes the
    selected columns of every matching row before a sort, and the details of 50 versions cost
    what sorting them all would."""
    v, mo = t.versions.c, t.models.c
    terms = [*order, mo.name, v.version.desc()]  # a total order: the page is the same twice
    page = sa.select(v.id).join(t.models).where(mo.workspace == sa.bindparam("ws"), *conditions)
    if restricted:
        page = page.where(in_ids(mo.name, name="models"))
    page = (
        page.order_by(*terms)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
    )
    return (
        sa.select(*version_columns(pg), *version_source_columns())
        .select_from(t.versions.join(t.models))
        .where(v.id.in_(page))
        .order_by(*terms)
    )


def search_versions(
    conn: Connection,
    statement: sa.Select[Any],
    ws: str,
    limit: int,
    offset: int,
    only: frozenset[str] | None = None,
) -> tuple[list[tuple[ModelVersion, VersionSource]], bool]:
    """A page of a version search (``version_search``; restricted to the models in only when
    given): at most limit versions, each with what the MLflow API recorded of it, and whether
    more follow."""
    given: dict[str, Any] = {"ws": ws, "limit": limit + 1, "offset": offset}
    if only is not None:
        given["models"] = sorted(only)
    rows = conn.execute(statement, given).all()
    return [(version_at(r), version_source(r)) for r in rows[:limit]], len(rows) > limit


def search_model_rows(
    conn: Connection,
    ws: str,
    conditions: Sequence[sa.ColumnElement[bool]],
    order: Sequence[sa.ColumnElement[Any]],
    limit: int,
    offset: int,
    only: frozenset[str] | None = None,
) -> list[ModelRecord]:
    q = sa.select(t.models)
    rows = _page(conn, ws, q, conditions, [*order, t.models.c.name], limit, offset, only)
    return [ModelRecord.of(r) for r in rows]


def _page(
    conn: Connection,
    ws: str,
    q: sa.Select[Any],
    conditions: Sequence[sa.ColumnElement[bool]],
    order: Sequence[sa.ColumnElement[Any]],
    limit: int,
    offset: int,
    only: frozenset[str] | None,
) -> list[sa.Row[Any]]:
    """Rows of the workspace's models (only those in ``only`` when given) meeting conditions,
    one page."""
    q = (
        q.where(t.models.c.workspace == ws, *conditions)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    if only is not None:
        q = q.where(t.models.c.name.in_(sorted(only)))
    return list(conn.execute(q).all())


def latest_per_stage(conn: Connection, model_id: int) -> list[tuple[ModelVersion, VersionSource]]:
    """The newest version in each stage (MLflow's get-latest-versions), by number, each with
    its details and what the MLflow API recorded of it, in one statement."""
    q = _latest_per_stage(conn.dialect.name == "postgresql")
    rows = conn.execute(q, {"id": model_id}).all()
    return [(version_at(r), version_source(r)) for r in rows]


@functools.cache  # built once per dialect: every get of a registered model asks it
def _latest_per_stage(pg: bool) -> sa.Select[Any]:
    v = t.versions.c
    model_id = sa.bindparam("id", type_=sa.Integer)
    # Each step below is one seek in ix_model_versions_model_stage_version, so the cost grows
    # with the model's stages, not its versions (grouping them read every version: 2.9 ms at
    # 12,000). Stages are open (a policy may name its own), so they are found in the index one
    # after another: the least stage, then the least above it, until none is left. Each is an
    # ORDER BY ... LIMIT 1, not min(): PostgreSQL, before its statistics, aggregated the lot.
    s = t.versions.alias("s").c
    least = sa.select(s.stage).where(s.model_id == model_id).order_by(s.stage).limit(1)
    stages = sa.select(least.scalar_subquery().label("stage")).cte("stages", recursive=True)
    after = t.versions.alias("a").c
    stages = stages.union_all(
        sa.select(
            sa.select(after.stage)
            .where(after.model_id == model_id, after.stage > stages.c.stage)
            .order_by(after.stage)
            .limit(1)
            .scalar_subquery()
        ).where(stages.c.stage.is_not(None))
    )
    # then the newest of each stage, by the same index, and its row by id: PostgreSQL seeks it
    # only through a LATERAL join (an id compared with a subquery it hashed against every
    # version); SQLite has no LATERAL, and looks the id up by its key
    n = t.versions.alias("n").c
    newest = (
        sa.select(n.id)
        .where(n.model_id == model_id, n.stage == stages.c.stage)
        .order_by(n.version.desc())
        .limit(1)
    )
    if pg:
        found = newest.lateral("newest")
        rows = stages.join(found, sa.true()).join(t.versions, v.id == found.c.id)
    else:
        rows = stages.join(t.versions, v.id == newest.scalar_subquery())
    return (
        sa.select(*version_columns(pg), *version_source_columns())
        .select_from(rows.join(t.models))
        .order_by(v.version)
    )
