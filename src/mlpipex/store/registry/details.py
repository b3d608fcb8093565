"""Versions as the domain's values: a version's own columns with its metrics, tags, datasets,
aliases (and files) attached in the same statement, one JSON array per kind from a correlated
subquery. A lookup by number or alias is then one statement (``versions.find_version``), and so
is attaching them to any number of versions (``to_versions``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.models import ModelVersion
from mlpipex.store import schema as t
from mlpipex.store.ids import in_ids
from mlpipex.store.registry.records import (
    ALIASES,
    DATASETS,
    FILES,
    METRICS,
    TAGS,
    VersionRecord,
    to_version,
)


@functools.cache  # built once per dialect and kind: a lookup is dominated by its Python work
def detail_columns(pg: bool, files: bool) -> tuple[sa.Label[Any], ...]:
    """Columns to add to a select over ``model_versions`` (on PostgreSQL when ``pg``), each a
    JSON array of arrays."""
    v, vm, vt, vd, vf, a = (
        t.versions,
        t.version_metrics,
        t.version_tags,
        t.version_datasets,
        t.version_files,
        t.aliases.alias("version_aliases"),  # the lookup by alias joins aliases itself
    )

    def rows(label: str, where: Any, *cols: Any) -> sa.Label[Any]:
        if pg:
            agg = sa.func.json_agg(sa.func.json_build_array(*cols))
        else:
            agg = sa.func.json_group_array(sa.func.json_array(*cols))
        sub = sa.select(agg).where(where).correlate(v).scalar_subquery()
        return sa.type_coerce(sub, sa.JSON).label(label)

    # SQLite's JSON writes a float with 15 significant digits: send 18 as text, which read back
    # give the same double (PostgreSQL writes the shortest exact form itself).
    value = vm.c.value if pg else sa.func.printf("%!.17e", vm.c.value)
    out = [
        rows(METRICS, vm.c.version_id == v.c.id, vm.c.key, value),
        rows(TAGS, vt.c.version_id == v.c.id, vt.c.key, vt.c.value),
        rows(
            DATASETS,
            vd.c.version_id == v.c.id,
            vd.c.name,
            vd.c.uri,
            vd.c.digest,
            vd.c.size,
            vd.c.stage,
        ),
        rows(ALIASES, (a.c.model_id == v.c.model_id) & (a.c.version == v.c.version), a.c.alias),
    ]
    if files:
        out.append(rows(FILES, vf.c.version_id == v.c.id, vf.c.path, vf.c.digest, vf.c.size))
    return tuple(out)


@functools.cache  # built once per dialect, as detail_columns
def version_columns(pg: bool) -> tuple[sa.ColumnElement[Any], ...]:
    """A version's own columns (its model's name first: the select joins ``registered_models``)
    and its details but files, in the order ``records.version_at`` reads them by position."""
    v = t.versions.c
    own = (v.version, v.stage, v.status, v.description, v.commit, v.commit_dirty, v.run_id)
    more = (v.flavor, v.artifact_digest, v.artifact_size, v.created_at, v.created_by)
    return (t.models.c.name, *own, *more, v.stage_entered_at, *detail_columns(pg, False))


@functools.cache  # built once per shape: a statement's cache key is computed once per object
def _details_of(pg: bool, files: bool, extra: tuple[sa.Label[Any], ...]) -> sa.Select[Any]:
    cols = (*detail_columns(pg, files), *extra)
    return sa.select(t.versions.c.id, *cols).where(in_ids(t.versions.c.id))


def to_versions(
    conn: Connection, records: Sequence[VersionRecord], *, files: bool = False
) -> list[ModelVersion]:
    """Domain versions for records found by another query, their details in one statement."""
    return [v for v, _ in versions_with(conn, records, files=files)]


def versions_with(
    conn: Connection,
    records: Sequence[VersionRecord],
    extra: tuple[sa.Label[Any], ...] = (),
    *,
    files: bool = False,
) -> list[tuple[ModelVersion, sa.Row[Any]]]:
    """to_versions, each with its row of the extra columns (scalar subqueries correlated to
    ``model_versions``, built once by the caller), read in the same statement."""
    if not records:
        return []
    q = _details_of(conn.dialect.name == "postgresql", files, extra)
    found = {row.id: row for row in conn.execute(q, {"ids": [r.id for r in records]}).all()}
    # Rows selected elsewhere (store/mlflow) become records here: SQLite's booleans are ints.
    out = []
    for r in records:
        row = found[r.id]
        record = r if isinstance(r, VersionRecord) else VersionRecord.of(r)
        out.append((to_version(record, row, files=files), row))
    return out
