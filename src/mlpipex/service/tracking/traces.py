"""MLflow 3 traces over the database: spans ingested as they end (OTLP), the trace's info when
its root ends, search by MLflow's trace filter, tags, links to runs, deletes, assessments."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from mlpipex.domain.models import Page
from mlpipex.domain.traces import (
    ARTIFACT_LOCATION,
    SPANS_LOCATION,
    TRACKING_STORE,
    Assessment,
    Span,
    Trace,
    TraceInfo,
    TraceState,
)
from mlpipex.errors import Invalid, NotFound
from mlpipex.service.context import Registry
from mlpipex.service.mlflow.compat import (
    ensure_default,
    experiment_id,
    experiment_key,
    order_terms,
    paged,
)
from mlpipex.service.registry import search
from mlpipex.service.tracking import checks
from mlpipex.service.tracking import runs as tracking
from mlpipex.store import schema_traces as tt
from mlpipex.store.tracking import runs as runs_store
from mlpipex.store.tracking import traces as store
from mlpipex.store.tracking.search import numeric_cmp, string_cmp

MAX_RESULTS = 1000
MAX_IDS = 1000
MAX_PAIRS = 1000  # tags or metadata one request may set on a trace
T = tt.traces.c

GRAMMAR = search.Grammar(
    entities={
        "tag": "tags",
        "tags": "tags",
        "metadata": "metadata",
        "request_metadata": "metadata",
        "trace": "attributes",
        "attribute": "attributes",
        "attributes": "attributes",
    },
    numeric_entities=frozenset(),
    numeric_keys=frozenset(
        ("attributes", k) for k in ("timestamp_ms", "timestamp", "execution_time_ms")
    ),
)
_STRINGS: dict[str, sa.ColumnElement[Any]] = {
    "status": T.state,
    "state": T.state,
    "trace_id": T.id,
    "request_id": T.id,
    "client_request_id": T.client_request_id,
}
_NUMBERS: dict[str, sa.ColumnElement[Any]] = {
    "timestamp_ms": T.request_time,
    "timestamp": T.request_time,
    "execution_time_ms": T.execution_duration,
}
TRACE_NAME = "mlflow.traceName"


def log_spans(reg: Registry, eid: str, spans: Sequence[Span]) -> None:
    """Store spans as they end; a trace whose info has not arrived yet is started for them."""
    reg.require("editor")
    if not spans:
        return
    ensure_default(reg, eid)
    with reg.store.write() as conn:
        key = experiment_key(conn, reg.workspace, eid)
        starts = _earliest_starts(spans)
        _refuse_foreign(conn, reg.workspace, list(starts))
        for trace_id, first_ns in starts.items():
            store.ensure_trace(conn, trace_id, key, first_ns // 1_000_000)
        store.put_spans(conn, spans)


def _earliest_starts(spans: Sequence[Span]) -> dict[str, int]:
    """Each trace's earliest span start (ns), in one pass: a batch may hold thousands of traces."""
    first: dict[str, int] = {}
    for s in spans:
        known = first.get(s.trace_id)
        if known is None or s.start_ns < known:
            first[s.trace_id] = s.start_ns
    return first


def start_trace(reg: Registry, info: TraceInfo, artifact_location: str) -> TraceInfo:
    """Record a trace's info (MLflow's StartTraceV3, sent when the trace ends). Its spans are
    kept here, which the tag says, so the client does not upload them as an artifact."""
    reg.require("editor")
    _check_pairs(info.metadata, "metadata")
    _check_pairs(info.tags, "tags")
    ensure_default(reg, info.experiment_id)
    tags = {**info.tags, SPANS_LOCATION: TRACKING_STORE, ARTIFACT_LOCATION: artifact_location}
    info = replace(info, tags=tags)
    with reg.store.write() as conn:
        key = experiment_key(conn, reg.workspace, info.experiment_id)
        _refuse_foreign(conn, reg.workspace, [info.trace_id])
        store.put_trace(conn, info, key)
    return get_info(reg, info.trace_id)


def end_trace(
    reg: Registry,
    trace_id: str,
    end_ms: int,
    state: TraceState,
    metadata: Mapping[str, str],
    tags: Mapping[str, str],
) -> TraceInfo:
    """MLflow 2's EndTrace: the state and duration set, metadata and tags merged in."""
    reg.require("editor")
    _check_pairs(metadata, "metadata")
    _check_pairs(tags, "tags")
    with reg.store.write() as conn:
        info = _require(conn, reg.workspace, trace_id)
        ended = replace(
            info,
            execution_duration=max(0, end_ms - info.request_time),
            state=state,
            metadata={**info.metadata, **metadata},
            tags={**info.tags, **tags},
        )
        store.put_trace(conn, ended, int(info.experiment_id))
    return get_info(reg, trace_id)


