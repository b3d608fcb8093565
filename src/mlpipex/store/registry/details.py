"""Versions as the domain's values: a version's own columns with its metrics, tags, datasets,
aliases (and files) attached in the same statement, one JSON array per kind from a correlated
subquery. A lookup by number or alias is then one statement (``versions.find_version``), and so
is attaching them to any number of versions (``to_versions``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.store import schema as t
from mlpipex.store.registry.records import VersionRecord

_METRICS, _TAGS, _DATASETS, _ALIASES, _FILES = (
    "d_metrics",
    "d_tags",
    "d_datasets",
    "d_aliases",
    "d_files",
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
        rows(_METRICS, vm.c.version_id == v.c.id, vm.c.key, value),
        rows(_TAGS, vt.c.version_id == v.c.id, vt.c.key, vt.c.value),
        rows(
            _DATASETS,
            vd.c.version_id == v.c.id,
            vd.c.name,
            vd.c.uri,
            vd.c.digest,
            vd.c.size,
            vd.c.stage,
        ),
        rows(_ALIASES, (a.c.model_id == v.c.model_id) & (a.c.version == v.c.version), a.c.alias),
    ]
    if files:
        out.append(rows(_FILES, vf.c.version_id == v.c.id, vf.c.path, vf.c.digest, vf.c.size))
    return tuple(out)


# The columns a record and the domain's version share (all but the ids, the model's name and the
# details).
_SHARED = sorted({f.name for f in fields(VersionRecord)} & {f.name for f in fields(ModelVersion)})


@functools.cache  # built once: a statement's cache key is computed once per object
def _details_of(pg: bool, files: bool) -> sa.Select[Any]:
    ids: sa.BindParameter[int] = sa.bindparam("ids", expanding=True)
    return sa.select(t.versions.c.id, *detail_columns(pg, files)).where(t.versions.c.id.in_(ids))


def to_version(r: VersionRecord, row: Any, *, files: bool) -> ModelVersion:
    """The domain's version from its record and the row that carries ``detail_columns`` (with
    the files when ``files``)."""

    def rows(label: str) -> list[list[Any]]:
        # PostgreSQL aggregates no rows to NULL
        return getattr(row, label) or []

    return ModelVersion(
        model=r.model_name,
        **{f: getattr(r, f) for f in _SHARED},
        # float() also reads what JSON cannot hold as a number ("NaN", "Infinity")
        metrics={k: float(x) for k, x in rows(_METRICS)},
        tags={k: x for k, x in rows(_TAGS)},
        datasets=tuple(DatasetRef(*d) for d in rows(_DATASETS)),
        aliases=tuple(sorted(x for (x,) in rows(_ALIASES))),
        files=tuple(FileEntry(*f) for f in rows(_FILES)) if files else (),
    )


def to_versions(
    conn: Connection, records: Sequence[VersionRecord], *, files: bool = False
) -> list[ModelVersion]:
    """Domain versions for records found by another query, their details in one statement."""
    if not records:
        return []
    q = _details_of(conn.dialect.name == "postgresql", files)
    found = {row.id: row for row in conn.execute(q, {"ids": [r.id for r in records]}).all()}
    # Rows selected elsewhere (store/mlflow) become records here: SQLite's booleans are ints.
    return [
        to_version(
            r if isinstance(r, VersionRecord) else VersionRecord.of(r), found[r.id], files=files
        )
        for r in records
    ]
