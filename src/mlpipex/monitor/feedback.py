"""Feedback: ground-truth labels that arrive after the predictions they judge, joined to the
prediction log by request id. Each batch is written as Parquet objects filed per endpoint and
hour of the predictions it labels (as the prediction log is), so scoring a window reads only
that window's files; the same request id labelled twice keeps the later label."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pyarrow.parquet as pq
import sqlalchemy as sa

from mlpipex.errors import Invalid
from mlpipex.monitor.predictions import HOUR_MS, MAX_REQUEST_ID
from mlpipex.service import endpoints
from mlpipex.service.context import Registry
from mlpipex.store import schema_monitor as t

MAX_ROWS = 10_000
# Request ids looked up per query: well under SQLite's bound on parameters.
_LOOKUP_CHUNK = 900
_UNKNOWN_SHOWN = 10
SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("version", pa.int32()),
        ("label", pa.string()),  # JSON
    ]
)


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    received: int
    stored: int
    unknown: int
    unknown_ids: tuple[str, ...]  # the first few, to find the mistake by

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> FeedbackResult:
        return cls(
            int(doc["received"]),
            int(doc["stored"]),
            int(doc["unknown"]),
            tuple(str(i) for i in doc["unknown_ids"]),
        )

    def __add__(self, other: FeedbackResult) -> FeedbackResult:
        shown = (self.unknown_ids + other.unknown_ids)[:_UNKNOWN_SHOWN]
        return FeedbackResult(
            self.received + other.received,
            self.stored + other.stored,
            self.unknown + other.unknown,
            shown,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "unknown": self.unknown,
            "unknown_ids": list(self.unknown_ids),
        }


def read_labels(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV or Parquet file with columns request_id and label."""
    try:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
        elif path.suffix == ".csv":
            table = csv.read_csv(
                path, convert_options=csv.ConvertOptions(column_types={"request_id": pa.string()})
            )
        else:
            raise Invalid(f"{path}: labels come as .csv or .parquet")
    except (pa.ArrowInvalid, OSError) as exc:
        raise Invalid(f"{path}: cannot read labels: {exc}") from None
    missing = [c for c in ("request_id", "label") if c not in table.column_names]
    if missing:
        raise Invalid(f"{path}: no column {', '.join(missing)} (columns: request_id, label)")
    rows: list[dict[str, Any]] = table.select(["request_id", "label"]).to_pylist()
    return rows


def in_batches(
    labels: Sequence[Any], send: Callable[[Sequence[Any]], FeedbackResult]
) -> FeedbackResult:
    """Send labels MAX_ROWS at a time; the results added up."""
    total = FeedbackResult(0, 0, 0, ())
    for start in range(0, len(labels), MAX_ROWS):
        total = total + send(labels[start : start + MAX_ROWS])
    return total


def _checked(rows: Sequence[Any]) -> tuple[list[str], list[str]]:
    """(request ids, labels as JSON), or Invalid naming the first malformed row."""
    if len(rows) > MAX_ROWS:
        raise Invalid(f"a feedback batch holds at most {MAX_ROWS:,} labels; send more batches")
    ids, labels = [], []
    for i, row in enumerate(rows):
        rid = row.get("request_id") if isinstance(row, dict) else None
        label = row.get("label") if isinstance(row, dict) else None
        if not isinstance(rid, str) or not 0 < len(rid) <= MAX_REQUEST_ID:
            raise Invalid(
                f"feedback row {i}: request_id must be a string of 1 to {MAX_REQUEST_ID} "
                f'characters (rows are {{"request_id": ..., "label": ...}})'
            )
        if not isinstance(label, str | int | float | bool) or label != label:
            raise Invalid(f"feedback row {i}: label must be a number, a string or a boolean")
        ids.append(rid)
        labels.append(json.dumps(label))
    return ids, labels


def ingest(reg: Registry, endpoint: str, rows: Sequence[Any]) -> FeedbackResult:
    """Store labels for logged predictions of endpoint. Ids the log does not know are counted
    and reported, not stored; a malformed row refuses the whole batch (nothing is written)."""
    reg.require("editor", endpoints.endpoint(reg, endpoint).model)
    ids, labels = _checked(rows)
    found: dict[str, tuple[int, int]] = {}  # request id -> (version, time) of its prediction
    wanted = sorted(set(ids))
    ids_t = t.prediction_ids
    with reg.store.read() as conn:
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start : start + _LOOKUP_CHUNK]
            for r in conn.execute(
                sa.select(ids_t.c.request_id, ids_t.c.version, ids_t.c.time)
                .where(ids_t.c.endpoint == endpoint, ids_t.c.request_id.in_(chunk))
                .order_by(ids_t.c.id)
            ):
                found[r.request_id] = (r.version, r.time)
    by_hour: dict[int, tuple[list[str], list[int], list[str]]] = {}
    unknown: list[str] = []
    for rid, label in zip(ids, labels, strict=True):
        hit = found.get(rid)
        if hit is None:
            unknown.append(rid)
            continue
        part = by_hour.setdefault(hit[1] // HOUR_MS * HOUR_MS, ([], [], []))
        part[0].append(rid)
        part[1].append(hit[0])
        part[2].append(label)
    index = []
    for hour, (rids, vers, labs) in sorted(by_hour.items()):
        table = pa.table([rids, vers, labs], schema=SCHEMA)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        index.append(
            {
                "endpoint": endpoint,
                "hour": hour,
                "digest": reg.objects.put_bytes(buf.getvalue()),
                "rows": len(rids),
                "versions": sorted(set(vers)),
            }
        )
    if index:
        with reg.store.write() as conn:
            conn.execute(sa.insert(t.feedback_logs), index)
    return FeedbackResult(
        received=len(ids),
        stored=len(ids) - len(unknown),
        unknown=len(unknown),
        unknown_ids=tuple(unknown[:_UNKNOWN_SHOWN]),
    )


def read(reg: Registry, endpoint: str, since_ms: int = 0, version: int | None = None) -> pa.Table:
    """The labels of predictions of endpoint made since since_ms (to the hour), one per request
    id: the latest given."""
    reg.require("viewer")
    with reg.store.read() as conn:
        files = conn.execute(
            sa.select(t.feedback_logs.c.digest, t.feedback_logs.c.versions)
            .where(
                t.feedback_logs.c.endpoint == endpoint,
                t.feedback_logs.c.hour >= since_ms // HOUR_MS * HOUR_MS,
            )
            .order_by(t.feedback_logs.c.id)
        ).all()
    tables = [
        pq.read_table(io.BytesIO(reg.objects.read_bytes(f.digest)))
        for f in files
        if version is None or version in f.versions
    ]
    if not tables:
        return SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    if version is not None:
        table = table.filter(pc.equal(table.column("version"), version))
    return latest(table)


def latest(table: pa.Table) -> pa.Table:
    """One row per request id, the last given (rows come in the order they were stored, and
    Arrow's sort is stable, so each id's last row after sorting is its latest)."""
    if table.num_rows == 0:
        return table
    ordered = table.take(pc.sort_indices(table, sort_keys=[("request_id", "ascending")]))
    rid = ordered.column("request_id").combine_chunks()
    n = ordered.num_rows
    # A row is its id's last when the next row has another id (or it is the last row).
    nxt = pc.not_equal(rid.slice(0, n - 1), rid.slice(1))
    keep = pa.concat_arrays([nxt, pa.array([True])])
    return ordered.filter(keep)
