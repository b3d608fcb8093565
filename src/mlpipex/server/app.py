"""The app factory: one FastAPI app, stateless over (database, object store)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from mlpipex import __version__
from mlpipex.config import Settings
from mlpipex.errors import Invalid
from mlpipex.location import resolve
from mlpipex.server import errors
from mlpipex.server.background import loops
from mlpipex.server.deps import ServerState
from mlpipex.server.direct import Direct
from mlpipex.server.headers import SecurityHeaders
from mlpipex.server.limits import BodyLimit
from mlpipex.server.settings import ServerSettings
from mlpipex.service.context import Actor
from mlpipex.service.open import open_registry


def open_state(settings: ServerSettings) -> ServerState:
    """The server's store, objects, policy and secrets, opened as any registry is."""
    loc = resolve(settings.store, settings.objects)
    if loc.kind == "http":
        raise Invalid("the server's --store must be a database or a folder")
    # model_construct: the server's own settings are the whole truth, nothing more is read.
    opened = open_registry(
        loc,
        Settings.model_construct(
            objects=settings.objects,
            policy=settings.policy,
            secret_key=settings.secret_key,
            allow_private_webhooks=settings.allow_private_webhooks,
        ),
        create=True,
        actor=Actor("mlpipex-server"),
    )
    return ServerState(
        settings, opened.store, opened.objects, opened.policy_of(None), opened.secrets
    )


_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: ServerSettings | None = None, *, freeze_heap: bool = False) -> FastAPI:
    """The app; freeze_heap: at startup, once built and its loops started, keep what is alive
    out of the collector's full scans (``serve_app``, in each process that serves)."""
    settings = settings or ServerSettings()
    state = open_state(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        running = loops(state)
        for loop in running:
            loop.start()
        if freeze_heap:
            # What is alive now (every module, the app, its caches and loops) lives as long as
            # the process; the full scans walked it all and doubled the CPU of a request that
            # makes many objects (log_batch). Not for an app a test builds and drops: what is
            # frozen is never freed.
            gc.collect()
            gc.freeze()
        yield
        for loop in running:
            loop.stop()

    app = FastAPI(
        # FastAPI looks up the global OpenTelemetry providers on every request (three lookups
        # and environment reads, a tenth of the layers' cost) unless told not to
        telemetry=None if settings.telemetry else _NO_TELEMETRY,
        lifespan=lifespan,
        title="MLPipeX control plane",
        version=__version__,
        description="Deployment-first model registry: native API under /api/v1, "
        "MLflow-compatible API under /api/2.0/mlflow.",
    )
    app.state.mlpipex = state
    errors.install(app)
    from mlpipex.server import auth
    from mlpipex.server.api import routers

    included = routers()
    for router in included:
        app.include_router(router)
    # tried before every other route: the calls that need nothing of FastAPI's but their
    # dependencies, found by one lookup (server/direct.py)
    app.router.routes.insert(0, Direct(pair for r in included for pair in getattr(r, "served", ())))
    # Starlette runs the last added outermost: headers, then authentication, then the body
    # limits, so an anonymous caller's body is never read.
    app.add_middleware(
        BodyLimit,  # type: ignore[arg-type]
        max_bytes=settings.max_body_mb * 2**20,
        upload_bytes=settings.max_upload_gb * 2**30,
    )
    auth.install(app)
    app.add_middleware(SecurityHeaders)  # type: ignore[arg-type]
    return app


def serve_app() -> FastAPI:
    """The app as `mlpipex server` runs it: uvicorn's factory, called in the process that
    serves (each worker, with --workers N: they are spawned, not forked, so nothing the
    supervisor did to its own heap reaches them)."""
    return create_app(freeze_heap=True)
