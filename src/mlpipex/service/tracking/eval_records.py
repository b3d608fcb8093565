"""The records of MLflow evaluation datasets: upserted by their inputs (the same inputs again
update the record: expectations and tags merged, outputs and source replaced), read a page at
a time, deleted by id."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from mlpipex.domain.evaluation import DatasetRecord, NewRecord, Upserted
from mlpipex.domain.models import Page
from mlpipex.errors import Invalid
from mlpipex.service.context import Registry
from mlpipex.service.mlflow.compat import paged
from mlpipex.service.registry import search
from mlpipex.service.tracking.eval_datasets import require
from mlpipex.store.tracking import eval_datasets as store

MAX_RECORDS = 10_000  # records one upsert, read or delete handles
_OBJECTS = ("inputs", "expectations", "tags", "source")


def parse_records(text: str) -> list[NewRecord]:
    """MLflow's records: the JSON text of a list of objects, each with its ``inputs`` (an
    object) and optionally ``expectations``, ``tags``, ``source`` (objects) and ``outputs``."""
    try:
        items = json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid("records must be the JSON text of a list of records") from None
    if not isinstance(items, list):
        raise Invalid("records must be the JSON text of a list of records")
    if len(items) > MAX_RECORDS:
        raise Invalid(f"at most {MAX_RECORDS} records at a time, got {len(items)}")
    return [_record(i, item) for i, item in enumerate(items)]


def _record(i: int, item: Any) -> NewRecord:
    if not isinstance(item, dict):
        raise Invalid(f"record {i} is not an object")
    for key in _OBJECTS:
        if item.get(key) is not None and not isinstance(item[key], dict):
            raise Invalid(f"record {i}: {key} must be an object")
    if not item.get("inputs"):
        raise Invalid(f"record {i} has no inputs")

    def text(key: str) -> str | None:
        return None if item.get(key) is None else json.dumps(item[key], sort_keys=True)

    return NewRecord(
        inputs=json.dumps(item["inputs"], sort_keys=True),
        expectations=text("expectations"),
        outputs=text("outputs"),
        tags=text("tags"),
        source=text("source"),
    )


def _hash(inputs: str) -> str:
    return hashlib.sha256(inputs.encode()).hexdigest()


def _merged(old: str | None, new: str | None) -> str | None:
    if new is None:
        return old
    if old is None:
        return new
    return json.dumps({**json.loads(old), **json.loads(new)}, sort_keys=True)


def upsert(
    reg: Registry, dataset_id: str, records: Sequence[NewRecord], updated_by: str | None
) -> Upserted:
    reg.require("editor")
    if len(records) > MAX_RECORDS:
        raise Invalid(f"at most {MAX_RECORDS} records at a time, got {len(records)}")
    now, by = reg.clock(), updated_by or reg.actor.name
    inserted = updated = 0
    with reg.store.write() as conn:
        dataset = require(conn, reg.workspace, dataset_id)
        known = store.records_by_hash(conn, dataset_id, [_hash(r.inputs) for r in records])
        digest = hashlib.sha256(dataset.digest.encode())
        changed: dict[str, DatasetRecord] = {}  # each record's last state, written at once
        for r in records:
            key = _hash(r.inputs)
            digest.update(f"{key}\n{r.expectations}\n".encode())
            old = known.get(key)
            if old is None:
                known[key] = changed[key] = DatasetRecord(
                    record_id=f"dr-{uuid.uuid4().hex}",
                    dataset_id=dataset_id,
                    inputs=r.inputs,
                    expectations=r.expectations,
                    outputs=r.outputs,
                    tags=r.tags,
                    source=r.source,
                    created_time=now,
                    last_update_time=now,
                    created_by=by,
                    last_updated_by=by,
                )
                inserted += 1
                continue
            known[key] = changed[key] = replace(
                old,
                expectations=_merged(old.expectations, r.expectations),
                tags=_merged(old.tags, r.tags),
                outputs=r.outputs if r.outputs is not None else old.outputs,
                source=r.source if r.source is not None else old.source,
                last_update_time=now,
                last_updated_by=by,
            )
            updated += 1
        store.put_records(conn, changed)
        # the digest follows every change: the last digest and what was upserted
        store.touch(conn, dataset_id, now, by, digest.hexdigest()[:16])
    return Upserted(inserted, updated)


def get_records(
    reg: Registry, dataset_id: str, max_results: int, page_token: str | None
) -> Page[DatasetRecord]:
    reg.require("viewer")
    search.check_max_results(max_results, MAX_RECORDS)
    offset = search.decode_page_token(page_token)
    with reg.store.read() as conn:
        require(conn, reg.workspace, dataset_id)
        found = store.records(conn, dataset_id, max_results + 1, offset)
    return paged(found[:max_results], len(found) > max_results, offset)


def delete_records(reg: Registry, dataset_id: str, record_ids: Sequence[str]) -> int:
    reg.require("editor")
    if len(record_ids) > MAX_RECORDS:
        raise Invalid(f"at most {MAX_RECORDS} record ids at a time, got {len(record_ids)}")
    with reg.store.write() as conn:
        require(conn, reg.workspace, dataset_id)
        deleted = store.delete_records(conn, dataset_id, record_ids)
        if deleted:
            store.touch(conn, dataset_id, reg.clock(), reg.actor.name, None)
        return deleted
