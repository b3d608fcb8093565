"""Queries over the tracking tables: experiments, runs, params, metrics, tags, inputs, artifacts.

Every function takes the connection of a transaction opened by ``Store.read()``/``write()``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.workspaces import DEFAULT_WORKSPACE
from mlpipex.store import schema as t
from mlpipex.store.engine import insert_many, upsert_into
from mlpipex.store.ids import in_ids
from mlpipex.store.tracking.records import (
    ExperimentRecord,
    RunArtifacts,
    RunInputRecord,
    RunRecord,
)

DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT = "Default"

# -- experiments -----------------------------------------------------------------------------


def zero_is_named(ws: str) -> bool:
    """Whether experiment id 0 names, in the workspace, its own experiment called Default: MLflow
    clients send 0 when no experiment is set, and 0 is ``default``'s (ids are global), so in any
    other workspace 0 means that workspace's Default, found by its name. The one place of the
    rule; the functions below apply it."""
    return ws != DEFAULT_WORKSPACE


def is_default(ws: str, row: ExperimentRecord) -> bool:
    """Whether the experiment is the one MLflow clients name 0 in the workspace."""
    if zero_is_named(ws):
        return row.name == DEFAULT_EXPERIMENT
    return row.id == DEFAULT_EXPERIMENT_ID


def experiment_row(
    conn: Connection, ws: str, *, id: int | None = None, name: str | None = None
) -> ExperimentRecord | None:
    if id is not None and not names_default(ws, (id,)):
        row = conn.execute(_experiment_by("id"), {"ws": ws, "key": id}).first()
    else:
        key = DEFAULT_EXPERIMENT if id is not None else name
        row = conn.execute(_experiment_by("name"), {"ws": ws, "key": key}).first()
    return None if row is None else ExperimentRecord.of(row)


# The statements below are built once per shape with bound parameters: SQLAlchemy otherwise
# builds each and computes its cache key on every call, which costs more than SQLite running it.
@functools.cache
def _experiment_by(column: str) -> sa.Select[Any]:
    c = t.experiments.c
    return sa.select(t.experiments).where(
        c.workspace == sa.bindparam("ws"), c[column] == sa.bindparam("key")
    )


def experiment_ids_in(ws: str, ids: Sequence[int]) -> sa.Select[tuple[int]]:
    """The ids among ids of the workspace's experiments (0 in another workspace than
    ``default``: its Default experiment), for ``IN`` filters of runs, traces, logged models."""
    return experiments_among(ws, in_ids(t.experiments.c.id, ids), names_default(ws, ids))


def names_default(ws: str, ids: Sequence[int]) -> bool:
    """Whether ids name the workspace's Default by 0, which is then found by its name."""
    return zero_is_named(ws) and DEFAULT_EXPERIMENT_ID in ids


def experiments_among(
    ws: str | sa.BindParameter[str], among: sa.ColumnElement[bool], default_too: bool
) -> sa.Select[tuple[int]]:
    """The ids of the workspace's experiments meeting among (and its Default when
    default_too); ws is a name or a parameter bound at execution."""
    c = t.experiments.c
    cond = sa.or_(among, c.name == DEFAULT_EXPERIMENT) if default_too else among
    return sa.select(c.id).where(c.workspace == ws, cond)


def in_workspace(
    experiment_id: sa.ColumnElement[int], ws: str | sa.BindParameter[str]
) -> sa.ColumnElement[bool]:
    """That a row's experiment (its experiment_id column) is in the workspace: what keeps a row
    reached by a global id (run, trace, logged model) to the workspace it was made in (ws: its
    name, or a parameter bound at execution)."""
    c = t.experiments.c
    # correlated, so each row costs one primary-key probe whatever the workspace holds
    return sa.exists().where(c.id == experiment_id, c.workspace == ws)


