"""MLflow 3 tracing: OTLP span ingest (/v1/traces) and MLflow's trace routes (start, get,
batch get, search, delete, tags, link to run, assessments), in MLflow's proto JSON (times as
RFC 3339, durations as "1.5s")."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mlpipex.domain.traces import MAX_MS, Assessment, Trace, TraceInfo, TraceState
from mlpipex.errors import Invalid, NotFound
from mlpipex.server.deps import global_role
from mlpipex.server.mlflow import otlp, traces_v2
from mlpipex.server.mlflow.wire import Args, Payload, Reg, Root, StrList, ok, parse
from mlpipex.service.context import now_ms
from mlpipex.service.tracking import traces

ingest = APIRouter(tags=["mlflow traces"], dependencies=[global_role()])
router = APIRouter(
    prefix="/mlflow/traces",
    tags=["mlflow traces"],
    dependencies=[global_role("/search", "/batchGetInfos")],
)
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_DURATION = re.compile(r"^(\d{1,12})(?:\.(\d{1,9}))?s$")  # >= 0, at most ~31,000 years


@ingest.post("/v1/traces")
async def otlp_traces(request: Request, reg: Reg) -> Response:
    """OTLP/HTTP span export; the experiment is named in MLflow's header."""
    body, ctype = await request.body(), request.headers.get("content-type", "")
    eid = request.headers.get(EXPERIMENT_HEADER, "0")

    def store() -> None:  # decoding and the database are blocking: off the event loop
        traces.log_spans(reg, eid, otlp.decode(body, ctype))

    await run_in_threadpool(store)
    if "json" in request.headers.get("content-type", ""):
        return ok()
    return Response(b"", media_type="application/x-protobuf")


# -- wire ----------------------------------------------------------------------------------


def _ms(text: str) -> int:
    m = _TIME.match(text)
    if m is None:
        raise Invalid(f"time {text[:40]!r} is not RFC 3339 (2025-01-31T12:00:00.000Z)")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        base = datetime.fromisoformat(m.group(1) + zone)
    except ValueError as e:  # month 13, offset +99:00...
        raise Invalid(f"time {text[:40]!r} is not a valid date and time: {e}") from None
    ms = int(base.timestamp()) * 1000 + int((m.group(2) or "0").ljust(9, "0")[:3])
    if not 0 <= ms <= MAX_MS:
        raise Invalid(f"time {text[:40]!r} is outside the years 1970 to 9999 (UTC)")
    return ms


def _duration_ms(text: str) -> int:
    m = _DURATION.match(text)
    if m is None:
        raise Invalid(f"duration {text[:40]!r} is not like '1.5s' (not negative)")
    return int(m.group(1)) * 1000 + int((m.group(2) or "0").ljust(9, "0")[:3])


def _time(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


class ExperimentLocation(Args):
    experiment_id: str = "0"


class Location(Args):
    type: str = "MLFLOW_EXPERIMENT"
    mlflow_experiment: ExperimentLocation | None = None


class InfoIn(Args):
    trace_id: str
    client_request_id: str | None = None
    trace_location: Location = Location()
    request_preview: str | None = None
    response_preview: str | None = None
    request_time: str
    execution_duration: str | None = None
    state: TraceState = TraceState.STATE_UNSPECIFIED
    trace_metadata: dict[str, str] = {}
    tags: dict[str, str] = {}


def _info_in(a: InfoIn) -> TraceInfo:
    if not a.trace_id or len(a.trace_id) > 64:
        raise Invalid("trace_id must be 1 to 64 characters")
    loc = a.trace_location.mlflow_experiment
    return TraceInfo(
        trace_id=a.trace_id,
        experiment_id=loc.experiment_id if loc else "0",
        request_time=_ms(a.request_time),
        execution_duration=_duration_ms(a.execution_duration) if a.execution_duration else None,
        state=a.state,
        request_preview=a.request_preview,
        response_preview=a.response_preview,
        client_request_id=a.client_request_id,
        metadata=a.trace_metadata,
        tags=a.tags,
    )


def info_json(i: TraceInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trace_id": i.trace_id,
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": i.experiment_id},
        },
        "request_time": _time(i.request_time),
        "state": i.state.value,
        "trace_metadata": dict(i.metadata),
        "tags": dict(i.tags),
        "assessments": [json.loads(a.content) for a in i.assessments],
    }
    if i.execution_duration is not None:
        out["execution_duration"] = f"{i.execution_duration / 1000:.3f}s"
    for key in ("client_request_id", "request_preview", "response_preview"):
        if (value := getattr(i, key)) is not None:
            out[key] = value
    return out


