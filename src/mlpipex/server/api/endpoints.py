"""/api/v1/endpoints (specs, status, rollback) and /api/v1/agent (what agents pull and report)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from mlpipex.domain.bounds import Millis, Seconds
from mlpipex.server.deps import RegistryDep
from mlpipex.service.deploy import endpoints

router = APIRouter(prefix="/api/v1", tags=["endpoints"])


@router.get("/endpoints")
def list_endpoints(reg: RegistryDep) -> list[dict[str, Any]]:
    return [s.to_json() for s in endpoints.list_endpoints(reg)]


@router.put("/endpoints")
def apply(reg: RegistryDep, spec: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Create or update an endpoint from its spec (the YAML of `mlpipex endpoint apply`)."""
    return endpoints.apply(reg, spec).to_json()


@router.get("/endpoints/{name}")
def status(reg: RegistryDep, name: str) -> dict[str, Any]:
    return endpoints.get_status(reg, name).to_json()


@router.get("/endpoints/{name}/deployments")
def deployments(
    reg: RegistryDep, name: str, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> list[dict[str, Any]]:
    return [d.to_json() for d in endpoints.history(reg, name, limit)]


@router.get("/endpoints/{name}/timeseries")
def timeseries(
    reg: RegistryDep, name: str, since_ms: Millis = 0, bucket_s: Seconds = 10
) -> list[dict[str, Any]]:
    return [b.to_json() for b in endpoints.timeseries(reg, name, since_ms, max(1, bucket_s))]


@router.post("/endpoints/{name}/rollback")
def rollback(reg: RegistryDep, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return endpoints.rollback(reg, name, str((body or {}).get("reason", ""))).to_json()


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
    return [a.to_json() for a in endpoints.agents(reg)]
