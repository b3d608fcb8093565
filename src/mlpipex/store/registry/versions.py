"""Queries over versions: allocating numbers, inserting, finding by number or alias, editing."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.domain.stage import Stage
from mlpipex.domain.workspaces import Quotas
from mlpipex.store import schema as t
from mlpipex.store.engine import insert_many, upsert_into
from mlpipex.store.registry.details import detail_columns
from mlpipex.store.registry.models import set_tag
from mlpipex.store.registry.records import VersionLookup, VersionRecord, to_version


def allocate_version(conn: Connection, model_id: int, *, touched: int | None = None) -> int:
    """The next version number: atomic, and rolled back with the transaction, so gapless. With
    ``touched``, the model's update time moves to it in the same statement."""
    given = {"model": model_id, **({"now": touched} if touched is not None else {})}
    return int(conn.execute(_next_number(False, touched is not None), given).one().last_version)


def allocate_version_of(
    conn: Connection, ws: str, name: str, *, touched: int | None = None
) -> tuple[int, int, Quotas] | None:
    """The model's id and its next version number, found by name in the same statement that
    numbers it (and locks its row), with the workspace's quotas (for the caller to check; a
    refusal rolls the number back); None when there is no such model."""
    given = {"ws": ws, "model": name, **({"now": touched} if touched is not None else {})}
    row = conn.execute(_next_number(True, touched is not None), given).first()
    if row is None:
        return None
    return int(row.id), int(row.last_version), Quotas(*row[2:])


# Built once, as the statements of every registration: SQLAlchemy otherwise builds each and
# computes its cache key per call, which costs more than SQLite running it.
@functools.cache
def _next_number(by_name: bool, touch: bool) -> sa.Update:
    m = t.models.c
    model: sa.BindParameter[Any] = sa.bindparam("model")  # the model's name, or its id
    where = (m.workspace == sa.bindparam("ws")) & (m.name == model) if by_name else m.id == model
    values: dict[str, Any] = {"last_version": m.last_version + 1}
    if touch:
        values["updated_at"] = sa.bindparam("now")
    numbered = sa.update(t.models).where(where).values(values)
    if not by_name:
        return numbered.returning(m.id, m.last_version)
    w = t.workspaces.c
    limits = [
        sa.select(limit).where(w.name == m.workspace).scalar_subquery()
        for limit in (w.max_models, w.max_versions, w.max_bytes, w.max_endpoints)
    ]  # in the order of Quotas' fields
    return numbered.returning(m.id, m.last_version, *limits)


@functools.cache
def _insert_version() -> sa.Insert:
    return sa.insert(t.versions).returning(t.versions.c.id)


def insert_version(
    conn: Connection,
    model_id: int,
    version: int,
    *,
    model: str,
    commit: str | None,
    commit_dirty: bool,
    run_id: str | None,
    flavor: str | None,
    description: str,
    artifact_digest: str,
    artifact_size: int,
    created_by: str,
    now: int,
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    datasets: Sequence[DatasetRef],
    files: Sequence[FileEntry],
) -> tuple[int, ModelVersion]:
    """Insert a new version of the model (named ``model``) with its details; its row id, and
    the version as a read of it returns it (details by key, as the tables' keys order them), so
    the caller need not read it back."""
    mv = ModelVersion(
        model=model,
        version=version,
        stage=Stage.NONE.value,
        status="READY",
        description=description,
        commit=commit,
        commit_dirty=commit_dirty,
        run_id=run_id,
        flavor=flavor,
        artifact_digest=artifact_digest,
        artifact_size=artifact_size,
        created_at=now,
        created_by=created_by,
        stage_entered_at=now,
        metrics=dict(sorted(metrics.items())),
        tags=dict(sorted(tags.items())),
        datasets=tuple(sorted(datasets, key=lambda d: d.name)),
        files=tuple(sorted(files, key=lambda f: f.path)),
    )
    values = {f: getattr(mv, f) for f in _COLUMNS} | {"model_id": model_id}
    vid = int(conn.execute(_insert_version(), values).scalar_one())
    insert_many(conn, t.version_metrics, _KV, [(vid, k, v) for k, v in mv.metrics.items()])
    insert_many(conn, t.version_tags, _KV, [(vid, k, v) for k, v in mv.tags.items()])
    insert_many(
        conn,
        t.version_datasets,
        ("version_id", "name", "uri", "digest", "size", "stage"),
        [(vid, d.name, d.uri, d.digest, d.size, d.stage) for d in mv.datasets],
    )
    insert_files(conn, vid, mv.files)
    return vid, mv


