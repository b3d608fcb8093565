"""Queries over the registry's tables: models, versions, aliases, tags, transition requests.

Every function takes the connection of a transaction opened by ``Store.read()``/``write()``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import (
    Approval,
    DatasetRef,
    ModelVersion,
    RegisteredModel,
    TransitionRequest,
)
from mlpipex.domain.policy import Stage
from mlpipex.store import schema as t
from mlpipex.store.engine import upsert_into

# -- settings ------------------------------------------------------------------------------


def get_setting(conn: Connection, key: str) -> str | None:
    return conn.execute(sa.select(t.settings.c.value).where(t.settings.c.key == key)).scalar()


def record_setting(conn: Connection, key: str, value: str) -> None:
    """Record key's value unless one is recorded: the first of concurrent writers wins (many
    processes opening a new registry at once must not collide on the key)."""
    ins = upsert_into(conn, t.settings).values(key=key, value=value)
    conn.execute(ins.on_conflict_do_nothing())


# -- models --------------------------------------------------------------------------------


def model_row(conn: Connection, name: str, *, lock: bool = False) -> sa.Row[Any] | None:
    q = sa.select(t.models).where(t.models.c.name == name)
    if lock:
        q = q.with_for_update()
    return conn.execute(q).first()


def insert_model(
    conn: Connection, name: str, description: str, policy: dict[str, Any] | None, now: int
) -> int:
    return int(
        conn.execute(
            sa.insert(t.models)
            .values(
                name=name,
                description=description,
                policy=policy,
                last_version=0,
                created_at=now,
                updated_at=now,
            )
            .returning(t.models.c.id)
        ).scalar_one()
    )


def update_model(conn: Connection, model_id: int, now: int, **values: Any) -> None:
    conn.execute(
        sa.update(t.models).where(t.models.c.id == model_id).values(updated_at=now, **values)
    )


def delete_model(conn: Connection, model_id: int) -> None:
    conn.execute(sa.delete(t.models).where(t.models.c.id == model_id))


def to_model(conn: Connection, row: sa.Row[Any]) -> RegisteredModel:
    tags = dict(
        conn.execute(
            sa.select(t.model_tags.c.key, t.model_tags.c.value).where(
                t.model_tags.c.model_id == row.id
            )
        ).all()
    )
    aliases = dict(
        conn.execute(
            sa.select(t.aliases.c.alias, t.aliases.c.version).where(t.aliases.c.model_id == row.id)
        ).all()
    )
    return RegisteredModel(
        name=row.name,
        description=row.description,
        policy=row.policy,
        tags=tags,
        aliases=aliases,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_version=row.last_version,
    )


def list_model_rows(
    conn: Connection,
    query: str | None,
    limit: int,
    after: str | None,
    only: frozenset[str] | None = None,
) -> list[sa.Row[Any]]:
    """Models by name; ``only`` restricts them in the query (what a user may see)."""
    q = sa.select(t.models).order_by(t.models.c.name).limit(limit)
    if only is not None:
        q = q.where(t.models.c.name.in_(sorted(only)))
    if query:
        q = q.where(t.models.c.name.ilike(f"%{_escape_like(query)}%", escape="\\"))
    if after:
        q = q.where(t.models.c.name > after)
    return list(conn.execute(q).all())


def stage_summary(conn: Connection, model_ids: Sequence[int]) -> dict[int, dict[str, list[int]]]:
    """model id -> stage -> versions in it (stage None left out)."""
    out: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    rows = conn.execute(
        sa.select(t.versions.c.model_id, t.versions.c.stage, t.versions.c.version)
        .where(t.versions.c.model_id.in_(model_ids), t.versions.c.stage != Stage.NONE)
        .order_by(t.versions.c.version)
    )
    for mid, stage, version in rows:
        out[mid][stage].append(version)
    return out


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def set_model_tag(conn: Connection, model_id: int, key: str, value: str) -> None:
    conn.execute(
        sa.delete(t.model_tags).where(
            t.model_tags.c.model_id == model_id, t.model_tags.c.key == key
        )
    )
    conn.execute(sa.insert(t.model_tags).values(model_id=model_id, key=key, value=value))


def delete_model_tag(conn: Connection, model_id: int, key: str) -> bool:
    res = conn.execute(
        sa.delete(t.model_tags).where(
            t.model_tags.c.model_id == model_id, t.model_tags.c.key == key
        )
    )
    return bool(res.rowcount)


# -- versions ------------------------------------------------------------------------------


def allocate_version(conn: Connection, model_id: int) -> int:
    """The next version number: atomic, and rolled back with the transaction, so gapless."""
    return int(
        conn.execute(
            sa.update(t.models)
            .where(t.models.c.id == model_id)
            .values(last_version=t.models.c.last_version + 1)
            .returning(t.models.c.last_version)
        ).scalar_one()
    )


def insert_version(
    conn: Connection,
    model_id: int,
    version: int,
    *,
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
) -> int:
    vid = int(
        conn.execute(
            sa.insert(t.versions)
            .values(
                model_id=model_id,
                version=version,
                stage=Stage.NONE,
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
            )
            .returning(t.versions.c.id)
        ).scalar_one()
    )
    if metrics:
        conn.execute(
            sa.insert(t.version_metrics),
            [{"version_id": vid, "key": k, "value": v} for k, v in metrics.items()],
        )
    if tags:
        conn.execute(
            sa.insert(t.version_tags),
            [{"version_id": vid, "key": k, "value": v} for k, v in tags.items()],
        )
    if datasets:
        conn.execute(
            sa.insert(t.version_datasets),
            [
                {
                    "version_id": vid,
                    "name": d.name,
                    "uri": d.uri,
                    "digest": d.digest,
                    "size": d.size,
                    "stage": d.stage,
                }
                for d in datasets
            ],
        )
    insert_files(conn, vid, files)
    return vid


def insert_files(conn: Connection, vid: int, files: Sequence[FileEntry]) -> None:
    if files:
        conn.execute(
            sa.insert(t.version_files),
            [
                {"version_id": vid, "path": f.path, "digest": f.digest, "size": f.size}
                for f in files
            ],
        )


_VERSION_COLS = (t.versions, t.models.c.name.label("model_name"))


def version_row(conn: Connection, model_id: int, version: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(*_VERSION_COLS)
        .join(t.models)
        .where(t.versions.c.model_id == model_id, t.versions.c.version == version)
    ).first()


def version_rows(
    conn: Connection,
    model_id: int,
    *,
    stage: str | None = None,
    limit: int | None = None,
    before: int | None = None,
) -> list[sa.Row[Any]]:
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
    return list(conn.execute(q).all())


def find_version(
    conn: Connection, model: str, *, version: int | None = None, alias: str | None = None
) -> sa.Row[Any] | None:
    """A version by number or alias in one statement: None when the model does not exist; else a
    version row whose ``id`` is None when the version (or the alias) is missing, and whose
    ``alias_version`` says where the alias points (None: no such alias)."""
    m, v, a = t.models, t.versions, t.aliases
    q = sa.select(*_VERSION_COLS, m.c.id.label("found_model_id")).select_from(m)
    if alias is not None:
        q = q.add_columns(a.c.version.label("alias_version")).outerjoin(
            a, (a.c.model_id == m.c.id) & (a.c.alias == alias)
        )
        number: Any = a.c.version
    else:
        q = q.add_columns(sa.literal(version).label("alias_version"))
        number = version
    q = q.outerjoin(v, (v.c.model_id == m.c.id) & (v.c.version == number))
    return conn.execute(q.where(m.c.name == model)).first()


def to_versions(
    conn: Connection, rows: Sequence[sa.Row[Any]], *, files: bool = False
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
            commit_dirty=bool(r.commit_dirty),
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


def set_stage(conn: Connection, version_id: int, stage: str, now: int) -> None:
    conn.execute(
        sa.update(t.versions)
        .where(t.versions.c.id == version_id)
        .values(stage=stage, stage_entered_at=now)
    )


def update_version(conn: Connection, version_id: int, **values: Any) -> None:
    conn.execute(sa.update(t.versions).where(t.versions.c.id == version_id).values(**values))


def delete_version(conn: Connection, version_id: int) -> None:
    conn.execute(sa.delete(t.versions).where(t.versions.c.id == version_id))


def set_version_tag(conn: Connection, version_id: int, key: str, value: str) -> None:
    conn.execute(
        sa.delete(t.version_tags).where(
            t.version_tags.c.version_id == version_id, t.version_tags.c.key == key
        )
    )
    conn.execute(sa.insert(t.version_tags).values(version_id=version_id, key=key, value=value))


def delete_version_tag(conn: Connection, version_id: int, key: str) -> bool:
    res = conn.execute(
        sa.delete(t.version_tags).where(
            t.version_tags.c.version_id == version_id, t.version_tags.c.key == key
        )
    )
    return bool(res.rowcount)


# -- aliases -------------------------------------------------------------------------------


def alias_version(conn: Connection, model_id: int, alias: str) -> int | None:
    return conn.execute(
        sa.select(t.aliases.c.version).where(
            t.aliases.c.model_id == model_id, t.aliases.c.alias == alias
        )
    ).scalar()


def set_alias(conn: Connection, model_id: int, alias: str, version: int) -> None:
    conn.execute(
        sa.delete(t.aliases).where(t.aliases.c.model_id == model_id, t.aliases.c.alias == alias)
    )
    conn.execute(sa.insert(t.aliases).values(model_id=model_id, alias=alias, version=version))


def delete_alias(conn: Connection, model_id: int, alias: str) -> bool:
    res = conn.execute(
        sa.delete(t.aliases).where(t.aliases.c.model_id == model_id, t.aliases.c.alias == alias)
    )
    return bool(res.rowcount)


def delete_aliases_of(conn: Connection, model_id: int, version: int) -> None:
    conn.execute(
        sa.delete(t.aliases).where(t.aliases.c.model_id == model_id, t.aliases.c.version == version)
    )


# -- transition requests -------------------------------------------------------------------


def pending_request(conn: Connection, version_id: int, to_stage: str) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(t.transition_requests).where(
            t.transition_requests.c.version_id == version_id,
            t.transition_requests.c.to_stage == to_stage,
            t.transition_requests.c.status == "pending",
        )
    ).first()


def insert_request(
    conn: Connection, version_id: int, to_stage: str, actor: str, reason: str, now: int
) -> int:
    return int(
        conn.execute(
            sa.insert(t.transition_requests)
            .values(
                version_id=version_id,
                to_stage=to_stage,
                status="pending",
                requested_by=actor,
                reason=reason,
                created_at=now,
            )
            .returning(t.transition_requests.c.id)
        ).scalar_one()
    )


def set_request_status(conn: Connection, request_id: int, status: str) -> None:
    conn.execute(
        sa.update(t.transition_requests)
        .where(t.transition_requests.c.id == request_id)
        .values(status=status)
    )


def add_approval(conn: Connection, request_id: int, actor: str, comment: str, now: int) -> None:
    conn.execute(
        sa.insert(t.approvals).values(
            request_id=request_id, actor=actor, comment=comment, created_at=now
        )
    )


def requests_for(
    conn: Connection, model_id: int, *, status: str | None = None, version_id: int | None = None
) -> list[TransitionRequest]:
    q = (
        sa.select(t.transition_requests, t.versions.c.version, t.models.c.name)
        .join(t.versions, t.versions.c.id == t.transition_requests.c.version_id)
        .join(t.models, t.models.c.id == t.versions.c.model_id)
        .where(t.versions.c.model_id == model_id)
        .order_by(t.transition_requests.c.id)
    )
    if status:
        q = q.where(t.transition_requests.c.status == status)
    if version_id is not None:
        q = q.where(t.transition_requests.c.version_id == version_id)
    rows = conn.execute(q).all()
    if not rows:
        return []
    appr: dict[int, list[Approval]] = defaultdict(list)
    for a in conn.execute(
        sa.select(t.approvals)
        .where(t.approvals.c.request_id.in_([r.id for r in rows]))
        .order_by(t.approvals.c.created_at)
    ):
        appr[a.request_id].append(Approval(a.actor, a.comment, a.created_at))
    return [
        TransitionRequest(
            r.id,
            r.name,
            r.version,
            r.to_stage,
            r.status,
            r.requested_by,
            r.reason,
            r.created_at,
            tuple(appr[r.id]),
        )
        for r in rows
    ]


# -- objects referenced --------------------------------------------------------------------


def referenced_digests(conn: Connection) -> set[str]:
    """Objects gc keeps: the files of every version, the artifacts of every run, the files
    uploaded through the MLflow artifact proxy and every logged prediction file."""
    from mlpipex.store import schema_mlflow, schema_monitor

    q = sa.union(
        sa.select(t.version_files.c.digest),
        sa.select(t.run_artifacts.c.digest),
        sa.select(schema_mlflow.artifact_files.c.digest),
        sa.select(schema_monitor.prediction_logs.c.digest),
    )
    return set(conn.execute(q).scalars())


def stored_sizes(conn: Connection, sizes: set[int]) -> frozenset[int]:
    """Which of these file sizes some version already has (a hint that the bytes are stored)."""
    if not sizes:
        return frozenset()
    q = sa.select(t.version_files.c.size).where(t.version_files.c.size.in_(sizes)).distinct()
    return frozenset(conn.execute(q).scalars())


def all_files(conn: Connection) -> Iterable[tuple[str, int, str, str]]:
    """(model, version, path, digest) of every artifact file, for fsck."""
    return conn.execute(
        sa.select(
            t.models.c.name, t.versions.c.version, t.version_files.c.path, t.version_files.c.digest
        )
        .join(t.versions, t.versions.c.id == t.version_files.c.version_id)
        .join(t.models, t.models.c.id == t.versions.c.model_id)
    ).all()


def ensure_model(conn: Connection, name: str, now: int) -> tuple[sa.Row[Any], bool]:
    """The model's row, creating it when missing; safe against a concurrent creator."""
    row = model_row(conn, name)
    if row is not None:
        return row, False
    try:
        with conn.begin_nested():
            insert_model(conn, name, "", None, now)
        created = True
    except IntegrityError:
        created = False
    row = model_row(conn, name)
    assert row is not None
    return row, created
