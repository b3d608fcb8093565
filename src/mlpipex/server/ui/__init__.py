"""The web UI: server-rendered pages (Jinja2) over the service layer, a little htmx."""

from __future__ import annotations

from types import ModuleType

from fastapi import APIRouter


def ui_modules() -> tuple[ModuleType, ...]:
    """The UI's modules, each with its ``router``."""
    from mlpipex.server.ui import audit, endpoints, models, session, static, tracking

    return (static, session, models, tracking, endpoints, audit)


def ui_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for sub in ui_modules():
        router.include_router(sub.router)
    return router
