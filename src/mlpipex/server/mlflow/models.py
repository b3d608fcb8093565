"""MLflow registered models: create, get, rename, update, delete, search, tags, aliases,
latest versions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mlpipex.domain.bounds import VersionNumber
from mlpipex.server.mlflow.wire import (
    Args,
    KeyValue,
    Payload,
    Reg,
    StrList,
    ok,
    parse,
    registered_model,
    version,
)
from mlpipex.service.mlflow import registry as mlflow_registry
from mlpipex.service.registry import aliases, models

router = APIRouter(prefix="/mlflow/registered-models", tags=["mlflow registered models"])


class Name(Args):
    name: str


class Create(Name):
    tags: list[KeyValue] = []
    description: str = ""


class Rename(Name):
    new_name: str


class Update(Name):
    description: str | None = None


class Search(Args):
    filter: str | None = None
    max_results: int = 100
    order_by: StrList = []
    page_token: str | None = None


class Latest(Name):
    stages: StrList = []


class Tag(Name):
    key: str
    value: str = ""


class Alias(Name):
    alias: str


class SetAlias(Alias):
    version: VersionNumber


def _model(reg: Reg, name: str) -> Response:
    return ok({"registered_model": registered_model(mlflow_registry.get_model(reg, name))})


@router.post("/create")
def create(reg: Reg, args: Payload) -> Response:
    a = parse(Create, args)
    models.create_model(reg, a.name, a.description, tags={t.key: t.value for t in a.tags})
    return _model(reg, a.name)


@router.get("/get")
def get(reg: Reg, args: Payload) -> Response:
    return _model(reg, parse(Name, args).name)


@router.post("/rename")
def rename(reg: Reg, args: Payload) -> Response:
    a = parse(Rename, args)
    models.update_model(reg, a.name, new_name=a.new_name)
    return _model(reg, a.new_name)


@router.patch("/update")
def update(reg: Reg, args: Payload) -> Response:
    a = parse(Update, args)
    models.update_model(reg, a.name, description=a.description)
    return _model(reg, a.name)


@router.delete("/delete")
def delete(reg: Reg, args: Payload) -> Response:
    mlflow_registry.delete_model(reg, parse(Name, args).name)
    return ok()


@router.get("/search")
def search(reg: Reg, args: Payload) -> Response:
    a = parse(Search, args)
    page = mlflow_registry.search_models(reg, a.filter, a.order_by, a.max_results, a.page_token)
    body: dict[str, object] = {"registered_models": [registered_model(m) for m in page.items]}
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


@router.get("/get-latest-versions")
@router.post("/get-latest-versions")
def latest(reg: Reg, args: Payload) -> Response:
    a = parse(Latest, args)
    return ok(
        {
            "model_versions": [
                version(v) for v in mlflow_registry.latest_versions(reg, a.name, a.stages)
            ]
        }
    )


@router.post("/set-tag")
def set_tag(reg: Reg, args: Payload) -> Response:
    a = parse(Tag, args)
    models.set_model_tag(reg, a.name, a.key, a.value)
    return ok()


@router.delete("/delete-tag")
def delete_tag(reg: Reg, args: Payload) -> Response:
    a = parse(Tag, args)
    models.delete_model_tag(reg, a.name, a.key)
    return ok()


@router.post("/alias")
def set_alias(reg: Reg, args: Payload) -> Response:
    a = parse(SetAlias, args)
    aliases.set_alias(reg, a.name, a.alias, a.version)
    return ok()


@router.delete("/alias")
def delete_alias(reg: Reg, args: Payload) -> Response:
    a = parse(Alias, args)
    aliases.delete_alias(reg, a.name, a.alias)
    return ok()


@router.get("/alias")
def get_by_alias(reg: Reg, args: Payload) -> Response:
    a = parse(Alias, args)
    return ok({"model_version": version(mlflow_registry.get_by_alias(reg, a.name, a.alias))})
