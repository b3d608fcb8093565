"""The Ray runtime (``mlpipex agent --runtime ray``): the agent attaches to a Ray cluster and
serves its endpoints on Ray Serve, one application per served version (replicas and resources
from the endpoint) and one ingress application on the agent's port. The agent's loops, its
routing rules and its reports are the local runtime's; only where the model runs changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import ray
from ray import serve
from ray.serve.schema import ApplicationStatus, ApplicationStatusOverview

from mlpipex.agent.app import RETIRE_TIMEOUT_S
from mlpipex.agent.control import Agent, AgentConfig
from mlpipex.agent.desired import DesiredState, EndpointSpec, Resources, VersionSpec, desired_doc
from mlpipex.agent.loader import refuse_code
from mlpipex.agent.predlog import PredictionLog
from mlpipex.agent.ray_serve import (
    NAMESPACE,
    VERSION_DEPLOYMENT,
    Collector,
    Ingress,
    Source,
    VersionReplica,
)
from mlpipex.agent.run import advertised_url
from mlpipex.agent.table import EMPTY, LiveVersion, Table
from mlpipex.agent.threads import off_loop
from mlpipex.errors import Invalid, Unavailable
from mlpipex.serving import VersionMetrics

log = logging.getLogger("mlpipex.agent")

INGRESS_APP = "mlpipex"
# A version dropped from the table keeps its replicas until the ingress has answered its last
# requests and pushed their counters; at most this long (the ingress may have been restarted
# and forgotten it): its own retirement timeout, and time for the push.
DROP_TIMEOUT_S = RETIRE_TIMEOUT_S + 30.0
# A version whose replicas fail to start is given up after this many tries of its constructor
# (the agent tries it again at its next retry, as it does a local load).
CONSTRUCTOR_TRIES = 2
# A version's replicas must be running this soon after they are asked for (the cluster may
# not have the resources, or an image may be slow to pull).
DEPLOY_TIMEOUT_S = 120.0
# The ingress routes and waits: it needs no whole CPU of its own, and holds many requests at
# once (Serve's default of 5 in flight per replica would queue a 32-connection load in front
# of it).
INGRESS_ACTOR = {"num_cpus": 0}
INGRESS_MAX_ONGOING = 1024
# A version's replica batches the requests it holds (the model server's batcher): let it hold
# a batch's worth.
VERSION_MAX_ONGOING = 64


class RayRuntime:
    name = "ray"
    places_replicas = True

    def __init__(self, config: AgentConfig, address: str | None) -> None:
        self._config = config
        self._address = address
        self._source = Source(
            config.control_plane,
            config.token,
            config.timeout,
            str(config.cache_dir),
            config.allow_pickle,
            config.workspace,
        )
        self._collector_name = "mlpipex-collector-" + re.sub(r"[^A-Za-z0-9_-]", "_", config.name)
        self._collector: Any = None
        self._apps: dict[LiveVersion, str] = {}  # application of each live version
        self._by_app: dict[str, LiveVersion] = {}
        self._resources: dict[str, Resources] = {}  # what each application was deployed with
        self._installed: set[LiveVersion] = set()
        self._drops: set[asyncio.Task[None]] = set()

    def start(self, host: str, port: int) -> None:
        """Attach to the cluster (or start one on this machine) and put Serve's HTTP proxy on
        host:port. Blocking."""
        ray.init(
            address=self._address,
            namespace=NAMESPACE,
            include_dashboard=False if self._address is None else None,
            log_to_driver=False,
            configure_logging=False,
        )
        serve.start(http_options={"host": host, "port": port})
        self._collector = (
            ray.remote(Collector)
            .options(name=self._collector_name, namespace=NAMESPACE, num_cpus=0)
            .remote()
        )
        self._route(EMPTY)  # /health answers (starting) before the first table

    async def load(self, endpoint: EndpointSpec, spec: VersionSpec) -> LiveVersion:
        refuse_code(spec, self._config.allow_pickle)
        app = _app_name(endpoint, spec)
        await off_loop(self._deploy, app, endpoint, spec)
        live = LiveVersion(spec.version, _Elsewhere(), VersionMetrics())
        self._apps[live], self._by_app[app] = app, live
        self._resources[app] = endpoint.resources
        return live

    def _deploy(self, app: str, endpoint: EndpointSpec, spec: VersionSpec) -> None:
        deployment = serve.deployment(
            name=VERSION_DEPLOYMENT,
            max_constructor_retry_count=CONSTRUCTOR_TRIES,
            max_ongoing_requests=VERSION_MAX_ONGOING,
            **deployment_options(endpoint.resources),
        )(VersionReplica)
        bound = deployment.bind(endpoint.name, endpoint.model, spec, self._source)
        try:
            _run(bound, app, None)
        except Invalid as e:
            _delete(app)
            raise Invalid(f"Ray Serve could not start version {spec.version}: {e}") from None

    async def install(self, table: Table) -> None:
        for endpoint in table.endpoints.values():
            for number, live in endpoint.versions.items():
                app = self._apps[live]
                if self._resources.get(app) != endpoint.spec.resources:
                    # Replicas or resources changed: Serve updates the application in place.
                    spec = next(v for v in endpoint.spec.all_versions() if v.version == number)
                    await off_loop(self._deploy, app, endpoint.spec, spec)
                    self._resources[app] = endpoint.spec.resources
        await off_loop(self._route, table)
        serving = table.live_versions()
        for gone in self._installed - serving:
            task = asyncio.get_running_loop().create_task(self._drop(gone))
            self._drops.add(task)
            task.add_done_callback(self._drops.discard)
        self._installed = serving

    def _route(self, table: Table) -> None:
        state = DesiredState(table.generation or 0, tuple(e.spec for e in table.endpoints.values()))
        config = {
            # None until the agent has a desired state: the ingress answers /health "starting".
            "desired": desired_doc(state) if table.generation is not None else None,
            "apps": {
                f"{name}/{number}": self._apps[live]
                for name, e in table.endpoints.items()
                for number, live in e.versions.items()
            },
            "errors": {name: list(e.errors) for name, e in table.endpoints.items()},
            "agent": self._config.name,
            "collector": self._collector_name,
        }
        ingress = serve.deployment(
            name="ingress",
            # A new table is a new user_config: Serve reconfigures the replica in place.
            user_config=config,
            ray_actor_options=INGRESS_ACTOR,
            max_ongoing_requests=INGRESS_MAX_ONGOING,
        )(Ingress)
        _run(ingress.bind(), INGRESS_APP, "/")

    async def _drop(self, live: LiveVersion) -> None:
        await asyncio.sleep(DROP_TIMEOUT_S)
        await self._release(live)  # if the ingress never said its counters were final

    async def _release(self, live: LiveVersion) -> None:
        """Let a dropped version go, its last counters taken: the ledger, once they are
        reported; Serve, its application (unless the version is served again meanwhile)."""
        if (app := self._apps.pop(live, None)) is None:
            return
        live.closed = True
        if self._by_app.get(app) is live:
            del self._by_app[app]
            self._resources.pop(app, None)
            await off_loop(_delete, app)

    async def collect(self, predictions: PredictionLog) -> None:
        counts, captured, done = await self._collector.take.remote()
        for app, c in counts.items():
            if (live := self._by_app.get(app)) is not None:
                c.add_to(live.metrics)
        for app in done:
            if (live := self._by_app.get(app)) is not None and live not in self._installed:
                await self._release(live)
        predictions.extend(captured)

    async def publish(self, own: dict[str, Any]) -> None:
        await self._collector.publish.remote(own)

    async def close(self) -> None:
        for task in list(self._drops):
            task.cancel()
        await off_loop(self._shutdown)

    def _shutdown(self) -> None:
        # The agent's endpoints stop with it, as the local runtime's do (Serve finishes
        # deleting them after the agent has gone).
        for app in [INGRESS_APP, *self._apps.values()]:
            _delete(app)
        if self._address is None:
            serve.shutdown()  # type: ignore[no-untyped-call]
        ray.shutdown()  # type: ignore[no-untyped-call]


def _delete(app: str) -> None:
    """Ask Serve to delete app, without waiting. Never after the agent has left the cluster:
    Serve's API would start a new local one."""
    if ray.is_initialized():
        with contextlib.suppress(Exception):
            serve.delete(app, _blocking=False)


