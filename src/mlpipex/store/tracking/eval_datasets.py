"""Queries over MLflow evaluation datasets: their rows, tags, experiments and records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.evaluation import DatasetRecord, EvalDataset
from mlpipex.store import schema_genai as g
from mlpipex.store.engine import upsert_into

D = g.eval_datasets.c
R = g.eval_dataset_records.c
X = g.eval_dataset_experiments.c


def insert(conn: Connection, ws: str, d: EvalDataset) -> None:
    conn.execute(
        sa.insert(g.eval_datasets).values(
            workspace=ws,
            id=d.dataset_id,
            name=d.name,
            digest=d.digest,
            schema=d.schema,
            profile=d.profile,
            created_time=d.created_time,
            last_update_time=d.last_update_time,
            created_by=d.created_by,
            last_updated_by=d.last_updated_by,
        )
    )
    put_tags(conn, d.dataset_id, d.tags)


def touch(conn: Connection, dataset_id: str, now: int, by: str | None, digest: str | None) -> None:
    values: dict[str, Any] = {"last_update_time": now, "last_updated_by": by}
    if digest is not None:
        values["digest"] = digest
    conn.execute(sa.update(g.eval_datasets).where(D.id == dataset_id).values(**values))


def delete(conn: Connection, dataset_id: str) -> bool:
    """The dataset, and by its foreign keys' cascade its tags, links and records."""
    return bool(conn.execute(sa.delete(g.eval_datasets).where(D.id == dataset_id)).rowcount)


def put_tags(conn: Connection, dataset_id: str, tags: Mapping[str, str]) -> None:
    if not tags:
        return
    t = g.eval_dataset_tags.c
    ins = upsert_into(conn, g.eval_dataset_tags)
    upsert = ins.on_conflict_do_update(
        index_elements=[t.dataset_id, t.key], set_={"value": ins.excluded.value}
    )
    conn.execute(
        upsert, [{"dataset_id": dataset_id, "key": k, "value": v} for k, v in tags.items()]
    )


def delete_tag(conn: Connection, dataset_id: str, key: str) -> bool:
    t = g.eval_dataset_tags.c
    res = conn.execute(
        sa.delete(g.eval_dataset_tags).where(t.dataset_id == dataset_id, t.key == key)
    )
    return bool(res.rowcount)


def link(conn: Connection, dataset_id: str, experiment_ids: Sequence[int]) -> None:
    if not experiment_ids:
        return
    ins = upsert_into(conn, g.eval_dataset_experiments).on_conflict_do_nothing(
        index_elements=[X.dataset_id, X.experiment_id]
    )
    conn.execute(ins, [{"dataset_id": dataset_id, "experiment_id": e} for e in experiment_ids])


def unlink(conn: Connection, dataset_id: str, experiment_ids: Sequence[int]) -> None:
    conn.execute(
        sa.delete(g.eval_dataset_experiments).where(
            X.dataset_id == dataset_id, X.experiment_id.in_(list(experiment_ids))
        )
    )


def search(
    conn: Connection,
    ws: str,
    conds: Sequence[sa.ColumnElement[bool]],
    order: Sequence[Any],
    limit: int,
    offset: int,
) -> list[EvalDataset]:
    q = (
        sa.select(g.eval_datasets)
        .where(D.workspace == ws, *conds)
        .order_by(*order, D.id)
        .limit(limit)
        .offset(offset)
    )
    rows = list(conn.execute(q))
    ids = [r.id for r in rows]
    t = g.eval_dataset_tags.c
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    for did, k, v in conn.execute(
        sa.select(t.dataset_id, t.key, t.value).where(t.dataset_id.in_(ids))
    ):
        tags[did][k] = v
    exps: dict[str, list[str]] = defaultdict(list)
    linked = sa.select(X.dataset_id, X.experiment_id).where(X.dataset_id.in_(ids))
    for did, eid in conn.execute(linked.order_by(X.experiment_id)):
        exps[did].append(str(eid))
    return [
        EvalDataset(
            dataset_id=r.id,
            name=r.name,
            digest=r.digest,
            created_time=r.created_time,
            last_update_time=r.last_update_time,
            created_by=r.created_by,
            last_updated_by=r.last_updated_by,
            schema=r.schema,
            profile=r.profile,
            tags=tags.get(r.id, {}),
            experiment_ids=tuple(exps.get(r.id, [])),
        )
        for r in rows
    ]