def insert_experiment(conn: Connection, ws: str, name: str, now: int, id: int | None = None) -> int:
    values: dict[str, Any] = {
        "workspace": ws,
        "name": name,
        "lifecycle_stage": "active",
        "created_at": now,
        "updated_at": now,
    }
    if id is not None:
        values["id"] = id
    return int(
        conn.execute(
            sa.insert(t.experiments).values(**values).returning(t.experiments.c.id)
        ).scalar_one()
    )


def default_id(ws: str, name: str) -> int | None:
    """The fixed id an experiment of that name takes: 0 for ``default``'s Default only (ids
    are global; another workspace's Default takes the next one)."""
    if name == DEFAULT_EXPERIMENT and not zero_is_named(ws):
        return DEFAULT_EXPERIMENT_ID
    return None


def ensure_experiment(
    conn: Connection, ws: str, name: str, now: int
) -> tuple[ExperimentRecord, bool]:
    """The workspace's experiment named name, created when missing (``default``'s Default gets
    id 0); safe against a concurrent creator."""
    row = experiment_row(conn, ws, name=name)
    if row is not None:
        return row, False
    try:
        with conn.begin_nested():
            insert_experiment(conn, ws, name, now, default_id(ws, name))
        created = True
    except IntegrityError:
        created = False
    row = experiment_row(conn, ws, name=name)
    assert row is not None
    return row, created


def experiment_rows(
    conn: Connection,
    ws: str,
    conditions: Sequence[sa.ColumnElement[bool]],
    limit: int,
    offset: int,
) -> list[ExperimentRecord]:
    """The workspace's active experiments meeting conditions, by name."""
    c = t.experiments.c
    q = (
        sa.select(t.experiments)
        .where(c.workspace == ws, c.lifecycle_stage == "active", *conditions)
        .order_by(c.name)
    )
    return [ExperimentRecord.of(r) for r in conn.execute(q.limit(limit).offset(offset))]


def set_experiment_tags(conn: Connection, experiment_id: int, tags: Mapping[str, str]) -> None:
    if not tags:
        return
    et = t.experiment_tags.c
    conn.execute(
        sa.delete(t.experiment_tags).where(et.experiment_id == experiment_id, in_ids(et.key, tags))
    )
    conn.execute(
        sa.insert(t.experiment_tags),
        [{"experiment_id": experiment_id, "key": k, "value": v} for k, v in tags.items()],
    )


def experiment_tags(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = defaultdict(dict)
    et = t.experiment_tags.c
    for eid, k, v in conn.execute(
        sa.select(et.experiment_id, et.key, et.value).where(in_ids(et.experiment_id, ids))
    ):
        out[eid][k] = v
    return out


# -- runs ------------------------------------------------------------------------------------


def insert_run(conn: Connection, run: RunRecord, tags: Mapping[str, str] | None = None) -> None:
    """A new run and its tags (it has none yet, so none is replaced)."""
    conn.execute(_insert(t.runs), {k: getattr(run, k) for k in _RUN_KEYS})
    if tags:
        conn.execute(
            _insert(t.run_tags), [{"run_id": run.id, "key": k, "value": v} for k, v in tags.items()]
        )


# The runs table's columns in RunRecord's order, selected by every read of a run, so that
# RunRecord.of takes a row by position and a column added to or moved in the table cannot
# shift a field.
RUN_COLUMNS = tuple(t.runs.c[f.name] for f in dataclasses.fields(RunRecord))
_RUN_KEYS = tuple(c.key for c in RUN_COLUMNS)  # insert_run's, named once


@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    return sa.insert(table)


def run_row(conn: Connection, ws: str, run_id: str, *, lock: bool = False) -> RunRecord | None:
    """The run, when its experiment is in the workspace (a run of another is missing here)."""
    row = conn.execute(_run_by_id(lock), {"id": run_id, "ws": ws}).first()
    return None if row is None else RunRecord.of(row)


@functools.cache  # built once per shape: every call on a run looks it up
def _run_by_id(lock: bool) -> sa.Select[Any]:
    r = t.runs.c
    ws = sa.bindparam("ws", type_=sa.String)
    q = sa.select(*RUN_COLUMNS).where(r.id == sa.bindparam("id"), in_workspace(r.experiment_id, ws))
    return q.with_for_update() if lock else q


def update_run(conn: Connection, run_id: str, **values: Any) -> None:
    conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(**values))


