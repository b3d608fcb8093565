"""/api/v1/models/{name}/versions: registration of uploaded artifacts, lookups, transitions,
approvals, aliases, tags, lineage."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from mlpipex.domain.api import (
    AliasBody,
    AliasMoved,
    DescriptionBody,
    TagBody,
    TransitionBody,
    VersionCreate,
)
from mlpipex.domain.bounds import VersionNumber
from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import DatasetRef, ModelVersion, Page, TransitionRequest
from mlpipex.server.deps import ModelRead, RegistryDep
from mlpipex.service.registry import aliases, lineage, promote, register, versions

# Every {name} here is a model: ModelRead checks it before any handler.
router = APIRouter(prefix="/api/v1", tags=["versions"], dependencies=[ModelRead])


@router.get("/models/{name}/versions")
def list_versions(
    reg: RegistryDep,
    name: str,
    stage: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    page_token: str | None = None,
) -> Page[ModelVersion]:
    return versions.list_versions(reg, name, limit, page_token, stage)


def _registration(name: str, body: VersionCreate) -> register.Registration:
    files = [FileEntry(f.path, f.digest, f.size) for f in body.files]
    return register.Registration(
        name=name,
        path=None,
        files=files if files or not body.run_id else None,
        run_id=body.run_id,
        commit=body.commit,
        commit_dirty=body.commit_dirty,
        datasets=[DatasetRef(d.name, d.uri, d.digest, d.size, d.stage) for d in body.datasets],
        metrics=body.metrics,
        tags=body.tags,
        description=body.description,
        flavor=body.flavor,
    )


@router.post("/models/{name}/versions", status_code=201)
def create_version(reg: RegistryDep, name: str, body: VersionCreate) -> ModelVersion:
    return register.register_version(reg, _registration(name, body))


@router.post("/models/{name}/versions/check", status_code=204)
def check_version(reg: RegistryDep, name: str, body: VersionCreate) -> Response:
    """Would this registration pass the policy? 400 naming what is missing, as registering
    would (and recorded the same way), so clients ask before uploading an artifact."""
    register.check_registration(reg, _registration(name, body), artifact=False)
    return Response(status_code=204)


@router.get("/resolve")
def resolve(reg: RegistryDep, ref: str = Query(..., max_length=600)) -> ModelVersion:
    """A version by ``NAME/3``, ``NAME@alias``, ``NAME:Stage`` or ``models:/...``."""
    return versions.get_version(reg, ref)


@router.get("/models/{name}/versions/{version}")
def get_version(reg: RegistryDep, name: str, version: VersionNumber) -> ModelVersion:
    return versions.get_version(reg, f"{name}/{version}")


@router.patch("/models/{name}/versions/{version}")
def update_version(
    reg: RegistryDep, name: str, version: VersionNumber, body: DescriptionBody
) -> ModelVersion:
    return versions.update_description(reg, name, version, body.description)


def _transition(r: promote.TransitionResult) -> JSONResponse:
    from fastapi.encoders import jsonable_encoder

    body = {
        "status": r.status,
        "version": r.version,
        "to_stage": r.to_stage,
        "request": r.request,
        "approvals_missing": r.approvals_missing,
        "replaced": r.replaced,
    }
    return JSONResponse(jsonable_encoder(body), status_code=202 if r.status == "pending" else 200)


@router.post(
    "/models/{name}/versions/{version}/transitions",
    responses={202: {"description": "waiting for approvals"}},
)
def transition(
    reg: RegistryDep, name: str, version: VersionNumber, body: TransitionBody
) -> JSONResponse:
    """Promote: 200 done, 202 pending approvals, 400 naming every failed gate."""
    return _transition(promote.promote(reg, name, version, body.to_stage, body.reason))


@router.post(
    "/models/{name}/versions/{version}/approvals",
    responses={202: {"description": "more approvals needed"}},
)
def approve(
    reg: RegistryDep, name: str, version: VersionNumber, body: TransitionBody
) -> JSONResponse:
    return _transition(promote.approve(reg, name, version, body.to_stage, body.reason))


@router.get("/models/{name}/requests")
def requests(
    reg: RegistryDep, name: str, status: str | None = "pending"
) -> list[TransitionRequest]:
    return promote.requests(reg, name, status)


@router.put("/models/{name}/aliases/{alias}")
def set_alias(reg: RegistryDep, name: str, alias: str, body: AliasBody) -> AliasMoved:
    return AliasMoved(previous=aliases.set_alias(reg, name, alias, body.version))


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
def delete_alias(reg: RegistryDep, name: str, alias: str) -> Response:
    aliases.delete_alias(reg, name, alias)
    return Response(status_code=204)


@router.put("/models/{name}/versions/{version}/tags/{key}", status_code=204)
def set_tag(
    reg: RegistryDep, name: str, version: VersionNumber, key: str, body: TagBody
) -> Response:
    versions.set_version_tag(reg, name, version, key, body.value)
    return Response(status_code=204)


@router.delete("/models/{name}/versions/{version}/tags/{key}", status_code=204)
def delete_tag(reg: RegistryDep, name: str, version: VersionNumber, key: str) -> Response:
    versions.delete_version_tag(reg, name, version, key)
    return Response(status_code=204)


@router.get("/models/{name}/versions/{version}/lineage")
def get_lineage(reg: RegistryDep, name: str, version: VersionNumber) -> lineage.Lineage:
    return lineage.lineage(reg, name, version)