def dataset(conn: Connection, ws: str, dataset_id: str) -> EvalDataset | None:
    """The workspace's dataset (one of another workspace is missing here)."""
    found = search(conn, ws, [D.id == dataset_id], [], 1, 0)
    return found[0] if found else None


def in_experiments(experiment_ids: Sequence[int]) -> sa.ColumnElement[bool]:
    return D.id.in_(sa.select(X.dataset_id).where(X.experiment_id.in_(list(experiment_ids))))


def tag_cmp(key: str, cmp: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """Datasets with the tag key whose value meets cmp (a condition on the tags' value)."""
    t = g.eval_dataset_tags.c
    return D.id.in_(sa.select(t.dataset_id).where(t.key == key, cmp))


# -- records ---------------------------------------------------------------------------------


def records_by_hash(
    conn: Connection, dataset_id: str, hashes: Sequence[str]
) -> dict[str, DatasetRecord]:
    q = sa.select(g.eval_dataset_records).where(
        R.dataset_id == dataset_id, R.input_hash.in_(hashes)
    )
    return {r.input_hash: _record(r) for r in conn.execute(q)}


def put_records(conn: Connection, by_hash: Mapping[str, DatasetRecord]) -> None:
    """Records keyed by their inputs' hash, each inserted or, where its dataset holds those
    inputs, updated (all but its id and creation), in one statement however many there are."""
    if not by_hash:
        return
    q = upsert_into(conn, g.eval_dataset_records)
    q = q.on_conflict_do_update(
        index_elements=[R.dataset_id, R.input_hash],
        set_={c: q.excluded[c] for c in _UPDATED},
    )
    conn.execute(q, [{"input_hash": h, **_values(r)} for h, r in by_hash.items()])


_UPDATED = ("expectations", "outputs", "tags", "source", "last_update_time", "last_updated_by")


def records(conn: Connection, dataset_id: str, limit: int, offset: int) -> list[DatasetRecord]:
    q = (
        sa.select(g.eval_dataset_records)
        .where(R.dataset_id == dataset_id)
        .order_by(R.created_time, R.id)
        .limit(limit)
        .offset(offset)
    )
    return [_record(r) for r in conn.execute(q)]


def delete_records(conn: Connection, dataset_id: str, record_ids: Sequence[str]) -> int:
    q = sa.delete(g.eval_dataset_records).where(
        R.dataset_id == dataset_id, R.id.in_(list(record_ids))
    )
    return int(conn.execute(q).rowcount)


def _values(r: DatasetRecord) -> dict[str, Any]:
    return {
        "id": r.record_id,
        "dataset_id": r.dataset_id,
        "inputs": r.inputs,
        "expectations": r.expectations,
        "outputs": r.outputs,
        "tags": r.tags,
        "source": r.source,
        "created_time": r.created_time,
        "last_update_time": r.last_update_time,
        "created_by": r.created_by,
        "last_updated_by": r.last_updated_by,
    }


def _record(r: Any) -> DatasetRecord:
    return DatasetRecord(
        record_id=r.id,
        dataset_id=r.dataset_id,
        inputs=r.inputs,
        expectations=r.expectations,
        outputs=r.outputs,
        tags=r.tags,
        source=r.source,
        created_time=r.created_time,
        last_update_time=r.last_update_time,
        created_by=r.created_by,
        last_updated_by=r.last_updated_by,
    )