def trace_json(t: Trace) -> dict[str, Any]:
    return {"trace_info": info_json(t.info), "spans": [json.loads(s.content) for s in t.spans]}


# -- routes --------------------------------------------------------------------------------


class Start(Args):
    trace: dict[str, InfoIn]


@router.post("")
def start(reg: Reg, root: Root, args: Payload) -> Response:
    """StartTraceV3 (sent when the trace ends), or MLflow 2's StartTrace (no ``trace``)."""
    if "trace" not in args and "experiment_id" in args:
        return traces_v2.start(reg, root, args)
    a = parse(Start, args)
    if "trace_info" not in a.trace:
        raise Invalid("StartTraceV3 carries trace.trace_info")
    info = _info_in(a.trace["trace_info"])
    where = f"{root}/{info.experiment_id}/traces/{info.trace_id}/artifacts"
    return ok({"trace": {"trace_info": info_json(traces.start_trace(reg, info, where))}})


class Ids(Args):
    trace_ids: StrList = []


class One(Args):
    trace_id: str


@router.get("/get")
def get_trace(reg: Reg, args: Payload) -> Response:
    return ok({"trace": trace_json(traces.get_trace(reg, parse(One, args).trace_id))})


@router.get("/batchGet")
def batch_get(reg: Reg, args: Payload) -> Response:
    found = traces.get_traces(reg, parse(Ids, args).trace_ids)
    return ok({"traces": [trace_json(t) for t in found]})


@router.post("/batchGetInfos")
def batch_get_infos(reg: Reg, args: Payload) -> Response:
    found = traces.get_traces(reg, parse(Ids, args).trace_ids)
    return ok({"trace_infos": [info_json(t.info) for t in found]})


class Search(Args):
    locations: list[Location] = []
    experiment_ids: StrList = []
    filter: str | None = None
    max_results: int = 100
    order_by: StrList = []
    page_token: str | None = None


@router.post("/search")
def search(reg: Reg, args: Payload) -> Response:
    a = parse(Search, args)
    eids = [loc.mlflow_experiment.experiment_id for loc in a.locations if loc.mlflow_experiment]
    page = traces.search_traces(
        reg, eids + a.experiment_ids, a.filter, a.order_by, a.max_results, a.page_token
    )
    body: dict[str, Any] = {"traces": [info_json(i) for i in page.items]}
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


class Delete(Args):
    experiment_id: str
    max_timestamp_millis: int | None = None
    max_traces: int | None = None
    request_ids: StrList = []
    trace_ids: StrList = []


@router.post("/delete-traces")
def delete_traces(reg: Reg, args: Payload) -> Response:
    a = parse(Delete, args)
    ids = a.request_ids + a.trace_ids
    n = traces.delete_traces(reg, a.experiment_id, a.max_timestamp_millis, a.max_traces, ids)
    return ok({"traces_deleted": n})


class Link(Args):
    trace_ids: StrList = []
    run_id: str


@router.post("/link-to-run")
def link_to_run(reg: Reg, args: Payload) -> Response:
    a = parse(Link, args)
    traces.link_to_run(reg, a.trace_ids, a.run_id)
    return ok()


@router.get("/{trace_id}")
def get_info(reg: Reg, trace_id: str) -> Response:
    return ok({"trace": {"trace_info": info_json(traces.get_info(reg, trace_id))}})


class Tag(Args):
    key: str
    value: str = ""


