"""server/direct.py: the hot routes are found by one lookup and answer exactly as FastAPI's
routing would; what it cannot call so is left to FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient

from mlpipex.server.direct import Direct

CALLS: list[str] = []


# at module level: the annotations are strings FastAPI resolves in the module's globals
async def counted(request: Request) -> str:
    CALLS.append(request.url.path)
    return "x"


async def twice(request: Request, v: Annotated[str, Depends(counted)]) -> str:
    return v * 2


async def yields(request: Request) -> AsyncIterator[str]:
    yield "y"


def test_only_routes_it_can_call_without_fastapi_are_taken() -> None:
    r = APIRouter(prefix="/r")

    @r.get("/plain")
    def plain(
        request: Request, a: Annotated[str, Depends(counted)], b: Annotated[str, Depends(twice)]
    ) -> Response:
        return Response(a + b + request.url.path)

    @r.get("/query")
    def query(q: int) -> Response:
        return Response(str(q))

    @r.get("/path/{p}")
    def path(p: str) -> Response:
        return Response(p)

    @r.get("/async")
    async def asynchronous() -> Response:
        return Response("a")

    @r.get("/undeclared")
    def undeclared():  # type: ignore[no-untyped-def]
        return {"a": 1}

    @r.get("/yield")
    def yielded(v: Annotated[str, Depends(yields)]) -> Response:
        return Response(v)

    direct = Direct(("/p", route) for route in r.routes)  # type: ignore[misc]
    assert set(direct.table) == {"/p/r/plain", "/p/r/async"}
    app = FastAPI()
    app.include_router(r, prefix="/p")
    app.router.routes.insert(0, direct)
    c = TestClient(app)
    assert c.get("/p/r/plain").text == "xxx/p/r/plain"
    assert CALLS == ["/p/r/plain"]  # one call a request, though two parameters depend on it
    # the rest answer through FastAPI, with its own validation and errors
    assert c.get("/p/r/query?q=3").text == "3"
    assert c.get("/p/r/query?q=z").status_code == 422
    assert c.get("/p/r/path/z").text == "z"
    assert c.get("/p/r/async").text == "a"
    assert c.get("/p/r/undeclared").json() == {"a": 1}
    assert c.post("/p/r/plain").status_code == 405


def _answers(c: TestClient, eid: str) -> list[tuple[int, str]]:
    requests: list[tuple[str, str, object]] = [
        ("GET", "/api/2.0/mlflow/registered-models/get?name=m", None),
        ("GET", "/api/2.0/mlflow/registered-models/get?name=nope", None),
        ("GET", "/api/2.0/mlflow/registered-models/get", None),
        ("GET", "/ajax-api/2.0/mlflow/model-versions/get?name=m&version=x", None),
        ("POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": [eid], "max_results": -1}),
        ("POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": [eid]}),
        ("POST", "/api/2.0/mlflow/registered-models/get", None),  # a method not served
        ("POST", "/api/2.0/mlflow/experiments/create", [1]),
        ("GET", "/api/2.0/mlflow/experiments/get?experiment_id=123456", None),
        ("GET", "/version", None),
    ]
    out = []
    for method, path, body in requests:
        r = c.request(method, path, json=body)
        out.append((r.status_code, r.text))
    return out


def test_the_mlflow_api_answers_alike_with_and_without_it(
    make_app: Callable[..., TestClient],
) -> None:
    c = make_app(policy="permissive")
    app = c.app
    assert isinstance(app, FastAPI)
    direct = app.router.routes[0]
    assert isinstance(direct, Direct)
    assert "/api/2.0/mlflow/runs/search" in direct.table
    assert "/ajax-api/2.0/mlflow/runs/search" in direct.table
    eid = c.post("/api/2.0/mlflow/experiments/create", json={"name": "e"}).json()["experiment_id"]
    assert c.post("/api/2.0/mlflow/registered-models/create", json={"name": "m"}).status_code == 200
    with_direct = _answers(c, eid)
    app.router.routes.remove(direct)
    try:
        without = _answers(c, eid)
    finally:
        app.router.routes.insert(0, direct)
    assert with_direct == without
    statuses = [s for s, _ in with_direct]
    assert statuses == [200, 404, 400, 400, 400, 200, 405, 400, 404, 200]


def test_a_refusal_from_a_route_it_takes_carries_the_security_headers(
    make_app: Callable[..., TestClient],
) -> None:
    c = make_app()
    path = "/api/2.0/mlflow/model-versions/set-tag"
    assert path in c.app.router.routes[0].table  # type: ignore[attr-defined]
    r = c.post(path, json={"name": "none-such", "version": "1", "key": "k", "value": "v"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