def _run(target: Any, name: str, route_prefix: str | None) -> None:
    """Deploy or update an application and wait, at most DEPLOY_TIMEOUT_S, until it runs
    (Serve itself would wait for ever for replicas the cluster cannot place)."""
    serve._run(target, name=name, route_prefix=route_prefix, _blocking=False)
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while True:
        if not ray.is_initialized():  # the agent stopped meanwhile: Serve would start a cluster
            raise Unavailable("the agent has left the Ray cluster")
        status = serve.status().applications.get(name)
        state = status.status if status is not None else None
        if state == ApplicationStatus.RUNNING:
            return
        if state == ApplicationStatus.DEPLOY_FAILED:
            raise Invalid(_why(status) if status is not None else "its deployment failed")
        if time.monotonic() > deadline:
            message = status.message if status is not None else ""
            raise Invalid(f"not running after {DEPLOY_TIMEOUT_S:g} s {message}".strip())
        time.sleep(0.1)


def _why(status: ApplicationStatusOverview) -> str:
    """What made an application fail: the error its failed deployment last saw (the last line
    of the replica's traceback Serve keeps), else the application's own message."""
    for d in status.deployments.values():
        if d.status != "HEALTHY" and d.message.strip():
            return d.message.strip().splitlines()[-1].strip()
    return status.message


