"""The app factory: one FastAPI app, stateless over (database, object store)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from mlpipex import __version__
from mlpipex.errors import Invalid
from mlpipex.location import resolve
from mlpipex.objects import open_store
from mlpipex.server import errors
from mlpipex.server.background import loops
from mlpipex.server.deps import ServerState
from mlpipex.server.headers import SecurityHeaders
from mlpipex.server.limits import BodyLimit
from mlpipex.server.settings import ServerSettings
from mlpipex.service.open import OBJECTS_KEY, load_policy
from mlpipex.service.secrets import SecretBox
from mlpipex.store import Store, registry


def open_state(settings: ServerSettings) -> ServerState:
    loc = resolve(settings.store, settings.objects)
    if loc.kind == "http":
        raise Invalid("the server's --store must be a database or a folder")
    store = Store(loc.url)
    with store.read() as conn:
        recorded = registry.get_setting(conn, OBJECTS_KEY)
    objects_url = settings.objects or recorded or loc.objects
    if objects_url is None:
        raise Invalid("no object store is known for this database", hint="pass --objects URL")
    if recorded is None:
        with store.write() as conn:
            registry.record_setting(conn, OBJECTS_KEY, objects_url)
    key_file = loc.root / "secret.key" if loc.root else None
    return ServerState(
        settings,
        store,
        open_store(objects_url),
        load_policy(settings.policy),
        SecretBox(settings.secret_key, key_file),
    )


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
    app.add_middleware(SecurityHeaders)  # type: ignore[arg-type]
    app.add_middleware(
        BodyLimit,  # type: ignore[arg-type]
        max_bytes=settings.max_body_mb * 2**20,
        upload_bytes=settings.max_upload_gb * 2**30,
    )
    return app