def search_run_rows(
    conn: Connection,
    q: sa.Select[Any],
    ws: str,
    experiments: int | Sequence[int],
    lifecycle: Sequence[str],
    limit: int,
    offset: int,
) -> list[RunRecord]:
    """The page of a run search (``search.run_search``) in the workspace's experiments among
    experiments (one id for a search built with ``one``), with a stage in lifecycle."""
    values = {
        "ws": ws,
        "experiments": experiments if isinstance(experiments, int) else list(experiments),
        "stages": list(lifecycle),
        "limit": limit,
        "offset": offset,
    }
    return [RunRecord.of(r) for r in conn.execute(q, values).all()]


@functools.cache
def _by_run_select(table: sa.Table, cols: tuple[sa.Column[Any], ...]) -> sa.Select[Any]:
    # by the first column read (each run's key), so that a run reads the same alone as in a page
    return sa.select(table.c.run_id, *cols).where(in_ids(table.c.run_id)).order_by(cols[0])


def _by_run(
    conn: Connection, table: sa.Table, run_ids: Sequence[str], *cols: sa.Column[Any]
) -> dict[str, list[sa.Row[Any]]]:
    out: dict[str, list[sa.Row[Any]]] = defaultdict(list)
    # all() fetches the rows in one call; iterating the result fetches them one by one
    for r in conn.execute(_by_run_select(table, cols), {"ids": list(run_ids)}).all():
        out[r.run_id].append(r)
    return out


Latest = dict[str, list[tuple[str, float, int, int]]]  # run id -> (key, value, time, step)


@dataclasses.dataclass(frozen=True, slots=True)
class RunDetails:
    """What a page of runs shows beside each run's own columns, by run id."""

    params: dict[str, dict[str, str]]
    tags: dict[str, dict[str, str]]
    metrics: Latest  # each key's latest value
    inputs: dict[str, list[RunInputRecord]]


def details_of(
    conn: Connection, run_ids: Sequence[str], *, params_and_tags: bool = True
) -> RunDetails:
    """The runs' params, tags, latest metrics and inputs, each by key, in one statement; without
    params_and_tags, their inputs and latest metrics alone (what a registration from a run and
    its lineage read)."""
    params: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    metrics: Latest = defaultdict(list)
    inputs: dict[str, list[RunInputRecord]] = defaultdict(list)
    rows = conn.execute(_details(params_and_tags), {"ids": list(run_ids)}).all()
    # every column unpacked by name once (a starred unpack builds a list per row)
    for kind, run_id, key, value, number, nan, ts, step, digest, size, schema, n, ctx in rows:
        if kind == _PARAM:
            params[run_id][key] = value
        elif kind == _TAG:
            tags[run_id][key] = value
        elif kind == _METRIC:
            metrics[run_id].append((key, read_value(number, nan), ts, step))
        else:
            inputs[run_id].append(RunInputRecord(key, value, digest, size, schema, n, ctx))
    return RunDetails(params, tags, metrics, inputs)


_INPUT, _PARAM, _TAG, _METRIC = range(4)