def _check_pairs(items: Mapping[str, str], what: str) -> None:
    if len(items) > MAX_PAIRS:
        raise Invalid(f"at most {MAX_PAIRS} trace {what} at a time, got {len(items)}")
    for key in items:
        if not 0 < len(key) <= checks.MAX_KEY:
            raise Invalid(f"a trace's {what} key is 1 to {checks.MAX_KEY} characters: {key[:80]!r}")


def _require(conn: sa.Connection, ws: str, trace_id: str) -> TraceInfo:
    """The workspace's trace; one of another workspace is missing here."""
    found = store.search(conn, [T.id == trace_id, _in(ws)], [], 1, 0)
    if not found:
        raise NotFound(f"Trace with ID {trace_id} is not found.")
    return found[0]


def _refuse_foreign(conn: sa.Connection, ws: str, trace_ids: Sequence[str]) -> None:
    """Refuse to write to a trace of another workspace (its id is taken there), as to a trace
    that is not found."""
    foreign = store.search(conn, [T.id.in_(list(trace_ids)), ~_in(ws)], [], 1, 0)
    if foreign:
        raise NotFound(f"Trace with ID {foreign[0].trace_id} is not found.")


def _in(ws: str) -> sa.ColumnElement[bool]:
    return runs_store.in_workspace(T.experiment_id, ws)


def get_info(reg: Registry, trace_id: str) -> TraceInfo:
    reg.require("viewer")
    with reg.store.read() as conn:
        return _require(conn, reg.workspace, trace_id)


def get_traces(reg: Registry, trace_ids: Sequence[str]) -> list[Trace]:
    """The traces found among trace_ids (in that order), with their spans."""
    reg.require("viewer")
    if len(trace_ids) > MAX_IDS:
        raise Invalid(f"at most {MAX_IDS} trace ids at a time, got {len(trace_ids)}")
    with reg.store.read() as conn:
        found = store.search(conn, [T.id.in_(list(trace_ids)), _in(reg.workspace)], [], MAX_IDS, 0)
        infos = {i.trace_id: i for i in found}
        spans = store.spans_of(conn, list(infos))
    return [Trace(infos[t], tuple(spans.get(t, []))) for t in trace_ids if t in infos]


def get_trace(reg: Registry, trace_id: str) -> Trace:
    found = get_traces(reg, [trace_id])
    if not found:
        raise NotFound(f"Trace with ID {trace_id} is not found.")
    return found[0]


def search_traces(
    reg: Registry,
    experiment_ids: Sequence[str],
    filter: str | None,
    order_by: Sequence[str],
    max_results: int,
    page_token: str | None,
) -> Page[TraceInfo]:
    reg.require("viewer")
    search.check_max_results(max_results, MAX_RESULTS)
    if not experiment_ids:
        raise Invalid("search_traces needs at least one experiment id")
    ids = [experiment_id(e) for e in experiment_ids]
    conds: list[sa.ColumnElement[bool]] = [
        T.experiment_id.in_(runs_store.experiment_ids_in(reg.workspace, ids))
    ]
    conds += conditions(filter, reg.store.dialect)
    order = order_terms(order_by, {**_NUMBERS, "status": T.state}) or [T.request_time.desc()]
    offset = search.decode_page_token(page_token)
    with reg.store.read() as conn:
        infos = store.search(conn, conds, order, max_results + 1, offset)
    return paged(infos[:max_results], len(infos) > max_results, offset)


def conditions(text: str | None, dialect: str) -> list[sa.ColumnElement[bool]]:
    """tags.KEY, metadata.KEY, and the trace's status, run_id, ids, name, text (LIKE over its
    previews and spans), timestamp_ms and execution_time_ms (bare, or prefixed trace. or
    attributes.)."""
    out: list[sa.ColumnElement[bool]] = []
    for c in search.parse_filter(text, "trace filter", GRAMMAR):
        key = c.key.lower()
        if c.entity == "attributes" and key == "run_id":
            out.append(_run_cmp(c.op, c.value, dialect))
        elif c.entity == "attributes" and key == "text":
            out.append(_text_cmp(c.op, c.value, dialect))
        elif c.entity == "attributes" and key in _NUMBERS:
            out.append(numeric_cmp(_NUMBERS[key], c.op, c.value))
        elif c.entity == "attributes" and key in _STRINGS:
            out.append(string_cmp(_STRINGS[key], c.op, c.value, dialect))
        elif c.entity in ("tags", "metadata") or (c.entity, key) == ("attributes", "name"):
            kv = tt.trace_metadata if c.entity == "metadata" else tt.trace_tags
            name = TRACE_NAME if c.entity == "attributes" else c.key
            cmp = string_cmp(kv.c.value, c.op, c.value, dialect)
            out.append(T.id.in_(sa.select(kv.c.trace_id).where(kv.c.key == name, cmp)))
        else:
            raise Invalid(
                f"invalid trace filter: {c.entity}.{c.key} is not searchable",
                hint="filter by tags.KEY, metadata.KEY, trace.status, trace.run_id, trace.text, "
                "trace.timestamp_ms or trace.execution_time_ms",
            )
    return out


