"""The web UI: server-rendered pages (Jinja2) over the service layer, a little htmx."""

from __future__ import annotations

from types import ModuleType

from fastapi import APIRouter

from mlpipex.server.sections import sections


def ui_modules() -> tuple[ModuleType, ...]:
    """The UI's modules, each with its ``router``."""
    from mlpipex.server.ui import audit, endpoints, models, session, static, tracking

    return (static, session, models, tracking, endpoints, audit)


def ui_routers() -> list[APIRouter]:
    return sections([sub.router for sub in ui_modules()], include_in_schema=False)
