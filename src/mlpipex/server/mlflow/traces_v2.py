"""MLflow 2's trace routes, which MLflow 3 servers still answer: StartTrace and EndTrace (the
trace's info in MLflow 2's shape: times in ms, metadata and tags as key-value lists), and the
trace data artifact (``traces.json``), served from the spans kept in the database."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Response

from mlpipex.domain.traces import MAX_MS, TraceInfo, TraceState
from mlpipex.errors import Invalid
from mlpipex.server.deps import global_role
from mlpipex.server.mlflow import otlp
from mlpipex.server.mlflow.artifacts import disposition
from mlpipex.server.mlflow.wire import Args, KeyValue, Payload, Reg, Root, ok, pairs, parse
from mlpipex.service.tracking import traces

router = APIRouter(prefix="/mlflow", tags=["mlflow traces"], dependencies=[global_role()])
Stamp = Annotated[int, Ge(0), Le(MAX_MS)]
# MLflow 2's TraceStatus names beside MLflow 3's TraceState
_STATES = {"TRACE_STATUS_UNSPECIFIED": TraceState.STATE_UNSPECIFIED}
_STATUSES = {TraceState.STATE_UNSPECIFIED: "TRACE_STATUS_UNSPECIFIED"}


def _state(status: str) -> TraceState:
    try:
        return _STATES.get(status) or TraceState(status)
    except ValueError:
        raise Invalid(f"status {status[:40]!r} is not one of OK, ERROR, IN_PROGRESS") from None


def info_v2_json(i: TraceInfo) -> dict[str, Any]:
    return {
        "request_id": i.trace_id,
        "experiment_id": i.experiment_id,
        "timestamp_ms": i.request_time,
        "execution_time_ms": i.execution_duration or 0,
        "status": _STATUSES.get(i.state, i.state.value),
        "request_metadata": pairs(dict(i.metadata)),
        "tags": pairs(dict(i.tags)),
    }


class StartV2(Args):
    experiment_id: str
    timestamp_ms: Stamp
    request_metadata: list[KeyValue] = []
    tags: list[KeyValue] = []


def start(reg: Reg, root: Root, args: dict[str, Any]) -> Response:
    """MLflow 2's StartTrace (POST /mlflow/traces without a ``trace``): a new trace, in
    progress, under a new id."""
    a = parse(StartV2, args)
    info = TraceInfo(
        trace_id=f"tr-{uuid.uuid4().hex}",
        experiment_id=a.experiment_id,
        request_time=a.timestamp_ms,
        execution_duration=None,
        state=TraceState.IN_PROGRESS,
        metadata={kv.key: kv.value for kv in a.request_metadata},
        tags={kv.key: kv.value for kv in a.tags},
    )
    where = f"{root}/{info.experiment_id}/traces/{info.trace_id}/artifacts"
    return ok({"trace_info": info_v2_json(traces.start_trace(reg, info, where))})


class EndV2(Args):
    timestamp_ms: Stamp
    status: str = "OK"
    request_metadata: list[KeyValue] = []
    tags: list[KeyValue] = []


@router.patch("/traces/{trace_id}")
def end(reg: Reg, trace_id: str, args: Payload) -> Response:
    """MLflow 2's EndTrace: the end time and state, metadata and tags merged into the trace's."""
    a = parse(EndV2, args)
    info = traces.end_trace(
        reg,
        trace_id,
        a.timestamp_ms,
        _state(a.status),
        {kv.key: kv.value for kv in a.request_metadata},
        {kv.key: kv.value for kv in a.tags},
    )
    return ok({"trace_info": info_v2_json(info)})


class TraceRef(Args):
    request_id: str


@router.get("/get-trace-artifact")
def get_trace_artifact(reg: Reg, args: Payload) -> Response:
    """The trace's spans as MLflow's trace data file, as MLflow's UI downloads it."""
    found = traces.get_trace(reg, parse(TraceRef, args).request_id)
    body = {"spans": [otlp.mlflow_span(s.content) for s in found.spans]}
    return Response(
        json.dumps(body, separators=(",", ":")),
        headers={
            "Content-Type": "application/json",
            "Content-Disposition": disposition("traces.json"),
            "X-Content-Type-Options": "nosniff",
        },
    )
