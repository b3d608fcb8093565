"""Queries over MLflow 3 traces: info rows (upserted: spans may arrive before their trace's
info), tags, metadata, spans and assessments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlpipex.domain.traces import Assessment, Span, TraceInfo, TraceState
from mlpipex.store import schema_traces as tt
from mlpipex.store.engine import upsert_into

T = tt.traces.c


def put_trace(conn: Connection, info: TraceInfo, experiment_id: int) -> None:
    """Insert the trace's info, or replace the info of a trace its spans started (the two can
    arrive at once: the client sends them from parallel workers)."""
    values = {
        "experiment_id": experiment_id,
        "request_time": info.request_time,
        "execution_duration": info.execution_duration,
        "state": info.state.value,
        "request_preview": info.request_preview,
        "response_preview": info.response_preview,
        "client_request_id": info.client_request_id,
        "run_id": info.run_id,
        "model_id": info.model_id,
    }
    ins = upsert_into(conn, tt.traces).values(id=info.trace_id, **values)
    conn.execute(ins.on_conflict_do_update(index_elements=[T.id], set_=values))
    put_pairs(conn, tt.trace_metadata, info.trace_id, info.metadata)
    put_pairs(conn, tt.trace_tags, info.trace_id, info.tags)


def ensure_trace(conn: Connection, trace_id: str, experiment_id: int, start_ms: int) -> None:
    """A placeholder for a trace whose spans arrive first (its info follows)."""
    ins = upsert_into(conn, tt.traces).values(
        id=trace_id,
        experiment_id=experiment_id,
        request_time=start_ms,
        state=TraceState.IN_PROGRESS.value,
    )
    conn.execute(ins.on_conflict_do_nothing(index_elements=[T.id]))


def put_pairs(conn: Connection, table: sa.Table, trace_id: str, items: Mapping[str, str]) -> None:
    if not items:
        return
    ins = upsert_into(conn, table)
    c = table.c
    upsert = ins.on_conflict_do_update(
        index_elements=[c.trace_id, c.key], set_={"value": ins.excluded.value}
    )
    conn.execute(upsert, [{"trace_id": trace_id, "key": k, "value": v} for k, v in items.items()])


def delete_tag(conn: Connection, trace_id: str, key: str) -> bool:
    c = tt.trace_tags.c
    res = conn.execute(sa.delete(tt.trace_tags).where(c.trace_id == trace_id, c.key == key))
    return bool(res.rowcount)


def link_run(conn: Connection, trace_ids: Sequence[str], run_id: str) -> None:
    if not trace_ids:
        return
    ins = upsert_into(conn, tt.trace_runs).on_conflict_do_nothing(
        index_elements=[tt.trace_runs.c.trace_id, tt.trace_runs.c.run_id]
    )
    conn.execute(ins, [{"trace_id": t, "run_id": run_id} for t in dict.fromkeys(trace_ids)])


def put_spans(conn: Connection, spans: Sequence[Span]) -> None:
    """Spans by (trace, span id): a span sent again (retried) replaces the one stored."""
    ins = upsert_into(conn, tt.spans)
    c = tt.spans.c
    fields = ("parent_id", "name", "start_ns", "end_ns", "status", "content", "text")
    upsert = ins.on_conflict_do_update(
        index_elements=[c.trace_id, c.span_id], set_={f: ins.excluded[f] for f in fields}
    )
    conn.execute(
        upsert,
        [
            {
                "trace_id": s.trace_id,
                "span_id": s.span_id,
                "parent_id": s.parent_id,
                "name": s.name,
                "start_ns": s.start_ns,
                "end_ns": s.end_ns,
                "status": s.status,
                "content": s.content,
                "text": s.text,
            }
            for s in spans
        ],
    )


def spans_of(conn: Connection, trace_ids: Sequence[str]) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = defaultdict(list)
    c = tt.spans.c
    q = sa.select(tt.spans).where(c.trace_id.in_(trace_ids)).order_by(c.start_ns, c.span_id)
    for r in conn.execute(q):
        out[r.trace_id].append(
            Span(
                r.trace_id,
                r.span_id,
                r.parent_id,
                r.name,
                r.start_ns,
                r.end_ns,
                r.status,
                r.content,
                r.text,
            )
        )
    return out


def search(
    conn: Connection,
    conds: Sequence[sa.ColumnElement[bool]],
    order: Sequence[Any],
    limit: int,
    offset: int,
) -> list[TraceInfo]:
    """The traces meeting conds, one page, with their tags, metadata and assessments."""
    q = sa.select(tt.traces).where(*conds).order_by(*order, T.id).limit(limit).offset(offset)
    return _infos(conn, list(conn.execute(q)))


def _infos(conn: Connection, rows: Sequence[sa.Row[Any]]) -> list[TraceInfo]:
    ids = [r.id for r in rows]
    tags, meta = _pairs(conn, tt.trace_tags, ids), _pairs(conn, tt.trace_metadata, ids)
    found = assessments_of(conn, ids)
    return [
        TraceInfo(
            trace_id=r.id,
            experiment_id=str(r.experiment_id),
            request_time=r.request_time,
            execution_duration=r.execution_duration,
            state=TraceState(r.state),
            request_preview=r.request_preview,
            response_preview=r.response_preview,
            client_request_id=r.client_request_id,
            metadata=meta.get(r.id, {}),
            tags=tags.get(r.id, {}),
            assessments=tuple(found.get(r.id, [])),
        )
        for r in rows
    ]


def _pairs(conn: Connection, table: sa.Table, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    c = table.c
    for tid, k, v in conn.execute(sa.select(c.trace_id, c.key, c.value).where(c.trace_id.in_(ids))):
        out[tid][k] = v
    return out


def delete_traces(conn: Connection, conds: Sequence[sa.ColumnElement[bool]], limit: int) -> int:
    ids = list(
        conn.execute(sa.select(T.id).where(*conds).order_by(T.request_time).limit(limit)).scalars()
    )
    if not ids:
        return 0
    # children first: SQLite enforces foreign keys only when told to
    for table in (tt.spans, tt.trace_tags, tt.trace_metadata, tt.assessments, tt.trace_runs):
        conn.execute(sa.delete(table).where(table.c.trace_id.in_(ids)))
    conn.execute(sa.delete(tt.traces).where(T.id.in_(ids)))
    return len(ids)


def put_assessment(conn: Connection, a: Assessment, now: int) -> None:
    c = tt.assessments.c
    if conn.execute(sa.select(c.id).where(c.id == a.assessment_id)).first() is None:
        conn.execute(
            sa.insert(tt.assessments).values(
                id=a.assessment_id, trace_id=a.trace_id, content=a.content, created_at=now
            )
        )
    else:
        conn.execute(
            sa.update(tt.assessments).where(c.id == a.assessment_id).values(content=a.content)
        )


def assessment(conn: Connection, trace_id: str, assessment_id: str) -> Assessment | None:
    c = tt.assessments.c
    r = conn.execute(
        sa.select(tt.assessments).where(c.id == assessment_id, c.trace_id == trace_id)
    ).first()
    return Assessment(r.id, r.trace_id, r.content) if r else None


def delete_assessment(conn: Connection, trace_id: str, assessment_id: str) -> bool:
    c = tt.assessments.c
    res = conn.execute(
        sa.delete(tt.assessments).where(c.id == assessment_id, c.trace_id == trace_id)
    )
    return bool(res.rowcount)


def assessments_of(conn: Connection, ids: Sequence[str]) -> dict[str, list[Assessment]]:
    out: dict[str, list[Assessment]] = defaultdict(list)
    c = tt.assessments.c
    q = sa.select(tt.assessments).where(c.trace_id.in_(ids)).order_by(c.created_at, c.id)
    for r in conn.execute(q):
        out[r.trace_id].append(Assessment(r.id, r.trace_id, r.content))
    return out
