"""The agent's ASGI app: endpoints by name, each request routed to one loaded version's model
server (weighted, or sticky on a header), optionally copied to a shadow version after the
caller has its answer. Routing is a dict lookup, a random number or a hash, and a bisect;
everything about the protocols is the model server's."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from mlpipex.agent import metrics
from mlpipex.agent.predlog import PredictionLog
from mlpipex.agent.table import EMPTY, LiveEndpoint, LiveVersion, Table
from mlpipex.service.deploy.router import shadowed, sticky_point
from mlpipex.serving import codec
from mlpipex.serving.app import (
    DEFAULT_MAX_BODY,
    REQUEST_ID_KEY,
    Message,
    Receive,
    Scope,
    Send,
    request_id,
)

# Shadow copies queued or in flight at most: past this a slow shadow loses copies instead of
# piling up requests (and memory) behind the callers' traffic.
MAX_SHADOW_INFLIGHT = 256
# Shadow copies wait this long and go together: they share the shadow's predict calls (its
# batcher joins requests that arrive in one turn) and, between two flushes, leave the event
# loop and the GIL to the callers' requests. Without it a 100 % shadow doubled the p50 of a
# small model at one connection (bench/endpoint.py).
SHADOW_FLUSH_S = 0.01
# A retired version still answering after this long is closed anyway.
RETIRE_TIMEOUT_S = 60.0
_RETIRE_POLL_S = 0.05

_MLFLOW_ROUTE = "/invocations"
_ENDPOINTS = "/endpoints/"
_V2_MODELS = "/v2/models/"
_JSON = [(b"content-type", b"application/json")]


class AgentApp:
    """``install(table)`` (on the event loop) switches every endpoint at once; versions no
    longer in the table are closed when their last request ends. ``status`` answers
    ``GET /health``; ``startup``/``shutdown`` run with the server's lifespan."""

    def __init__(
        self,
        status: Callable[[], dict[str, Any]],
        startup: Callable[[], Awaitable[None]],
        shutdown: Callable[[], Awaitable[None]],
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.table: Table = EMPTY
        self.max_body_bytes = max_body_bytes
        self._status = status
        self._startup = startup
        self._shutdown = shutdown
        self._shadows: set[asyncio.Task[None]] = set()
        self._queued: list[tuple[LiveVersion, Scope, list[Message]]] = []
        self._flush: asyncio.TimerHandle | None = None
        self._random = random.random
        self.predictions: PredictionLog | None = None

    def install(self, table: Table) -> list[LiveVersion]:
        """Serve table from the next request on; returns the versions it dropped."""
        old = self.table.live_versions()
        self.table = table
        dropped = list(old - table.live_versions())
        for live in dropped:
            self._retire(live, asyncio.get_running_loop().time() + RETIRE_TIMEOUT_S)
        return dropped

    def _retire(self, live: LiveVersion, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if live.inflight and loop.time() < deadline:
            loop.call_later(_RETIRE_POLL_S, self._retire, live, deadline)
            return
        live.closed = True
        live.server.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path.startswith(_ENDPOINTS):
            name, _, rest = path[len(_ENDPOINTS) :].partition("/")
            if rest == "invocations":
                routed = {**scope, "path": _MLFLOW_ROUTE}
                await self._route(name, routed, receive, send, v2=False)
                return
        elif path.startswith(_V2_MODELS):
            name, _, rest = path[len(_V2_MODELS) :].partition("/")
            if rest == "infer":
                await self._route(name, scope, receive, send, v2=True)
                return
            await self._v2_direct(name, rest, scope, receive, send)
            return
        elif path in ("/health", "/ping"):
            await answer_json(scope, send, 200, self._status())
            return
        elif path == "/metrics":
            body = metrics.render(self.table)
            headers = [
                (b"content-type", b"text/plain; version=0.0.4"),
                (b"content-length", str(len(body)).encode()),
                (REQUEST_ID_KEY, _answer_id(scope)),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        elif path in ("/v2/health/live", "/v2/health/ready"):
            await answer_json(scope, send, 200, {path.rsplit("/", 1)[1]: True})
            return
        missing = error_doc(f"no such route: {path}", v2=path.startswith("/v2"))
        await answer_json(scope, send, 404, missing)

    async def _route(self, name: str, scope: Scope, receive: Receive, send: Send, v2: bool) -> None:
        endpoint = self.table.endpoints.get(name)
        if endpoint is None or not endpoint.split:
            await _unavailable(scope, send, name, endpoint, v2)
            return
        target = endpoint.split.pick(self._point(endpoint, scope))
        shadow = endpoint.shadow
        log = self.predictions
        if log is not None and not v2 and log.wants(name):
            receive, send, done = _captured(log, name, target.version, scope, receive, send)
        else:
            done = None
        if (
            shadow is None
            or not shadowed(endpoint.shadow_percent, self._random())
            or len(self._shadows) + len(self._queued) >= MAX_SHADOW_INFLIGHT
        ):
            await _call(target, scope, receive, send)
            if done is not None:
                done()
            return
        # The body is read once and replayed: to the caller's version, then to the shadow.
        messages, whole = await _buffer(receive, self.max_body_bytes)
        await _call(target, scope, _replay(messages, receive), send)
        if done is not None:
            done()
        if whole:
            shadow.inflight += 1  # from now: a version switch must not close it under the copy
            self._queued.append((shadow, scope, messages))
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(SHADOW_FLUSH_S, self._send)

    def _send(self) -> None:
        """Start every queued shadow copy, in one turn of the loop."""
        queued, self._queued, self._flush = self._queued, [], None
        for shadow, scope, messages in queued:
            task = asyncio.create_task(_shadow(shadow, scope, messages))
            self._shadows.add(task)
            task.add_done_callback(self._shadows.discard)

    def _point(self, endpoint: LiveEndpoint, scope: Scope) -> float:
        if endpoint.sticky is not None:
            for key, value in scope["headers"]:
                if key == endpoint.sticky:
                    return sticky_point(bytes(value).decode("latin-1"))
        return self._random()

    async def _v2_direct(
        self, name: str, rest: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Metadata and readiness from the endpoint's main version, or any route of a version
        named in the path (``/v2/models/NAME/versions/V/...``), bypassing the split."""
        endpoint = self.table.endpoints.get(name)
        target = endpoint.primary if endpoint is not None else None
        if endpoint is not None and rest.startswith("versions/"):
            number = rest.split("/", 2)[1]
            target = endpoint.versions.get(int(number)) if number.isdigit() else None
            if target is None:
                message = f"version {number} of endpoint {name!r} is not loaded here"
                await answer_json(scope, send, 404, error_doc(message, v2=True))
                return
        if target is None:
            await _unavailable(scope, send, name, endpoint, v2=True)
            return
        await _call(target, scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._shutdown()
                for live in self.table.live_versions():
                    live.closed = True
                    live.server.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _captured(
    log: PredictionLog, endpoint: str, version: int, scope: Scope, receive: Receive, send: Send
) -> tuple[Receive, Send, Callable[[], None]]:
    """receive and send that keep a copy of the body and the answer for the prediction log;
    the returned callable records them once the answer is sent."""
    body: list[bytes] = []
    answer: list[bytes] = []
    status = [0]
    rid = [b""]
    started = time.perf_counter()

    async def recv() -> Message:
        message = await receive()
        body.append(message.get("body", b""))
        return message

    async def snd(message: Message) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
            rid[0] = next((bytes(v) for k, v in message["headers"] if k == REQUEST_ID_KEY), b"")
        else:
            answer.append(message.get("body", b""))
        await send(message)

    def done() -> None:
        mime = next(
            (bytes(v).decode("latin-1") for k, v in scope["headers"] if k == b"content-type"),
            "application/json",
        )
        log.record(
            endpoint,
            version,
            (time.perf_counter() - started) * 1000,
            status[0],
            mime,
            b"".join(body),
            b"".join(answer),
            rid[0].decode("latin-1"),
        )

    return recv, snd, done


async def _call(target: LiveVersion, scope: Scope, receive: Receive, send: Send) -> None:
    target.inflight += 1
    try:
        await target.server(scope, receive, send)
    finally:
        target.inflight -= 1


async def _shadow(target: LiveVersion, scope: Scope, messages: list[Message]) -> None:
    """A copy of a request, answered into nothing: only the version's counters keep it."""
    try:
        await target.server(scope, _replay(messages, None), _discard)
    finally:
        target.inflight -= 1


async def _buffer(receive: Receive, limit: int) -> tuple[list[Message], bool]:
    """The request's body messages, and whether they are all of it (False past limit bytes,
    where the rest is left for the version to refuse)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        size += len(message.get("body", b""))
        if size > limit:
            return messages, False
        if not message.get("more_body", False):
            return messages, True


def _replay(messages: list[Message], rest: Receive | None) -> Receive:
    pending = iter(messages)

    async def receive() -> Message:
        message = next(pending, None)
        if message is not None:
            return message
        if rest is not None:
            return await rest()
        return {"type": "http.disconnect"}

    return receive


async def _discard(message: Message) -> None:
    pass


async def _unavailable(
    scope: Scope, send: Send, name: str, endpoint: LiveEndpoint | None, v2: bool
) -> None:
    if endpoint is None:
        missing = error_doc(f"endpoint {name!r} is not served here", v2=v2)
        await answer_json(scope, send, 404, missing)
        return
    reasons = "; ".join(endpoint.errors) or "its versions are still loading"
    message = f"endpoint {name!r} has no version to serve: {reasons}"
    await answer_json(scope, send, 503, error_doc(message, v2, "TEMPORARILY_UNAVAILABLE"))


def _answer_id(scope: Scope) -> bytes:
    """The caller's request id, or a new one when it sent none or one the servers refuse."""
    return request_id(scope) or uuid.uuid4().hex.encode()


def error_doc(message: str, v2: bool, code: str = "RESOURCE_DOES_NOT_EXIST") -> dict[str, Any]:
    # The body's shape follows the route's protocol, as the model server answers.
    return {"error": message} if v2 else {"error_code": code, "message": message}


async def answer_json(scope: Scope, send: Send, status: int, doc: dict[str, Any]) -> None:
    """The agent's own answers carry a request id too (a fresh one for an id it refuses)."""
    body = codec.dumps(doc)
    headers = [
        *_JSON,
        (b"content-length", str(len(body)).encode()),
        (REQUEST_ID_KEY, _answer_id(scope)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
