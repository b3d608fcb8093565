"""/api/v1/endpoints (specs, status, rollback) and /api/v1/agent (what agents pull and report)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from mlpipex.domain.bounds import Millis, Seconds
from mlpipex.server.deps import RegistryDep
from mlpipex.service import endpoints

router = APIRouter(prefix="/api/v1", tags=["endpoints"])


@router.get("/endpoints")
def list_endpoints(reg: RegistryDep) -> list[dict[str, Any]]:
    return endpoints.list_endpoints(reg)


@router.put("/endpoints")
def apply(reg: RegistryDep, spec: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Create or update an endpoint from its spec (the YAML of `mlpipex endpoint apply`)."""
    return endpoints.apply(reg, spec)


@router.get("/endpoints/{name}")
def status(reg: RegistryDep, name: str) -> dict[str, Any]:
    return endpoints.get_status(reg, name)


@router.get("/endpoints/{name}/deployments")
def deployments(
    reg: RegistryDep, name: str, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> list[dict[str, Any]]:
    return endpoints.history(reg, name, limit)


@router.get("/endpoints/{name}/timeseries")
def timeseries(
    reg: RegistryDep, name: str, since_ms: Millis = 0, bucket_s: Seconds = 10
) -> list[dict[str, Any]]:
    return endpoints.timeseries(reg, name, since_ms, bucket_s)


@router.post("/endpoints/{name}/rollback")
def rollback(reg: RegistryDep, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return endpoints.rollback(reg, name, str((body or {}).get("reason", "")))


@router.delete("/endpoints/{name}", status_code=204)
def delete(reg: RegistryDep, name: str) -> Response:
    endpoints.delete(reg, name)
    return Response(status_code=204)


@router.get("/agent/desired")
def desired(reg: RegistryDep, agent: str | None = None) -> dict[str, Any]:
    return endpoints.desired(reg)


@router.post("/agent/report")
def report(reg: RegistryDep, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    endpoints.report(reg, body)
    return {"generation": endpoints.desired(reg)["generation"]}


@router.get("/agents")
def agents(reg: RegistryDep) -> list[dict[str, Any]]:
    return endpoints.agents(reg)