@functools.cache  # built on first use, as the other statements
def _details(params_and_tags: bool) -> sa.CompoundSelect[Any]:
    """The four kinds in one statement, each row marked with its kind; the columns a kind lacks
    are NULL. The first select gives the columns their types (an input's schema: JSON)."""
    i, p, g, m = t.run_inputs.c, t.params.c, t.run_tags.c, t.latest_metrics.c

    def none(type_: Any) -> Any:
        return sa.cast(sa.null(), type_)

    def key_value(kind: int, kv: Any) -> sa.Select[Any]:
        blank = [sa.null()] * 9
        return sa.select(sa.literal(kind), kv.run_id, kv.key, kv.value, *blank).where(
            in_ids(kv.run_id)
        )

    metric = [none(sa.String), m.value, m.is_nan, m.timestamp, m.step, *[sa.null()] * 5]
    return sa.union_all(
        sa.select(
            sa.literal(_INPUT).label("kind"),
            i.run_id,
            i.name.label("key"),
            i.uri,
            none(sa.Float),
            none(sa.Boolean),
            none(sa.BigInteger),
            none(sa.BigInteger),
            i.digest,
            i.size,
            i.schema,
            i.num_rows,
            i.context,
        ).where(in_ids(i.run_id)),
        *((key_value(_PARAM, p), key_value(_TAG, g)) if params_and_tags else ()),
        sa.select(sa.literal(_METRIC), m.run_id, m.key, *metric).where(in_ids(m.run_id)),
    ).order_by(sa.literal_column("kind"), sa.literal_column("key"))


