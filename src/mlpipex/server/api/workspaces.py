"""/api/v1/workspaces: the workspaces of a server started with --enable-workspaces, their
quotas, usage and members. A route about one workspace acts in it, with the caller's roles
there; which workspace any other route acts in is the X-MLFLOW-WORKSPACE header's
(server/deps.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from mlpipex.domain.api import (
    Member,
    QuotaBody,
    WorkspaceCreate,
    WorkspaceRoleBody,
    WorkspaceUpdate,
)
from mlpipex.domain.workspaces import Quotas, Usage, Workspace
from mlpipex.server.deps import (
    NamedRegistryDep,
    RegistryDep,
    StateDep,
    visible_workspaces,
    workspaces_enabled,
)
from mlpipex.service.access import workspaces

router = APIRouter(prefix="/api/v1", tags=["workspaces"])


@router.get("/workspaces")
def list_workspaces(request: Request, reg: RegistryDep) -> list[Workspace]:
    return workspaces.list_workspaces(reg, visible_workspaces(request))


@router.post("/workspaces", status_code=201, dependencies=[Depends(workspaces_enabled)])
def create_workspace(reg: RegistryDep, body: WorkspaceCreate) -> Workspace:
    return workspaces.create(reg, body.name, body.description, body.default_artifact_root)


@router.get("/workspaces/{name}")
def get_workspace(reg: NamedRegistryDep, name: str) -> Workspace:
    return workspaces.get(reg, name)


@router.patch("/workspaces/{name}")
def update_workspace(reg: NamedRegistryDep, name: str, body: WorkspaceUpdate) -> Workspace:
    return workspaces.update(
        reg, name, description=body.description, artifact_root=body.default_artifact_root
    )


@router.delete("/workspaces/{name}", status_code=204)
def delete_workspace(reg: NamedRegistryDep, st: StateDep, name: str) -> Response:
    workspaces.delete(reg, name)
    st.forget_workspace(name)
    return Response(status_code=204)


@router.put("/workspaces/{name}/quotas")
def set_quotas(reg: NamedRegistryDep, name: str, body: QuotaBody) -> Workspace:
    quotas = Quotas(body.models, body.versions, body.bytes, body.endpoints)
    return workspaces.set_quotas(reg, name, quotas)


@router.get("/workspaces/{name}/usage")
def usage(reg: NamedRegistryDep, name: str) -> Usage:
    return workspaces.usage(reg, name)


@router.get("/workspaces/{name}/members")
def members(reg: NamedRegistryDep, name: str) -> list[Member]:
    return [Member(user=u, role=r) for u, r in workspaces.members(reg, name)]


@router.put("/workspaces/{name}/members/{user}")
def set_member(
    reg: NamedRegistryDep, name: str, user: str, body: WorkspaceRoleBody
) -> list[Member]:
    return [Member(user=u, role=r) for u, r in workspaces.set_role(reg, name, user, body.role)]
