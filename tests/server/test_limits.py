"""Body limits: who is refused before their body is read, which bodies are walked as JSON, and
which paths stream as uploads or answer in MLflow's error shape."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import blake3
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.types import Message

from mlpipex.server.direct import Direct
from mlpipex.server.limits import too_deep

App = Callable[..., TestClient]
DEEP = "[" * 100 + "]" * 100


def test_an_anonymous_write_on_an_auth_server_is_refused_before_its_body_is_read(
    make_app: App,
) -> None:
    app = make_app(auth=True).app
    read: list[Message] = []
    sent: list[Message] = []

    async def receive() -> Message:
        message: Message = {"type": "http.request", "body": b"{" * 100_000}
        read.append(message)
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/models",
        "raw_path": b"/api/v1/models",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100000")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 401 and read == []


def test_protobuf_bodies_are_not_walked_as_json(make_app: App) -> None:
    c = make_app()
    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "[" * 200
    span.start_time_unix_nano, span.end_time_unix_nano = (
        1_700_000_000 * 10**9,
        1_700_000_001 * 10**9,
    )
    body = req.SerializeToString()
    assert too_deep(body)  # as JSON it would be refused
    r = c.post("/v1/traces", content=body, headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200, r.text
    r = c.post("/v1/traces", content=DEEP, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "nested deeper" in r.json()["message"]


def test_refusals_on_every_mlflow_path_come_in_mlflows_shape(make_app: App) -> None:
    c = make_app()
    for path in (
        "/api/3.0/mlflow/traces",
        "/ajax-api/2.0/mlflow/runs/create",
        "/ajax-api/3.0/mlflow/traces",
        "/v1/traces",
    ):
        r = c.post(path, content=DEEP, headers={"content-type": "application/json"})
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE", (path, r.text)


def test_ajax_artifact_uploads_stream_past_the_body_limit(make_app: App) -> None:
    c = make_app(max_body_mb=1)
    data = b"[" * (2 * 2**20)
    for root in ("/api/2.0", "/ajax-api/2.0"):
        path = f"{root}/mlflow-artifacts/artifacts/0/run/artifacts/big.bin"
        assert c.put(path, content=data).status_code == 200, root
        assert c.get(path).content == data


def test_an_unnamed_object_upload_streams_past_the_body_limit_and_is_named_by_its_digest(
    make_app: App,
) -> None:
    c = make_app(max_body_mb=1)
    data = b"[" * (2 * 2**20)
    r = c.post("/api/v1/objects", content=data)
    assert r.status_code == 200, r.text
    digest = r.json()["digest"]
    assert r.json() == {"digest": blake3.blake3(data).hexdigest(), "size": len(data)}
    assert c.get(f"/api/v1/objects/{digest}").content == data
    # the collection's path alone streams; a path merely starting like it is a plain body
    assert c.post("/api/v1/objectsx", content=data).status_code == 413


def test_the_depth_check_reads_strings_and_escapes_as_a_parser_does() -> None:
    assert not too_deep(b'{"a": [1, {"b": "' + b"[" * 100 + b'"}]}')
    assert too_deep(b'"\\\\"' + b"[" * 65)  # the escaped backslash does not escape the quote
    assert not too_deep(b'"\\"' + b"[" * 65 + b'"')  # an escaped quote does not end the string
    assert not too_deep(b'{"a":' * 64 + b"1" + b"}" * 64)
    assert too_deep(b'{"a":' * 65 + b"1" + b"}" * 65)
    assert too_deep(b"[" * 100_000)  # never closed
    assert not too_deep(b"[1]," * 1_000_000)


def test_a_deep_body_declared_as_binary_is_still_refused_where_it_is_read_as_json(
    make_app: App,
) -> None:
    c = make_app()
    deep = "[" * 100_000 + "]" * 100_000
    binary = {"content-type": "application/octet-stream"}
    r = c.post("/api/2.0/mlflow/runs/create", content=deep, headers=binary)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text


def test_a_chunked_body_on_a_direct_route_meets_the_same_limits(make_app: App) -> None:
    # no Content-Length: the body is read and measured as it comes, as a declared one is
    c = make_app(max_body_mb=1)
    path = "/api/2.0/mlflow/model-versions/set-tag"
    assert isinstance(c.app.router.routes[0], Direct)  # type: ignore[attr-defined]
    assert path in c.app.router.routes[0].table  # type: ignore[attr-defined]
    for body, status in ((iter([b" " * 2**19] * 3), 413), (iter([DEEP.encode()]), 400)):
        r = c.post(path, content=body, headers={"content-type": "application/json"})
        assert "content-length" not in r.request.headers
        assert r.status_code == status and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert r.headers["x-content-type-options"] == "nosniff"