class _Elsewhere:
    """The agent process routes nothing on this runtime: its table only keeps the counters."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("the Ray runtime serves requests in its ingress, not in the agent")

    def close(self) -> None:
        pass


def deployment_options(r: Resources) -> dict[str, Any]:
    """Serve deployment options from an endpoint's resources."""
    actor = {
        k: v
        for k, v in (("num_cpus", r.num_cpus), ("num_gpus", r.num_gpus), ("memory", r.memory))
        if v is not None
    }
    options: dict[str, Any] = {"ray_actor_options": actor} if actor else {}
    if r.autoscaling is not None:
        options["autoscaling_config"] = {
            "min_replicas": r.autoscaling.min_replicas,
            "max_replicas": r.autoscaling.max_replicas,
            "target_ongoing_requests": r.autoscaling.target_ongoing_requests,
        }
    else:
        options["num_replicas"] = r.replicas or 1
    return options


def _app_name(endpoint: EndpointSpec, spec: VersionSpec) -> str:
    return f"mlpipex.{endpoint.name}.v{spec.version}.{spec.manifest_digest[:12]}"


def run_ray_agent(
    config: AgentConfig,
    host: str,
    port: int,
    *,
    ray_address: str | None = None,
    on_ready: Callable[[Agent], None] | None = None,
) -> None:
    """Serve on Ray until SIGTERM or SIGINT; the agent's port is Serve's HTTP proxy."""
    if port == 0:
        with socket.socket() as s:  # Serve takes a port number, not a bound socket
            s.bind((host, 0))
            port = s.getsockname()[1]
    if not config.url:
        config = replace(config, url=advertised_url(host, port))
    runtime = RayRuntime(config, ray_address)
    agent = Agent(config, runtime)
    runtime.start(host, port)
    if on_ready is not None:
        on_ready(agent)
    asyncio.run(_until_signalled(agent))


async def _until_signalled(agent: Agent) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await agent.run(stop)
