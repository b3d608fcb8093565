"""Feedback: ground-truth labels that arrive after the predictions they judge, joined to the
prediction log by request id. Each batch is written as Parquet objects filed per endpoint and
hour of the predictions it labels (as the prediction log is), so scoring a window reads only
that window's files; the same request id labelled twice keeps the later label."""

from __future__ import annotations

import io
import json
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pyarrow.parquet as pq

from mlpipex.errors import Invalid
from mlpipex.monitor import request_index
from mlpipex.monitor.predictions import HOUR_MS, MAX_REQUEST_ID
from mlpipex.service.context import Registry
from mlpipex.service.deploy import endpoints
from mlpipex.store.deploy import predictions as logs
from mlpipex.store.deploy.predictions import FeedbackFile

MAX_ROWS = 10_000
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
    """(request ids, labels as JSON), or Invalid naming the first malformed row. Batches of
    one kind of label are checked and written whole (map and set in C: a loop per row in
    Python was most of an ingest's time); anything else goes row by row."""
    if len(rows) > MAX_ROWS:
        raise Invalid(f"a feedback batch holds at most {MAX_ROWS:,} labels; send more batches")
    try:
        ids = [r["request_id"] for r in rows]
        labels = [r["label"] for r in rows]
    except (KeyError, TypeError, IndexError):
        return _checked_by_row(rows)
    if not ids:
        return [], []
    sizes = list(map(len, ids)) if set(map(type, ids)) == {str} else [0]
    kinds = set(map(type, labels))
    if min(sizes) == 0 or max(sizes) > MAX_REQUEST_ID:
        return _checked_by_row(rows)
    if kinds == {int}:
        return ids, list(map(str, labels))
    if kinds <= {int, float} and all(map(math.isfinite, labels)):
        return ids, list(map(repr, labels))
    if kinds == {str}:
        return ids, list(map(json.dumps, labels))
    return _checked_by_row(rows)


def _checked_by_row(rows: Sequence[Any]) -> tuple[list[str], list[str]]:
    ids, labels = [], []
    for i, row in enumerate(rows):
        rid = row.get("request_id") if isinstance(row, dict) else None
        label = row.get("label") if isinstance(row, dict) else None
        if not isinstance(rid, str) or not 0 < len(rid) <= MAX_REQUEST_ID:
            raise Invalid(
                f"feedback row {i}: request_id must be a string of 1 to {MAX_REQUEST_ID} "
                f'characters (rows are {{"request_id": ..., "label": ...}})'
            )
        text = _json_scalar(label)
        if text is None:
            raise Invalid(f"feedback row {i}: label must be a finite number, a string or a boolean")
        ids.append(rid)
        labels.append(text)
    return ids, labels


def _json_scalar(value: Any) -> str | None:
    """value as JSON when it is a label (a per-type fast path: json.dumps per label was most of
    an ingest's time), else None."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return repr(value) if math.isfinite(value) else None
    if kind is str:
        return json.dumps(value)
    if isinstance(value, numbers.Integral):  # numpy's integers
        return str(int(value))
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return repr(float(value))
    return None


def ingest(reg: Registry, endpoint: str, rows: Sequence[Any]) -> FeedbackResult:
    """Store labels for logged predictions of endpoint. Ids the log does not know are counted
    and reported, not stored; a malformed row refuses the whole batch (nothing is written)."""
    reg.require("editor", endpoints.endpoint(reg, endpoint).model)
    if not isinstance(rows, list):  # checked after access, so the shape of a refusal tells nothing
        raise Invalid('feedback is a JSON list of {"request_id": ..., "label": ...}')
    ids, labels = _checked(rows)
    hits = request_index.lookup(reg, endpoint, ids)
    unknown: list[str] = []
    if None in hits:
        known = [h is not None for h in hits]
        unknown = [i for i, k in zip(ids, known, strict=True) if not k]
        ids, labels = list(compress(ids, known)), list(compress(labels, known))
        hits = list(compress(hits, known))
    versions = [h[0] for h in hits]  # type: ignore[index]
    table = pa.table([ids, versions, labels], schema=SCHEMA)
    hours = np.asarray([h[1] for h in hits], dtype=np.int64) // HOUR_MS * HOUR_MS  # type: ignore[index]
    index: list[FeedbackFile] = []
    for hour in np.unique(hours).tolist():
        part = table.filter(pa.array(hours == hour))
        buf = io.BytesIO()
        pq.write_table(part, buf, compression="zstd")
        digest = reg.objects.put_bytes(buf.getvalue())
        held = tuple(pc.unique(part.column("version")).to_pylist())
        index.append(FeedbackFile(endpoint, hour, digest, part.num_rows, held))
    if index:
        with reg.store.write() as conn:
            logs.index_feedback(conn, reg.workspace, index)
    return FeedbackResult(
        received=len(ids) + len(unknown),
        stored=len(ids),
        unknown=len(unknown),
        unknown_ids=tuple(unknown[:_UNKNOWN_SHOWN]),
    )


def read(reg: Registry, endpoint: str, since_ms: int = 0, version: int | None = None) -> pa.Table:
    """The labels of predictions of endpoint made since since_ms (to the hour), in the order
    they were stored (an id labelled again appears again; the last one holds)."""
    endpoints.endpoint(reg, endpoint)  # who may read its model; NotFound for no such endpoint
    with reg.store.read() as conn:
        hour = since_ms // HOUR_MS * HOUR_MS
        files = logs.feedback_since(conn, reg.workspace, endpoint, hour)
    tables = [
        pq.read_table(io.BytesIO(reg.objects.read_bytes(digest)))
        for digest, versions in files
        if version is None or version in versions
    ]
    if not tables:
        return SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    if version is not None:
        table = table.filter(pc.equal(table.column("version"), version))
    return table
