"""OTLP trace export requests (what `mlflow` sends to /v1/traces: protobuf, or OTLP's JSON)
decoded into spans; each span is kept as protobuf's JSON (field names as in the .proto, as MLflow
writes its messages), the form MLflow's Trace carries."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from mlpipex.domain.traces import Span
from mlpipex.errors import Invalid

MAX_SPANS = 10_000
# MLflow names the trace a span belongs to in this attribute (a JSON string)
TRACE_ID_ATTRIBUTE = "mlflow.traceRequestId"
_STATUS = {
    Status.STATUS_CODE_OK: "OK",
    Status.STATUS_CODE_ERROR: "ERROR",
    Status.STATUS_CODE_UNSET: "UNSET",
}
_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def decode(body: bytes, content_type: str) -> list[Span]:
    req = ExportTraceServiceRequest()
    try:
        if "json" in content_type:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise Invalid("an OTLP JSON export request is an object")
            json_format.ParseDict(_ids_to_base64(data), req)
        else:
            req.ParseFromString(body)
    except (DecodeError, json_format.ParseError, ValueError) as exc:
        raise Invalid(f"not an OTLP trace export request: {str(exc)[:200]}") from None
    found = [s for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
    if len(found) > MAX_SPANS:
        raise Invalid(f"at most {MAX_SPANS} spans per request, got {len(found)}")
    return [_span(s) for s in found]


def _span(s: OtlpSpan) -> Span:
    if len(s.trace_id) != 16 or len(s.span_id) != 8:
        raise Invalid("an OTLP span needs a 16-byte trace id and an 8-byte span id")
    trace_id = f"tr-{s.trace_id.hex()}"
    for kv in s.attributes:
        if kv.key == TRACE_ID_ATTRIBUTE and kv.value.string_value:
            trace_id = _unquote(kv.value.string_value)
    if not trace_id or len(trace_id) > 64:
        raise Invalid(f"trace id {trace_id[:80]!r} must be 1 to 64 characters")
    return Span(
        trace_id=trace_id,
        span_id=s.span_id.hex(),
        parent_id=s.parent_span_id.hex() or None,
        name=s.name,
        start_ns=s.start_time_unix_nano,
        end_ns=s.end_time_unix_nano or None,
        status=_STATUS.get(s.status.code, "UNSET"),
        content=json.dumps(
            json_format.MessageToDict(s, preserving_proto_field_name=True), separators=(",", ":")
        ),
        text=_text(s),
    )


def _text(s: OtlpSpan) -> str:
    """What full-text search over the span sees: its name, its attributes' and events' values
    (never the JSON around them, whose field names would match every span)."""
    values = [kv.value for kv in s.attributes]
    for e in s.events:
        values += [kv.value for kv in e.attributes]
    words = [s.name, *(e.name for e in s.events)]
    words += [v if isinstance(v, str) else json.dumps(v) for v in map(_plain, values)]
    return "\n".join(words)


def _unquote(value: str) -> str:
    try:
        out = json.loads(value)
    except ValueError:
        return value
    return out if isinstance(out, str) else value


def _ids_to_base64(data: Any) -> Any:
    """OTLP's JSON writes ids in hex where protobuf's JSON expects base64."""
    if isinstance(data, list):
        return [_ids_to_base64(x) for x in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for k, v in data.items():
        if k in _ID_FIELDS and isinstance(v, str) and v:
            try:
                v = base64.b64encode(bytes.fromhex(v)).decode()
            except ValueError:
                raise Invalid(f"{k} {v[:40]!r} is not hex") from None
        out[k] = _ids_to_base64(v)
    return out


def mlflow_span(content: str) -> dict[str, Any]:
    """A stored span as MLflow writes it in a trace's data artifact (``traces.json``): ids in
    base64, times as numbers, attributes as plain values."""
    s = OtlpSpan()
    json_format.ParseDict(json.loads(content), s)
    return {
        "trace_id": base64.b64encode(s.trace_id).decode(),
        "span_id": base64.b64encode(s.span_id).decode(),
        "parent_span_id": base64.b64encode(s.parent_span_id).decode() if s.parent_span_id else None,
        "name": s.name,
        "start_time_unix_nano": s.start_time_unix_nano,
        "end_time_unix_nano": s.end_time_unix_nano or None,
        "events": [
            {
                "name": e.name,
                "time_unix_nano": e.time_unix_nano,
                "attributes": {kv.key: _plain(kv.value) for kv in e.attributes},
            }
            for e in s.events
        ],
        "status": {"code": Status.StatusCode.Name(s.status.code), "message": s.status.message},
        # MLflow keeps a span's attributes as JSON text; its exporter sent them decoded
        "attributes": {
            kv.key: json.dumps(_plain(kv.value), ensure_ascii=False) for kv in s.attributes
        },
        "links": [
            {
                "trace_id": f"tr-{link.trace_id.hex()}",
                "span_id": link.span_id.hex(),
                "attributes": {kv.key: _plain(kv.value) for kv in link.attributes} or None,
            }
            for link in s.links
        ],
    }


def _plain(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_plain(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return getattr(v, kind) if kind else None
