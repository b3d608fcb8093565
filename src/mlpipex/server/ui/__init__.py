"""The web UI: server-rendered pages (Jinja2) over the service layer, a little htmx."""

from __future__ import annotations

from fastapi import APIRouter


def ui_router() -> APIRouter:
    from mlpipex.server.ui import audit, endpoints, models, session, static, tracking

    router = APIRouter(include_in_schema=False)
    for sub in (static, session, models, tracking, endpoints, audit):
        router.include_router(sub.router)
    return router
