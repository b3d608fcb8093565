"""MLflow 3's workspace routes (``mlflow.create_workspace``, ``list_workspaces``, ...), over the
same service as /api/v1/workspaces. Like ``mlflow server``, they answer FEATURE_DISABLED on a
server started without --enable-workspaces."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from mlpipex.domain.workspaces import Workspace
from mlpipex.errors import Invalid
from mlpipex.server import deps
from mlpipex.server.mlflow.wire import Args, Payload, Reg, ok, parse
from mlpipex.service.access import workspaces

router = APIRouter(
    prefix="/mlflow/workspaces",
    tags=["mlflow workspaces"],
    dependencies=[Depends(deps.workspaces_enabled)],
)


class Create(Args):
    name: str
    description: str = ""
    default_artifact_root: str | None = None


class Update(Args):
    description: str | None = None
    default_artifact_root: str | None = None


def _wire(w: Workspace) -> dict[str, object]:
    out: dict[str, object] = {"name": w.name, "description": w.description}
    if w.default_artifact_root is not None:
        out["default_artifact_root"] = w.default_artifact_root
    return out


@router.get("")
def list_workspaces(request: Request, reg: Reg) -> Response:
    found = workspaces.list_workspaces(reg, deps.visible_workspaces(request))
    return ok({"workspaces": [_wire(w) for w in found]})


@router.post("")
def create(reg: Reg, args: Payload) -> Response:
    a = parse(Create, args)
    w = workspaces.create(reg, a.name, a.description, a.default_artifact_root)
    response = ok({"workspace": _wire(w)})
    response.status_code = 201
    return response


@router.get("/{name}")
def get(reg: Reg, name: str) -> Response:
    return ok({"workspace": _wire(workspaces.get(reg, name))})


@router.patch("/{name}")
def update(reg: Reg, name: str, args: Payload) -> Response:
    a = parse(Update, args)
    w = workspaces.update(
        reg, name, description=a.description, artifact_root=a.default_artifact_root
    )
    return ok({"workspace": _wire(w)})


@router.delete("/{name}")
def delete(request: Request, reg: Reg, name: str, mode: str = "RESTRICT") -> Response:
    if mode.upper() != "RESTRICT":
        raise Invalid(
            f"deletion mode {mode[:40]!r} is not supported",
            hint="empty the workspace first; it is deleted only when it holds nothing (RESTRICT)",
        )
    workspaces.delete(reg, name)
    deps.state(request).forget_workspace(name)
    return Response(status_code=204)