def params_of(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    rows = _by_run(conn, t.params, run_ids, t.params.c.key, t.params.c.value)
    return {rid: {r.key: r.value for r in rs} for rid, rs in rows.items()}


def tags_of(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    rows = _by_run(conn, t.run_tags, run_ids, t.run_tags.c.key, t.run_tags.c.value)
    return {rid: {r.key: r.value for r in rs} for rid, rs in rows.items()}


def latest_metrics_of(
    conn: Connection, run_ids: Sequence[str]
) -> dict[str, list[tuple[str, float, int, int]]]:
    """run id -> (key, value, timestamp, step) of each metric's latest value."""
    c = t.latest_metrics.c
    rows = _by_run(conn, t.latest_metrics, run_ids, c.key, c.value, c.is_nan, c.timestamp, c.step)
    return {
        rid: [(r.key, read_value(r.value, r.is_nan), r.timestamp, r.step) for r in rs]
        for rid, rs in rows.items()
    }


# -- params and tags -------------------------------------------------------------------------


def existing_params(conn: Connection, run_id: str, keys: Iterable[str]) -> dict[str, str]:
    return dict(
        conn.execute(
            sa.select(t.params.c.key, t.params.c.value).where(
                t.params.c.run_id == run_id, in_ids(t.params.c.key, keys)
            )
        )
        .tuples()
        .all()
    )


def insert_params(conn: Connection, run_id: str, params: Mapping[str, str]) -> None:
    if params:
        conn.execute(
            sa.insert(t.params),
            [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()],
        )


def set_run_tags(conn: Connection, run_id: str, tags: Mapping[str, str]) -> None:
    if not tags:
        return
    conn.execute(_replaced_tags(), {"run": run_id, "ids": list(tags)})
    conn.execute(
        _insert(t.run_tags), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
    )


@functools.cache
def _replaced_tags() -> sa.Delete:
    c = t.run_tags.c
    return sa.delete(t.run_tags).where(c.run_id == sa.bindparam("run"), in_ids(c.key))


def delete_run_tag(conn: Connection, run_id: str, key: str) -> bool:
    res = conn.execute(
        sa.delete(t.run_tags).where(t.run_tags.c.run_id == run_id, t.run_tags.c.key == key)
    )
    return bool(res.rowcount)


# -- metrics ---------------------------------------------------------------------------------

_MAX = sys.float_info.max


def stored_value(v: float) -> tuple[float, bool]:
    """MLflow's storage of odd floats: NaN as 0 with a flag, infinities as the largest double."""
    if math.isnan(v):
        return 0.0, True
    if math.isinf(v):
        return (_MAX if v > 0 else -_MAX), False
    return v, False


def read_value(v: float, is_nan: bool) -> float:
    return math.nan if is_nan else float(v)


def log_metrics(
    conn: Connection, run_id: str, metrics: Sequence[tuple[str, float, int, int]]
) -> None:
    """Append (key, value, timestamp, step) rows to the history and move each key's latest value
    forward where the new (step, timestamp) is not older: one insert, one upsert per key."""
    if not metrics:
        return
    rows = []
    newest: dict[str, tuple[Any, ...]] = {}
    for key, value, ts, step in metrics:
        if value != value or value in _INFINITE:  # NaN or infinite: MLflow's stored form
            row = (run_id, key, *stored_value(value), ts, step)
        else:
            row = (run_id, key, value, False, ts, step)
        rows.append(row)
        best = newest.get(key)
        if best is None or (step, ts) >= (best[5], best[4]):
            newest[key] = row
    insert_many(conn, t.metric_history, _METRIC_COLUMNS, rows)
    conn.execute(
        _move_latest(conn.dialect.name),
        [dict(zip(_METRIC_COLUMNS, r, strict=True)) for r in newest.values()],
    )


_METRIC_COLUMNS = ("run_id", "key", "value", "is_nan", "timestamp", "step")
_INFINITE = (math.inf, -math.inf)


@functools.cache  # built once per dialect: every logged metric moves its key's latest value
def _move_latest(dialect: str) -> Any:
    ins = upsert_into(dialect, t.latest_metrics)
    lm = t.latest_metrics.c
    return ins.on_conflict_do_update(
        index_elements=[lm.run_id, lm.key],
        set_={c: ins.excluded[c] for c in ("value", "is_nan", "timestamp", "step")},
        where=(
            sa.tuple_(ins.excluded.step, ins.excluded.timestamp) >= sa.tuple_(lm.step, lm.timestamp)
        ),
    )


def metric_history(conn: Connection, run_id: str, key: str) -> list[tuple[str, float, int, int]]:
    c = t.metric_history.c
    rows = conn.execute(
        sa.select(c.value, c.is_nan, c.timestamp, c.step)
        .where(c.run_id == run_id, c.key == key)
        .order_by(c.step, c.timestamp, c.id)
    )
    return [(key, read_value(r.value, r.is_nan), r.timestamp, r.step) for r in rows]


# -- inputs and artifacts --------------------------------------------------------------------


def set_input(conn: Connection, run_id: str, **values: Any) -> None:
    conn.execute(
        sa.delete(t.run_inputs).where(
            t.run_inputs.c.run_id == run_id, t.run_inputs.c.name == values["name"]
        )
    )
    conn.execute(sa.insert(t.run_inputs).values(run_id=run_id, **values))


def put_artifacts(conn: Connection, run_id: str, files: Sequence[tuple[str, str, int]]) -> None:
    """Record (path, digest, size) rows; a path logged again points at its new bytes."""
    if not files:
        return
    paths = [p for p, _, _ in files]
    for i in range(0, len(paths), 500):
        conn.execute(
            sa.delete(t.run_artifacts).where(
                t.run_artifacts.c.run_id == run_id, t.run_artifacts.c.path.in_(paths[i : i + 500])
            )
        )
    conn.execute(
        sa.insert(t.run_artifacts),
        [{"run_id": run_id, "path": p, "digest": d, "size": s} for p, d, s in files],
    )


def artifacts_in(conn: Connection, ws: str, run_id: str, prefix: str = "") -> RunArtifacts | None:
    """The run, when it is in the workspace, with its artifacts at prefix or under prefix/, by
    path: the one way to ask what a run holds (listing it, registering from it)."""
    run = run_row(conn, ws, run_id)
    if run is None:
        return None
    given = {"run": run_id}
    if prefix:
        esc = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        given |= {"path": prefix, "under": f"{esc}/%"}
    rows = conn.execute(_artifacts(bool(prefix)), given).all()
    return RunArtifacts(run, [FileEntry(r.path, r.digest, r.size) for r in rows])


@functools.cache  # built once per shape: every registration from a run lists its artifacts
def _artifacts(under: bool) -> sa.Select[Any]:
    c = t.run_artifacts.c
    q = sa.select(c.path, c.digest, c.size).where(c.run_id == sa.bindparam("run"))
    if under:
        at = c.path == sa.bindparam("path", type_=sa.String)
        q = q.where(sa.or_(at, c.path.like(sa.bindparam("under", type_=sa.String), escape="\\")))
    return q.order_by(c.path)