def _text_cmp(op: str, value: Any, dialect: str) -> sa.ColumnElement[bool]:
    """Full text: the request and response previews, and any span (its name, attributes,
    events, as stored)."""
    if op not in ("LIKE", "ILIKE"):
        raise Invalid(f"invalid trace filter: text is compared with LIKE or ILIKE, not {op}")
    spans = tt.spans.c
    in_spans = sa.select(spans.trace_id).where(string_cmp(spans.text, op, value, dialect))
    return sa.or_(
        string_cmp(T.request_preview, op, value, dialect),
        string_cmp(T.response_preview, op, value, dialect),
        T.id.in_(in_spans),
    )


def _run_cmp(op: str, value: Any, dialect: str) -> sa.ColumnElement[bool]:
    """The run a trace was made under, or any run it was linked to since."""
    links = tt.trace_runs.c
    linked = sa.select(links.trace_id).where(string_cmp(links.run_id, op, value, dialect))
    return sa.or_(string_cmp(T.run_id, op, value, dialect), T.id.in_(linked))


def delete_traces(
    reg: Registry,
    eid: str,
    max_timestamp_ms: int | None,
    max_traces: int | None,
    trace_ids: Sequence[str],
) -> int:
    """MLflow's DeleteTraces: by ids, or the oldest (up to max_traces) before a time."""
    reg.require("editor")
    if bool(trace_ids) == (max_timestamp_ms is not None):
        raise Invalid("give either trace ids or max_timestamp_millis, not both")
    if len(trace_ids) > MAX_IDS:
        raise Invalid(f"at most {MAX_IDS} trace ids at a time, got {len(trace_ids)}")
    limit = max_traces if max_traces is not None else MAX_IDS * 1000
    if limit < 1:
        raise Invalid(f"max_traces must be positive, got {limit}")
    ids = runs_store.experiment_ids_in(reg.workspace, [experiment_id(eid)])
    conds: list[sa.ColumnElement[bool]] = [T.experiment_id.in_(ids)]
    if trace_ids:
        conds.append(T.id.in_(list(trace_ids)))
    else:
        conds.append(T.request_time <= max_timestamp_ms)
    with reg.store.write() as conn:
        return store.delete_traces(conn, conds, limit)


def set_tag(reg: Registry, trace_id: str, key: str, value: str) -> None:
    reg.require("editor")
    _check_pairs({key: value}, "tags")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, trace_id)
        store.put_pairs(conn, tt.trace_tags, trace_id, {key: value})


def delete_tag(reg: Registry, trace_id: str, key: str) -> None:
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, trace_id)
        if not store.delete_tag(conn, trace_id, key):
            raise NotFound(f"No trace tag with key '{key}' for trace with ID '{trace_id}'")


def link_to_run(reg: Registry, trace_ids: Sequence[str], run_id: str) -> None:
    reg.require("editor")
    if len(trace_ids) > MAX_IDS:
        raise Invalid(f"at most {MAX_IDS} trace ids at a time, got {len(trace_ids)}")
    with reg.store.write() as conn:
        if runs_store.run_row(conn, reg.workspace, run_id) is None:
            raise tracking.RunMissing(run_id)
        # A trace may be linked before its spans arrive (MLflow exports them in the background),
        # so unknown ids are linked too; another workspace's are left out.
        foreign = store.search(
            conn, [T.id.in_(list(trace_ids)), ~_in(reg.workspace)], [], MAX_IDS, 0
        )
        taken = {i.trace_id for i in foreign}
        store.link_run(conn, [t for t in trace_ids if t not in taken], run_id)


# -- assessments ---------------------------------------------------------------------------


def new_assessment_id() -> str:
    return f"a-{uuid.uuid4().hex}"


def put_assessment(reg: Registry, a: Assessment) -> Assessment:
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, a.trace_id)
        store.put_assessment(conn, a, reg.clock())
    return a


def get_assessment(reg: Registry, trace_id: str, assessment_id: str) -> Assessment:
    reg.require("viewer")
    with reg.store.read() as conn:
        _require(conn, reg.workspace, trace_id)
        found = store.assessment(conn, trace_id, assessment_id)
    if found is None:
        raise NotFound(f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'")
    return found


def delete_assessment(reg: Registry, trace_id: str, assessment_id: str) -> None:
    reg.require("editor")
    with reg.store.write() as conn:
        _require(conn, reg.workspace, trace_id)
        if not store.delete_assessment(conn, trace_id, assessment_id):
            raise NotFound(f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'")
