"""What runs inside Ray Serve for the Ray runtime: a deployment per served version (its package
loaded once per replica, digests verified, answered by the model server), one ingress that
routes with the agent's own app and routing table, and the collector the ingress pushes its
per-version counters and sampled requests to, for the agent to report."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray import serve
from starlette.requests import Request
from starlette.responses import Response

from mlpipex.agent.app import AgentApp, answer_json, error_doc
from mlpipex.agent.control import health
from mlpipex.agent.desired import EndpointSpec, VersionSpec, parse_desired
from mlpipex.agent.ledger import Counts
from mlpipex.agent.loader import VersionLoader
from mlpipex.agent.predlog import Captured, PredictionLog
from mlpipex.agent.table import LiveVersion, VersionKey, build_table, version_key
from mlpipex.client.http import Http
from mlpipex.serving import ModelServer, VersionMetrics
from mlpipex.serving.app import DEFAULT_MAX_BODY, Message, Receive, Scope, Send

log = logging.getLogger("mlpipex.agent")

NAMESPACE = "mlpipex"
VERSION_DEPLOYMENT = "version"
# The ingress pushes its counters this often (and says which versions' counters are final:
# only then does the agent delete their applications).
PUSH_S = 0.25
_CAPTURED_MAX = 20_000


@dataclass(frozen=True, slots=True)
class Forwarded:
    """A request as the ingress hands it to a version's replica."""

    method: str
    path: str
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Answered:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Source:
    """Where a replica fetches its version from: the control plane, as the agent does."""

    control_plane: str
    token: str | None
    timeout: float
    cache_dir: str
    allow_pickle: bool
    workspace: str | None = None


class VersionReplica:
    """One replica of one version. The init arguments are the version's identity (a change
    of files is another application), so Serve can scale it without restarting it."""

    def __init__(self, name: str, model: str, spec: VersionSpec, source: Source) -> None:
        http = Http(
            source.control_plane,
            token=source.token,
            user=None,
            workspace=source.workspace,
            timeout=source.timeout,
        )
        loader = VersionLoader(http, Path(source.cache_dir), allow_pickle=source.allow_pickle)
        try:
            served = loader.load(EndpointSpec(name, model, None, (spec,), None), spec)
        finally:
            http.close()
        self._server = ModelServer([served])

    async def __call__(self, request: Forwarded) -> Answered:
        return await _asgi(self._server, request)


async def _asgi(app: Any, request: Forwarded) -> Answered:
    """request through an ASGI app, its whole answer collected."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http",
        "method": request.method,
        "path": request.path,
        "raw_path": request.path.encode(),
        "root_path": "",
        "query_string": request.query,
        "headers": list(request.headers),
    }
    messages = deque([{"type": "http.request", "body": request.body, "more_body": False}])
    status, headers, body = 500, [], []

    async def receive() -> Message:
        return messages.popleft() if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answered(status, tuple((bytes(k), bytes(v)) for k, v in headers), b"".join(body))


class RemoteServer:
    """A version's replicas as the ingress's table sees them: the request goes over a Serve
    handle, and the answer is counted here (status and latency as the ingress measured)."""

    def __init__(self, handle: Any, metrics: VersionMetrics) -> None:
        self._handle = handle
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        body = await _body(receive, DEFAULT_MAX_BODY)
        v2 = scope["path"].startswith("/v2")
        if body is None:
            await answer_json(scope, send, 413, error_doc("the request body is too large", v2))
            self._metrics.record(413, (time.perf_counter() - started) * 1000)
            return
        request = Forwarded(
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            tuple((bytes(k), bytes(v)) for k, v in scope["headers"]),
            body,
        )
        try:
            answered: Answered = await self._handle.remote(request)
        except Exception as e:  # the replica died or Serve refused: the caller gets a 503
            message = f"the version could not answer: {type(e).__name__}: {e}"
            self._metrics.record(503, (time.perf_counter() - started) * 1000)
            await answer_json(scope, send, 503, error_doc(message, v2, "TEMPORARILY_UNAVAILABLE"))
            return
        self._metrics.record(answered.status, (time.perf_counter() - started) * 1000)
        await send(
            {"type": "http.response.start", "status": answered.status, "headers": answered.headers}
        )
        await send({"type": "http.response.body", "body": answered.body})

    def close(self) -> None:
        """The replicas are Serve's: the runtime deletes their application."""


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None past limit bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _nothing() -> None:
    """The ingress has no lifespan of its own: the agent's loops run in the agent."""