# a version's own columns, as its domain value names them (all but its model's id)
_COLUMNS = (
    "version",
    "stage",
    "status",
    "description",
    "commit",
    "commit_dirty",
    "run_id",
    "flavor",
    "artifact_digest",
    "artifact_size",
    "created_at",
    "created_by",
    "stage_entered_at",
)
_KV = ("version_id", "key", "value")


def insert_files(conn: Connection, vid: int, files: Sequence[FileEntry]) -> None:
    rows = [(vid, f.path, f.digest, f.size) for f in files]
    insert_many(conn, t.version_files, ("version_id", "path", "digest", "size"), rows)


_VERSION_COLS = (t.versions, t.models.c.name.label("model_name"))


def version_row(conn: Connection, model_id: int, version: int) -> VersionRecord | None:
    row = conn.execute(_version_of_model(), {"id": model_id, "number": version}).first()
    return None if row is None else VersionRecord.of(row)


@functools.cache
def _version_of_model() -> sa.Select[Any]:
    v = t.versions.c
    q = sa.select(*_VERSION_COLS).join(t.models)
    return q.where(v.model_id == sa.bindparam("id"), v.version == sa.bindparam("number"))


def version_rows(
    conn: Connection,
    model_id: int,
    *,
    stage: str | None = None,
    limit: int | None = None,
    before: int | None = None,
) -> list[VersionRecord]:
    # Ordered as the unique (model_id, version) index is, so the planner walks it and stops at
    # the limit: with statistics saying model_id is not selective (one model), SQLite would
    # otherwise scan every version and sort.
    q = (
        sa.select(*_VERSION_COLS)
        .join(t.models)
        .where(t.versions.c.model_id == model_id)
        .order_by(t.versions.c.model_id.desc(), t.versions.c.version.desc())
    )
    if stage is not None:
        q = q.where(t.versions.c.stage == stage)
    if before is not None:
        q = q.where(t.versions.c.version < before)
    if limit is not None:
        q = q.limit(limit)
    return [VersionRecord.of(r) for r in conn.execute(q)]


def find_version(
    conn: Connection,
    ws: str,
    model: str,
    *,
    version: int | None = None,
    alias: str | None = None,
    details: bool = False,
    files: bool = False,
) -> VersionLookup | None:
    """A version by number or alias in one statement: None when the model does not exist. With
    details, the same statement reads what the domain's version carries (and its files)."""
    q = _find(conn.dialect.name == "postgresql", details, files, alias is not None)
    given = {
        "ws": ws,
        "model": model,
        **({"alias": alias} if alias is not None else {"number": version}),
    }
    row = conn.execute(q, given).first()
    if row is None:
        return None
    found = None if row.id is None else VersionRecord.of(row)
    full = to_version(found, row, files=files) if details and found is not None else None
    return VersionLookup(row.found_model_id, row.alias_version, found, full)


@functools.cache  # built once per shape: SQLAlchemy then computes its cache key once, not per call
def _find(pg: bool, details: bool, files: bool, by_alias: bool) -> sa.Select[Any]:
    m, v, a = t.models, t.versions, t.aliases
    q = sa.select(*_VERSION_COLS, m.c.id.label("found_model_id")).select_from(m)
    if details:
        q = q.add_columns(*detail_columns(pg, files))
    if by_alias:
        q = q.add_columns(a.c.version.label("alias_version")).outerjoin(
            a, (a.c.model_id == m.c.id) & (a.c.alias == sa.bindparam("alias", type_=sa.String))
        )
        number: Any = a.c.version
    else:
        number = sa.bindparam("number", type_=sa.Integer)
        q = q.add_columns(sa.cast(number, sa.Integer).label("alias_version"))
    q = q.outerjoin(v, (v.c.model_id == m.c.id) & (v.c.version == number))
    return q.where(
        m.c.workspace == sa.bindparam("ws", type_=sa.String),
        m.c.name == sa.bindparam("model", type_=sa.String),
    )


