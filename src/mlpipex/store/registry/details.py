"""Versions as the domain's values: the records with their metrics, tags, datasets, aliases and
files attached, read in one statement for any number of versions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.store import schema as t
from mlpipex.store.registry.records import VersionRecord


def to_versions(
    conn: Connection, rows: Sequence[VersionRecord], *, files: bool = False
) -> list[ModelVersion]:
    """Domain versions for rows, with their metrics, tags, datasets, aliases (and files) read in
    one statement: a lookup is two round trips on PostgreSQL, not seven."""
    if not rows:
        return []
    d = _details(conn, [r.id for r in rows], files)
    return [
        ModelVersion(
            model=r.model_name,
            version=r.version,
            stage=r.stage,
            status=r.status,
            description=r.description,
            commit=r.commit,
            commit_dirty=r.commit_dirty,
            run_id=r.run_id,
            flavor=r.flavor,
            artifact_digest=r.artifact_digest,
            artifact_size=r.artifact_size,
            created_at=r.created_at,
            created_by=r.created_by,
            stage_entered_at=r.stage_entered_at,
            metrics=dict(d[_METRIC].get(r.id, [])),
            tags=dict(d[_TAG].get(r.id, [])),
            datasets=tuple(d[_DATASET].get(r.id, [])),
            aliases=tuple(sorted(d[_ALIAS].get(r.id, []))),
            files=tuple(d[_FILE].get(r.id, [])),
        )
        for r in rows
    ]


_METRIC, _TAG, _DATASET, _FILE, _ALIAS = range(5)


def _details(conn: Connection, ids: Sequence[int], files: bool) -> list[dict[int, list[Any]]]:
    """Per kind, per version id: what ``to_versions`` attaches, from one UNION ALL whose
    branches share one shape (kind, version_id, four texts, a number, a size)."""

    def branch(
        kind: int, vid: Any, *cols: Any, num: Any = None, size: Any = None
    ) -> sa.Select[Any]:
        texts = [*cols, *[None] * (4 - len(cols))]
        return sa.select(
            sa.literal(kind).label("kind"),
            vid.label("vid"),
            *(sa.cast(c, sa.Text).label(f"s{i}") for i, c in enumerate(texts)),
            sa.cast(num, sa.Float).label("num"),
            sa.cast(size, sa.BigInteger).label("size"),
        )

    vm, vt, vd, vf, v, a = (
        t.version_metrics,
        t.version_tags,
        t.version_datasets,
        t.version_files,
        t.versions,
        t.aliases,
    )
    parts = [
        branch(_METRIC, vm.c.version_id, vm.c.key, num=vm.c.value).where(vm.c.version_id.in_(ids)),
        branch(_TAG, vt.c.version_id, vt.c.key, vt.c.value).where(vt.c.version_id.in_(ids)),
        branch(
            _DATASET, vd.c.version_id, vd.c.name, vd.c.uri, vd.c.digest, vd.c.stage, size=vd.c.size
        ).where(vd.c.version_id.in_(ids)),
        branch(_ALIAS, v.c.id, a.c.alias)
        .join_from(a, v, (v.c.model_id == a.c.model_id) & (v.c.version == a.c.version))
        .where(v.c.id.in_(ids)),
    ]
    if files:
        parts.append(
            branch(_FILE, vf.c.version_id, vf.c.path, vf.c.digest, size=vf.c.size).where(
                vf.c.version_id.in_(ids)
            )
        )
    out: list[dict[int, list[Any]]] = [defaultdict(list) for _ in range(5)]
    for r in conn.execute(sa.union_all(*parts)):
        out[r.kind][r.vid].append(_DECODE[r.kind](r))
    return out


_DECODE: dict[int, Any] = {
    _METRIC: lambda r: (r.s0, r.num),
    _TAG: lambda r: (r.s0, r.s1),
    _DATASET: lambda r: DatasetRef(r.s0, r.s1, r.s2, r.size, r.s3),
    _FILE: lambda r: FileEntry(r.s0, r.s1, r.size),
    _ALIAS: lambda r: r.s0,
}
