"""The prediction log: sampled requests (request id, inputs, outputs, version, latency, time)
that agents send in batches, written as Parquet objects in the object store, indexed per
endpoint and hour; each request id is indexed too, for feedback to find. Writing happens off the
request path: agents buffer and post batches."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mlpipex.domain.outcome import outcome
from mlpipex.errors import Invalid
from mlpipex.service.context import Registry
from mlpipex.service.deploy import endpoints
from mlpipex.store.deploy import predictions as logs
from mlpipex.store.deploy.predictions import LogFile, NamedPrediction

HOUR_MS = 3_600_000
MAX_ROWS = 50_000
SCHEMA = pa.schema(
    [
        ("time", pa.int64()),
        ("version", pa.int32()),
        ("latency_ms", pa.float64()),
        ("status", pa.int16()),
        ("input", pa.string()),
        ("output", pa.string()),
        ("request_id", pa.string()),
        ("predicted", pa.string()),  # the label or value predicted, JSON
        ("score", pa.float64()),  # probability of the positive class, when the model gives it
    ]
)
MAX_REQUEST_ID = 160


def ingest(reg: Registry, endpoint: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store a batch of logged predictions; one Parquet object per (endpoint, hour) in it."""
    reg.require("editor")
    if len(rows) > MAX_ROWS:
        raise Invalid(f"a prediction batch holds at most {MAX_ROWS} rows")
    by_hour: dict[int, list[Mapping[str, Any]]] = {}
    for r in rows:
        try:
            by_hour.setdefault(int(r["time"]) // HOUR_MS * HOUR_MS, []).append(r)
        except (KeyError, TypeError, ValueError):
            raise Invalid("every logged prediction has a time (ms)") from None
    files: list[LogFile] = []
    named: list[NamedPrediction] = []
    for hour, part in sorted(by_hour.items()):
        try:
            outcomes = [outcome(r.get("output")) for r in part]
            ids = [_request_id(r.get("request_id")) for r in part]
            table = pa.table(
                {
                    "time": [int(r["time"]) for r in part],
                    "version": [int(r["version"]) for r in part],
                    "latency_ms": [float(r.get("latency_ms", 0.0)) for r in part],
                    "status": [int(r.get("status", 200)) for r in part],
                    "input": [json.dumps(r.get("input"), default=str) for r in part],
                    "output": [json.dumps(r.get("output"), default=str) for r in part],
                    "request_id": ids,
                    "predicted": [json.dumps(o.predicted, default=str) for o in outcomes],
                    "score": [o.score for o in outcomes],
                },
                schema=SCHEMA,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Invalid(f"a logged prediction is malformed: {exc}") from None
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        digest = reg.objects.put_bytes(buf.getvalue())
        times = table.column("time").to_pylist()
        named.extend(
            NamedPrediction(endpoint, i, v, tm)
            for i, v, tm in zip(ids, table.column("version").to_pylist(), times, strict=True)
            if i is not None
        )
        versions = tuple(sorted({int(r["version"]) for r in part}))
        files.append(LogFile(endpoint, hour, digest, len(part), versions, min(times), max(times)))
    with reg.store.write() as conn:
        logs.index(conn, reg.workspace, files, named)
    return len(rows)


def _request_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_REQUEST_ID:
        raise ValueError(f"a request id is a string of at most {MAX_REQUEST_ID} characters")
    return value


def read(
    reg: Registry,
    endpoint: str,
    since_ms: int = 0,
    version: int | None = None,
    limit: int | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """Logged predictions of endpoint since since_ms (newest last), verified from the objects;
    only ``columns`` (with time and version) when given: quality needs no inputs, the largest
    column by far."""
    schema = (
        SCHEMA
        if columns is None
        else pa.schema([f for f in SCHEMA if f.name in {"time", "version", *columns}])
    )
    endpoints.endpoint(reg, endpoint)  # who may read its model; NotFound for no such endpoint
    with reg.store.read() as conn:
        files = logs.files_since(conn, reg.workspace, endpoint, since_ms)
    tables = [
        _current(_columns(reg.objects.read_bytes(digest), schema), schema)
        for digest, versions in files
        if version is None or version in versions
    ]
    if not tables:
        return schema.empty_table()
    table = pa.concat_tables(tables)
    mask = pc.greater(table.column("time"), since_ms)
    if version is not None:
        mask = pc.and_(mask, pc.equal(table.column("version"), version))
    table = table.filter(mask)
    table = table.take(pc.sort_indices(table, sort_keys=[("time", "ascending")]))
    return table.slice(max(0, table.num_rows - limit)) if limit else table


def _columns(data: bytes, schema: pa.Schema) -> pa.Table:
    """The columns of schema that the Parquet file holds."""
    file = pq.ParquetFile(io.BytesIO(data))
    return file.read(columns=[n for n in schema.names if n in file.schema_arrow.names])


def _current(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A file written before request ids and scores were logged, with those columns null."""
    for f in schema:
        if f.name not in table.column_names:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(schema.names)


def records(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as JSON-ready records: input, output and predicted decoded."""
    rows: list[dict[str, Any]] = table.to_pylist()
    for r in rows:
        for key in ("input", "output", "predicted"):
            if r.get(key) is not None:
                r[key] = json.loads(r[key])
    return rows


def inputs_frame(table: pa.Table) -> list[Any]:
    """The logged inputs, one entry per row (a record mapping or a list of values)."""
    return [json.loads(s) for s in table.column("input").to_pylist()]
