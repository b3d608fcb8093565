"""The shared dependencies run on the event loop: FastAPI runs each sync dependency on its
thread pool, one hop apiece, and a request needs only its handler's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from mlpipex.server import direct as direct_module
from mlpipex.server.direct import Direct


def test_a_request_hops_to_a_thread_once(
    make_app: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = make_app()
    eid = c.post("/api/2.0/mlflow/experiments/create", json={"name": "e"}).json()["experiment_id"]
    assert c.post("/api/v1/models", json={"name": "m"}).status_code in (200, 201)
    hops: list[object] = []

    def counting(hop: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            hops.append(func)
            return await hop(func, *args, **kwargs)

        return counted

    # FastAPI's routes hop through anyio, server/direct.py's through the server's own threads
    monkeypatch.setattr(anyio.to_thread, "run_sync", counting(anyio.to_thread.run_sync))
    monkeypatch.setattr(direct_module, "run_blocking", counting(direct_module.run_blocking))
    direct = c.app.router.routes[0]  # type: ignore[attr-defined]
    assert isinstance(direct, Direct)
    # a tracking search (router-wide role check, the registry, the payload), a native read
    # behind the per-model read check, and a registry call of the MLflow API
    for method, path, body in [
        ("POST", "/api/2.0/mlflow/runs/search", {"experiment_ids": [eid]}),
        ("GET", "/api/v1/models/m", None),
        ("GET", "/api/2.0/mlflow/registered-models/get?name=m", None),
    ]:
        hops.clear()
        assert c.request(method, path, json=body).status_code == 200, path
        funcs = [getattr(h, "func", h) for h in hops]
        ours = [f for f in funcs if getattr(f, "__module__", "").startswith("mlpipex")]
        # no dependency takes a thread of its own: a route server/direct.py calls hops with
        # its handler alone, one FastAPI calls with FastAPI's own wrapper of it
        taken = direct.table.get(path.partition("?")[0], {}).get(method)
        assert ours == ([taken.route.endpoint] if taken else []), (path, hops)
        assert len(hops) <= 2, (path, hops)  # the handler, and FastAPI checking its answer
