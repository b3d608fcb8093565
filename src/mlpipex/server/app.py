"""The app factory: one FastAPI app, stateless over (database, object store)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlpipex import __version__
from mlpipex.config import Settings
from mlpipex.errors import Invalid
from mlpipex.location import resolve
from mlpipex.server import errors
from mlpipex.server.background import loops
from mlpipex.server.deps import ServerState
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
        settings, opened.store, opened.objects, opened.default_policy, opened.secrets
    )


class BodyLimit:
    """Refuse bodies over the limit with 413, before reading them whole (uploads have their own)."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int) -> None:
        self.app, self.max_bytes, self.upload_bytes = app, max_bytes, upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        upload = path.startswith(("/api/v1/objects/", "/api/2.0/mlflow-artifacts/artifacts"))
        limit = self.upload_bytes if upload else self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and int(declared) > limit:
            await _too_large(scope, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(scope, send, limit)


class _TooLarge(Exception):
    pass


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    body: dict[str, object] = {
        "error": {"code": "TOO_LARGE", "message": f"request body over {limit:,} bytes"}
    }
    if scope["path"].startswith("/api/2.0/"):
        body = {"error_code": "INVALID_PARAMETER_VALUE", "message": f"body over {limit:,} bytes"}
    await JSONResponse(body, status_code=413)(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    state = open_state(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        running = loops(state)
        for loop in running:
            loop.start()
        yield
        for loop in running:
            loop.stop()

    app = FastAPI(
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

    auth.install(app)
    for router in routers():
        app.include_router(router)
    app.add_middleware(
        BodyLimit,  # type: ignore[arg-type]
        max_bytes=settings.max_body_mb * 2**20,
        upload_bytes=settings.max_upload_gb * 2**30,
    )
    return app