@router.patch("/{trace_id}/tags")
def set_tag(reg: Reg, trace_id: str, args: Payload) -> Response:
    a = parse(Tag, args)
    traces.set_tag(reg, trace_id, a.key, a.value)
    return ok()


@router.delete("/{trace_id}/tags")
def delete_tag(reg: Reg, trace_id: str, args: Payload) -> Response:
    traces.delete_tag(reg, trace_id, parse(Tag, args).key)
    return ok()


# -- assessments: MLflow's JSON kept whole, with the id, trace and times set here ------------


class AssessmentBody(Args):
    assessment: dict[str, Any]
    update_mask: str | None = None


def _assessment_json(a: Assessment) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(a.content)
    return body


def _serialized(body: dict[str, Any]) -> dict[str, Any]:
    """An expectation whose value is a list or an object is kept as a JSON string, as MLflow
    stores it (its clients read such values back from ``serialized_value``)."""
    expectation = body.get("expectation")
    if isinstance(expectation, dict) and isinstance(expectation.get("value"), dict | list):
        text = json.dumps(expectation["value"])
        body["expectation"] = {
            "serialized_value": {"serialization_format": "JSON_FORMAT", "value": text}
        }
    return body


def _put(reg: Reg, trace_id: str, body: dict[str, Any]) -> Assessment:
    body = _serialized(body)
    content = json.dumps(body, separators=(",", ":"))
    return traces.put_assessment(reg, Assessment(body["assessment_id"], trace_id, content))


def _mark_valid(reg: Reg, trace_id: str, assessment_id: str, valid: bool) -> None:
    """An overridden assessment stays, marked invalid until its override is deleted."""
    body = _assessment_json(traces.get_assessment(reg, trace_id, assessment_id))
    _put(reg, trace_id, body | {"valid": valid})


@router.post("/{trace_id}/assessments")
def create_assessment(reg: Reg, trace_id: str, args: Payload) -> Response:
    body = dict(parse(AssessmentBody, args).assessment)
    stamp = _time(now_ms())
    body.setdefault("valid", True)
    body |= {
        "assessment_id": traces.new_assessment_id(),
        "trace_id": trace_id,
        "create_time": body.get("create_time") or stamp,
        "last_update_time": body.get("last_update_time") or stamp,
    }
    if isinstance(overrides := body.get("overrides"), str) and overrides:
        _mark_valid(reg, trace_id, overrides, False)
    return ok({"assessment": _assessment_json(_put(reg, trace_id, body))})


@router.get("/{trace_id}/assessments/{assessment_id}")
def get_assessment(reg: Reg, trace_id: str, assessment_id: str) -> Response:
    return ok({"assessment": _assessment_json(traces.get_assessment(reg, trace_id, assessment_id))})


@router.patch("/{trace_id}/assessments/{assessment_id}")
def update_assessment(reg: Reg, trace_id: str, assessment_id: str, args: Payload) -> Response:
    a = parse(AssessmentBody, args)
    body = _assessment_json(traces.get_assessment(reg, trace_id, assessment_id))
    mask = (a.update_mask or ",".join(a.assessment)).split(",")
    # a FieldMask's JSON names fields in lowerCamelCase; the assessment's JSON in snake_case
    fields = [_CAMEL.sub("_", f.strip()).lower() for f in mask if f.strip()]
    for f in fields:
        if f in ("assessment_id", "trace_id", "create_time"):
            continue
        if f in a.assessment:
            body[f] = a.assessment[f]
        else:
            body.pop(f, None)
    body["last_update_time"] = _time(now_ms())
    return ok({"assessment": _assessment_json(_put(reg, trace_id, body))})


@router.delete("/{trace_id}/assessments/{assessment_id}")
def delete_assessment(reg: Reg, trace_id: str, assessment_id: str) -> Response:
    body = _assessment_json(traces.get_assessment(reg, trace_id, assessment_id))
    traces.delete_assessment(reg, trace_id, assessment_id)
    if isinstance(overrides := body.get("overrides"), str) and overrides:
        with contextlib.suppress(NotFound):  # the original may be gone already
            _mark_valid(reg, trace_id, overrides, True)
    return ok()
