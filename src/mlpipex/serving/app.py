"""The model server as a plain ASGI application: MLflow's scoring routes and the Open Inference
Protocol v2 over one or more served versions. No web framework: the request path is a dict
lookup, a body read, the parse, the batcher and two ``send`` calls.

Errors become responses here and only here: ``Invalid`` is the client's fault (400), ``NotFound``
an unknown model (404), anything else the model's (500, with its message). The body's shape
follows the protocol of the route: ``{"error_code", "message"}`` as MLflow writes it, or
``{"error"}`` for v2. Every response names the version that answered in
``X-MLPipeX-Model-Version`` and carries a request id in ``X-MLPipeX-Request-Id`` (the caller's,
when it sends one, so labels that arrive later can be joined to the logged prediction)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from mlpipex.errors import Invalid, MLPipeXError, NotFound
from mlpipex.serving import codec, invocations, v2
from mlpipex.serving.served import ServedModel

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HEADER = "X-MLPipeX-Model-Version"
REQUEST_ID = "X-MLPipeX-Request-Id"
REQUEST_ID_KEY = REQUEST_ID.lower().encode()
_REQUEST_ID_RE = re.compile(rb"[A-Za-z0-9._:/-]{1,128}")
DEFAULT_MAX_BODY = 32 * 2**20

log = logging.getLogger("mlpipex.serving")

try:
    _VERSION = version("mlpipex")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = "0"

_JSON = b"application/json"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: bytes = _JSON


class ModelServer:
    """An ASGI app serving ``models``; the first is the default (``/invocations``, and
    ``/v2/models/NAME`` without a version picks the first of that name). Requests larger than
    ``max_body_bytes`` are refused with 413 before they are read."""

    def __init__(
        self, models: Sequence[ServedModel], *, max_body_bytes: int = DEFAULT_MAX_BODY
    ) -> None:
        if not models:
            raise Invalid("a model server needs at least one model")
        self.models = list(models)
        self.max_body_bytes = max_body_bytes
        self._by_name: dict[str, dict[str, ServedModel]] = {}
        for m in self.models:
            self._by_name.setdefault(m.name, {}).setdefault(m.version, m)
        self._headers = {id(m): (HEADER.lower().encode(), m.label.encode()) for m in self.models}

    @property
    def default(self) -> ServedModel:
        return self.models[0]

    def find(self, name: str, version: str | None = None) -> ServedModel:
        versions = self._by_name.get(name)
        if versions is None:
            served = ", ".join(self._by_name)
            raise NotFound(f"model {name!r} is not served here (serving: {served})")
        if version is None:
            return next(iter(versions.values()))
        if version not in versions:
            raise NotFound(
                f"version {version!r} of model {name!r} is not served here "
                f"(serving: {', '.join(v or '-' for v in versions)})"
            )
        return versions[version]

    def after_fork(self) -> None:
        """In a new worker process: a fresh copy of every model (see ``ServedModel.reload``)."""
        for m in self.models:
            m.reload()

    def close(self) -> None:
        for m in self.models:
            m.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        served = self.default
        rid = request_id(scope)
        if rid is None:
            bad = Invalid(f"{REQUEST_ID} takes 1 to 128 letters, digits or . _ : / -")
            reply = _v2_error(bad) if path.startswith("/v2") else _mlflow_error(bad)
            await self._send(send, reply, served, uuid.uuid4().hex.encode())
            return
        if path == "/invocations":
            start = time.perf_counter()
            reply = await self._predicting(
                self._invocations, _mlflow_error, served, scope, receive, method
            )
            served.metrics.record(reply.status, (time.perf_counter() - start) * 1000)
        elif path.startswith("/v2"):
            parts = path.strip("/").split("/")
            try:
                served, action = self._v2_route(parts)
            except NotFound as e:
                reply = _v2_error(e)
            else:
                reply = await self._v2(served, action, scope, receive, method)
        else:
            reply = self._mlflow_get(path, method)
        await self._send(send, reply, served, rid)

    async def _predicting(
        self,
        handler: Callable[[ServedModel, bytes, Scope], Awaitable[Reply]],
        error: Callable[[Exception, int | None], Reply],
        served: ServedModel,
        scope: Scope,
        receive: Receive,
        method: str,
    ) -> Reply:
        if method != "POST":
            return error(Invalid(f"{scope['path']} takes POST"), 405)
        body = await _read_body(scope, receive, self.max_body_bytes)
        if body is None:
            return error(
                Invalid(f"the request body exceeds the limit of {self.max_body_bytes} bytes"),
                413,
            )
        try:
            return await handler(served, body, scope)
        except Exception as e:
            return error(e, None)

    async def _invocations(self, served: ServedModel, body: bytes, scope: Scope) -> Reply:
        content_type = _header(scope, b"content-type")
        mime = invocations.media_type(content_type)
        if mime is None:
            unsupported = Invalid(
                f"unsupported content type {content_type!r}; use one of "
                f"{', '.join(invocations.MEDIA_TYPES)} (charset utf-8)"
            )
            return _mlflow_error(unsupported, 415)
        request = invocations.parse(body, mime, served.signature)
        output = await served.predict(request.data, request.rows, request.params)
        return Reply(200, invocations.render(output))

    async def _infer(self, served: ServedModel, body: bytes, scope: Scope) -> Reply:
        request = v2.parse(body, served.signature)
        output = await served.predict(request.data, request.rows, request.params)
        return Reply(200, v2.render(served, output, request))

    def _v2_route(self, parts: list[str]) -> tuple[ServedModel, str]:
        """(version, action) of /v2/...; action is the path once the model is taken out."""
        if len(parts) < 3 or parts[1] != "models":
            return self.default, "/".join(parts[1:])
        name, rest = parts[2], parts[3:]
        ver = None
        if len(rest) >= 2 and rest[0] == "versions":
            ver, rest = rest[1], rest[2:]
        return self.find(name, ver), "models/" + "/".join(rest)

    async def _v2(
        self, served: ServedModel, action: str, scope: Scope, receive: Receive, method: str
    ) -> Reply:
        if action == "models/infer":
            start = time.perf_counter()
            reply = await self._predicting(self._infer, _v2_error, served, scope, receive, method)
            served.metrics.record(reply.status, (time.perf_counter() - start) * 1000)
            return reply
        if method != "GET":
            return _v2_error(Invalid(f"{scope['path']} takes GET"), 405)
        if action == "models/":
            answer: dict[str, Any] = v2.metadata(served)
        elif action == "models/ready":
            answer = {"name": served.name, "ready": True}
        elif action in ("health/live", "health/ready"):
            answer = {action.removeprefix("health/"): True}
        elif action == "":
            answer = {"name": "mlpipex", "version": _VERSION, "extensions": []}
        else:
            return _v2_error(NotFound(f"no such route: {scope['path']}"))
        return Reply(200, codec.dumps(answer))

    def _mlflow_get(self, path: str, method: str) -> Reply:
        if path in ("/ping", "/health", "/version"):
            if method not in ("GET", "HEAD"):
                return _mlflow_error(Invalid(f"{path} takes GET"), 405)
            # As MLflow answers: a newline for health, the bare version string otherwise.
            return Reply(200, b"\n" if path != "/version" else _VERSION.encode())
        return _mlflow_error(NotFound(f"no such route: {path}"))

    async def _send(self, send: Send, reply: Reply, served: ServedModel, rid: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [
                    (b"content-type", reply.content_type),
                    (b"content-length", str(len(reply.body)).encode()),
                    self._headers[id(served)],
                    (REQUEST_ID_KEY, rid),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, Invalid):
        return 400, "BAD_REQUEST"
    if isinstance(exc, NotFound):
        return 404, "RESOURCE_DOES_NOT_EXIST"
    if isinstance(exc, MLPipeXError):
        return 500, exc.code
    log.error("prediction failed: %s: %s", type(exc).__name__, exc, exc_info=exc)
    return 500, "INTERNAL_ERROR"


def _message(exc: Exception) -> str:
    return str(exc) if isinstance(exc, MLPipeXError) else f"{type(exc).__name__}: {exc}"


def _mlflow_error(exc: Exception, status: int | None = None) -> Reply:
    code, error_code = _status(exc)
    if status == 413:
        error_code = "REQUEST_LIMIT_EXCEEDED"
    return Reply(status or code, codec.dumps({"error_code": error_code, "message": _message(exc)}))


def _v2_error(exc: Exception, status: int | None = None) -> Reply:
    return Reply(status or _status(exc)[0], codec.dumps({"error": _message(exc)}))


def request_id(scope: Scope) -> bytes | None:
    """The caller's request id when it sent a valid one, a new one when it sent none, None
    when what it sent is not an id (the caller gets a 400 rather than an id it did not ask for).
    """
    for key, value in scope["headers"]:
        if key == REQUEST_ID_KEY:
            value = bytes(value)
            return value if _REQUEST_ID_RE.fullmatch(value) else None
    return uuid.uuid4().hex.encode()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is larger than limit (known from Content-Length
    before reading anything, or counted while reading a chunked body)."""
    length = _header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        if not message.get("more_body", False):
            if not chunks:
                return bytes(chunk)
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)
