"""/api/v1/models: registered models, their policy and tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from mlpipex.domain.api import ModelCreate, ModelUpdate, PolicyBody, TagBody
from mlpipex.domain.models import Page, RegisteredModel
from mlpipex.server.deps import ModelRead, RegistryDep
from mlpipex.service.registry import models

router = APIRouter(prefix="/api/v1/models", tags=["models"], dependencies=[ModelRead])


@router.get("")
def list_models(
    reg: RegistryDep,
    query: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    page_token: str | None = None,
) -> Page[RegisteredModel]:
    return models.list_models(reg, query, limit, page_token)


@router.post("", status_code=201)
def create_model(reg: RegistryDep, body: ModelCreate) -> RegisteredModel:
    return models.create_model(reg, body.name, body.description, body.policy, body.tags)


@router.get("/{name}")
def get_model(reg: RegistryDep, name: str) -> RegisteredModel:
    return models.get_model(reg, name)


@router.patch("/{name}")
def update_model(reg: RegistryDep, name: str, body: ModelUpdate) -> RegisteredModel:
    return models.update_model(reg, name, description=body.description, new_name=body.new_name)


@router.get("/{name}/stages")
def stage_summary(reg: RegistryDep, name: str) -> dict[str, list[int]]:
    models.get_model(reg, name)
    return models.stage_summary(reg, [name]).get(name, {})


@router.get("/{name}/policy")
def get_policy(reg: RegistryDep, name: str) -> dict[str, Any]:
    return models.effective_policy(reg, name).model_dump(mode="json")


@router.put("/{name}/policy")
def set_policy(reg: RegistryDep, name: str, body: PolicyBody) -> dict[str, Any]:
    return models.set_policy(reg, name, body.policy, body.reason).model_dump(mode="json")


@router.put("/{name}/tags/{key}", status_code=204)
def set_tag(reg: RegistryDep, name: str, key: str, body: TagBody) -> Response:
    models.set_model_tag(reg, name, key, body.value)
    return Response(status_code=204)


@router.delete("/{name}/tags/{key}", status_code=204)
def delete_tag(reg: RegistryDep, name: str, key: str) -> Response:
    models.delete_model_tag(reg, name, key)
    return Response(status_code=204)