class Ingress:
    """The agent's app in a Serve replica, on the agent's port (Serve's HTTP proxy): the same
    routes, routing, shadow copies, version header and prediction sampling as the local
    runtime. Its table comes in ``user_config``, so a new generation reconfigures it in
    place while requests keep flowing."""

    def __init__(self) -> None:
        self._app = AgentApp(self._status, _nothing, _nothing)
        self._app.predictions = PredictionLog()
        self._agent = ""
        self._collector = ""
        self._live: dict[str, LiveVersion] = {}  # by application name
        self._routed: set[str] = set()  # the applications the table routes to
        self._pushed: dict[str, Counts] = {}
        self._pusher: asyncio.Task[None] | None = None
        self._own: dict[str, Any] = {"runtime": "ray"}  # the agent's part of /health

    async def reconfigure(self, config: dict[str, Any]) -> None:
        self._agent, self._collector = config["agent"], config["collector"]
        if self._pusher is None:
            self._pusher = asyncio.get_running_loop().create_task(self._push_forever())
        if config["desired"] is None:  # the agent has no desired state yet
            return
        state = parse_desired(config["desired"])
        apps: dict[str, str] = config["apps"]  # "ENDPOINT/VERSION" -> its application
        self._routed = set(apps.values())
        loaded: dict[VersionKey, LiveVersion] = {}
        for endpoint in state.endpoints:
            for spec in endpoint.all_versions():
                app = apps.get(f"{endpoint.name}/{spec.version}")
                if app is None:
                    continue
                live = self._live.get(app)
                if live is None or live.closed:
                    metrics = VersionMetrics()
                    handle = serve.get_deployment_handle(
                        VERSION_DEPLOYMENT, app_name=app, _check_exists=False
                    )
                    live = LiveVersion(spec.version, RemoteServer(handle, metrics), metrics)
                    self._live[app] = live
                loaded[version_key(endpoint, spec)] = live
        assert self._app.predictions is not None
        self._app.predictions.rates = {e.name: e.log_sample_rate for e in state.endpoints}
        self._app.install(build_table(state, loaded, config["errors"]))

    async def __call__(self, request: Request) -> Response:
        body = await request.body()
        answered = await _asgi(
            self._app,
            Forwarded(
                request.method,
                request.url.path,
                request.scope.get("query_string", b""),
                tuple(request.scope["headers"]),
                body,
            ),
        )
        response = Response(answered.body, status_code=answered.status)
        response.raw_headers = list(answered.headers)
        return response

    def _status(self) -> dict[str, Any]:
        """The local agent's answer: this table's part, and the agent's own as last published."""
        return health(self._app.table, True, {"agent": self._agent, **self._own})

    async def _push_forever(self) -> None:
        collector = None
        while True:
            await asyncio.sleep(PUSH_S)
            try:
                if collector is None:
                    collector = ray.get_actor(self._collector, namespace=NAMESPACE)
                await self._push(collector)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the agent restarting: its collector comes back
                log.warning("cannot push counters to the agent: %s", e)
                collector = None

    async def _push(self, collector: Any) -> None:
        # Closed (its last request answered) and no longer routed to: its counters are final,
        # and the agent may delete its application once it has them.
        done = [a for a, live in self._live.items() if live.closed and a not in self._routed]
        now = {app: Counts.of(live.metrics) for app, live in self._live.items()}
        deltas = {
            app: d
            for app, counts in now.items()
            if (d := counts.minus(self._pushed.get(app, Counts()))).requests
        }
        assert self._app.predictions is not None
        captured = self._app.predictions.drain()
        # Every time, counters or not: the answer is the agent's latest part of /health.
        self._own = await collector.add.remote(deltas, captured, done)
        self._pushed.update(now)
        for app in done:  # its last counts are in the push above
            del self._live[app]
            self._pushed.pop(app, None)


class Collector:
    """Counters, sampled requests and the applications whose counters are final, pushed by
    the ingress replicas until the agent takes them; and the agent's own part of /health, for
    the ingress. A Ray actor owned by the agent: it goes when the agent goes."""

    def __init__(self) -> None:
        self._counts: dict[str, Counts] = {}
        self._captured: deque[Captured] = deque(maxlen=_CAPTURED_MAX)
        self._done: set[str] = set()
        self._own: dict[str, Any] = {"runtime": "ray"}

    def add(
        self, deltas: dict[str, Counts], captured: list[Captured], done: list[str]
    ) -> dict[str, Any]:
        for app, d in deltas.items():
            self._counts[app] = self._counts[app].plus(d) if app in self._counts else d
        self._captured.extend(captured)
        self._done.update(done)
        return self._own

    def take(self) -> tuple[dict[str, Counts], list[Captured], set[str]]:
        counts, self._counts = self._counts, {}
        done, self._done = self._done, set()
        captured = list(self._captured)
        self._captured.clear()
        return counts, captured, done

    def publish(self, own: dict[str, Any]) -> None:
        self._own = own
