"""Sections turn requests away by their path's start: every route must still be reached, and a
request elsewhere must be refused without trying the section's routes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends, FastAPI
from starlette.routing import Match

from mlpipex.server import ServerSettings, create_app
from mlpipex.server.sections import Section


def _scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method.upper(), "path": path, "root_path": "", "headers": []}


def test_every_route_of_the_schema_is_reached(tmp_path: Path) -> None:
    app = create_app(ServerSettings(store=str(tmp_path / ".mlpipex")))
    operations = [
        (method, re.sub(r"\{[^}]*\}", "x", path))
        for path, item in app.openapi()["paths"].items()
        for method in item
    ]
    # the ajax-api twins and the UI are served but not documented
    twins = [(m, "/ajax-api" + p[4:]) for m, p in operations if p.startswith("/api/2.0/mlflow")]
    assert len(twins) > 50
    pages = [("get", "/"), ("get", "/ui/audit"), ("post", "/ui/login")]
    for method, path in [*operations, *twins, *pages]:
        scope = _scope(method, path)
        assert any(r.matches(scope)[0] is Match.FULL for r in app.router.routes), (method, path)


def test_a_section_refuses_other_paths_without_trying_its_routes() -> None:
    router = APIRouter(prefix="/mlflow/things")

    @router.get("/{name}/get")
    def get(name: str) -> str:
        return name

    section = Section(router, "/api/2.0")
    assert section.starts == ("/api/2.0/mlflow/things/",)
    app = FastAPI()
    app.include_router(section)
    (included,) = (r for r in app.router.routes if getattr(r, "original_router", None) is section)

    def match(method: str, path: str) -> Match:
        return included.matches(_scope(method, path))[0]

    assert match("get", "/api/2.0/mlflow/things/a/get") is Match.FULL
    assert match("post", "/api/2.0/mlflow/things/a/get") is Match.PARTIAL
    router.routes[0].matches = None  # type: ignore[method-assign]  # tried, it would raise
    assert match("get", "/api/2.0/mlflow/other/a/get") is Match.NONE
    with pytest.raises(TypeError):
        match("get", "/api/2.0/mlflow/things/b/get")


def test_a_section_holds_plain_routes_only() -> None:
    inner, outer = APIRouter(), APIRouter()

    @inner.get("/a")
    def a() -> None: ...

    outer.include_router(inner)
    with pytest.raises(TypeError, match="plain routes"):
        Section(outer)


def test_a_section_refuses_dependencies_given_at_inclusion() -> None:
    # server/direct.py calls a route with the dependencies the route holds: ones added when the
    # router is included would be skipped there, so they go on the router
    async def check() -> None:
        return None

    with pytest.raises(TypeError, match="belong on its router"):
        Section(APIRouter(), "/p", dependencies=[Depends(check)])