def newest_version(
    conn: Connection, model_id: int, *, stage: str | None = None, files: bool = False
) -> ModelVersion | None:
    """The model's newest version (in stage, when given) with its details, in one statement."""
    q = _newest(conn.dialect.name == "postgresql", files, stage is not None)
    given = {"model_id": model_id, **({"stage": stage} if stage is not None else {})}
    row = conn.execute(q, given).first()
    return None if row is None else to_version(VersionRecord.of(row), row, files=files)


@functools.cache  # built once per shape, as _find
def _newest(pg: bool, files: bool, by_stage: bool) -> sa.Select[Any]:
    v = t.versions
    q = (
        sa.select(*_VERSION_COLS, *detail_columns(pg, files))
        .join(t.models)
        .where(v.c.model_id == sa.bindparam("model_id", type_=sa.Integer))
    )
    if by_stage:
        q = q.where(v.c.stage == sa.bindparam("stage", type_=sa.String))
    # ordered as the unique (model_id, version) index is: see version_rows
    return q.order_by(v.c.model_id.desc(), v.c.version.desc()).limit(1)


def lookup_statements() -> dict[str, sa.Select[Any]]:
    """What ``find_version`` and ``newest_version`` run on SQLite for a version with its details
    and files: ``scripts/gen_sql.py`` compiles them for the plain reader (``sqlite_read.py``)."""
    return {
        "VERSION_BY_ALIAS": _find(False, True, True, True),
        "VERSION_BY_NUMBER": _find(False, True, True, False),
        "NEWEST_VERSION": _newest(False, True, False),
        "NEWEST_IN_STAGE": _newest(False, True, True),
    }


def set_stage(conn: Connection, version_id: int, stage: str, now: int) -> None:
    conn.execute(
        sa.update(t.versions)
        .where(t.versions.c.id == version_id)
        .values(stage=stage, stage_entered_at=now)
    )


def set_description(conn: Connection, version_id: int, description: str) -> None:
    conn.execute(
        sa.update(t.versions).where(t.versions.c.id == version_id).values(description=description)
    )


def set_artifact(conn: Connection, version_id: int, digest: str, size: int) -> None:
    """The package of a version recorded before its files were (an external reference)."""
    conn.execute(
        sa.update(t.versions)
        .where(t.versions.c.id == version_id)
        .values(artifact_digest=digest, artifact_size=size)
    )


def delete_version(conn: Connection, version_id: int) -> None:
    conn.execute(sa.delete(t.versions).where(t.versions.c.id == version_id))


def set_version_tag(conn: Connection, version_id: int, key: str, value: str) -> None:
    set_tag(conn, t.version_tags, version_id, key, value)


def set_version_tag_of(
    conn: Connection, ws: str, model: str, version: int, key: str, value: str
) -> bool:
    """The tag of the version NAME/NUMBER set in one statement that finds the version too (the
    upsert of ``set_tag`` inserting what a select finds); False when there is no such version,
    and nothing was written."""
    given = {"ws": ws, "model": model, "number": version, "key": key, "value": value}
    return bool(conn.execute(_tag_by_name(conn.dialect.name), given).rowcount)


@functools.cache  # built once per dialect: every tag change through MLflow's API sends it
def _tag_by_name(dialect: str) -> Any:
    m, v, tags = t.models.c, t.versions.c, t.version_tags
    found = (
        sa.select(v.id, sa.bindparam("key", type_=sa.String), sa.bindparam("value", type_=sa.Text))
        .join_from(t.versions, t.models)
        .where(
            m.workspace == sa.bindparam("ws", type_=sa.String),
            m.name == sa.bindparam("model", type_=sa.String),
            v.version == sa.bindparam("number", type_=sa.Integer),
        )
    )
    ins = upsert_into(dialect, tags).from_select(["version_id", "key", "value"], found)
    upsert = ins.on_conflict_do_update(
        index_elements=tags.primary_key.columns.values(), set_={"value": ins.excluded.value}
    )
    # SQLAlchemy keeps the count of rows an INSERT wrote only when asked (psycopg's is lost)
    return upsert.execution_options(preserve_rowcount=True)


def delete_version_tag(conn: Connection, version_id: int, key: str) -> bool:
    res = conn.execute(
        sa.delete(t.version_tags).where(
            t.version_tags.c.version_id == version_id, t.version_tags.c.key == key
        )
    )
    return bool(res.rowcount)
