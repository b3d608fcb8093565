"""MLflow model versions: create (held to the registration policy), get, update, delete,
search, tags, transition-stage (through promote), download URI."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mlpipex.domain.bounds import VersionNumber
from mlpipex.flavors.mlmodel import version_facts
from mlpipex.server.mlflow.wire import (
    Args,
    KeyValue,
    Payload,
    Reg,
    Root,
    StrList,
    ok,
    parse,
    version,
)
from mlpipex.service.mlflow import registry as mlflow_registry
from mlpipex.service.mlflow.artifacts import version_dir
from mlpipex.service.registry import versions

router = APIRouter(prefix="/mlflow/model-versions", tags=["mlflow model versions"])


class Create(Args):
    name: str
    source: str = ""
    run_id: str = ""
    tags: list[KeyValue] = []
    run_link: str = ""
    description: str = ""
    model_id: str = ""


class Ref(Args):
    name: str
    version: VersionNumber


class Update(Ref):
    description: str | None = None


class Search(Args):
    filter: str | None = None
    max_results: int = 10_000
    order_by: StrList = []
    page_token: str | None = None


class Tag(Ref):
    key: str
    value: str = ""


class Transition(Ref):
    stage: str
    archive_existing_versions: bool = False


def _version(reg: Reg, name: str, number: int) -> Response:
    return ok({"model_version": version(mlflow_registry.get_version(reg, name, number))})


@router.post("/create")
def create(reg: Reg, args: Payload) -> Response:
    a = parse(Create, args)
    v = mlflow_registry.create_version(
        reg,
        a.name,
        a.source,
        a.run_id or None,
        {t.key: t.value for t in a.tags},
        a.description,
        a.model_id or None,
        describe=version_facts,
    )
    return ok({"model_version": version(v)})


@router.get("/get")
def get(reg: Reg, args: Payload) -> Response:
    a = parse(Ref, args)
    return _version(reg, a.name, a.version)


@router.patch("/update")
def update(reg: Reg, args: Payload) -> Response:
    a = parse(Update, args)
    reg.require("editor", a.name)  # a write, even when nothing is sent to change
    if a.description is not None:
        mlflow_registry.update_description(reg, a.name, a.version, a.description)
    return _version(reg, a.name, a.version)


@router.delete("/delete")
def delete(reg: Reg, args: Payload) -> Response:
    a = parse(Ref, args)
    mlflow_registry.delete_version(reg, a.name, a.version)
    return ok()


@router.get("/search")
def search(reg: Reg, args: Payload) -> Response:
    a = parse(Search, args)
    page = mlflow_registry.search_versions(reg, a.filter, a.order_by, a.max_results, a.page_token)
    body: dict[str, object] = {"model_versions": [version(v) for v in page.items]}
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


@router.post("/set-tag")
def set_tag(reg: Reg, args: Payload) -> Response:
    a = parse(Tag, args)
    versions.set_version_tag(reg, a.name, a.version, a.key, a.value)
    return ok()


@router.delete("/delete-tag")
def delete_tag(reg: Reg, args: Payload) -> Response:
    a = parse(Tag, args)
    versions.delete_version_tag(reg, a.name, a.version, a.key)
    return ok()


@router.post("/transition-stage")
def transition(reg: Reg, args: Payload) -> Response:
    a = parse(Transition, args)
    v = mlflow_registry.transition(reg, a.name, a.version, a.stage, a.archive_existing_versions)
    return ok({"model_version": version(v)})


@router.get("/get-download-uri")
def download_uri(reg: Reg, root: Root, args: Payload) -> Response:
    """The version's own files (content-addressed, immutable), served by the artifact proxy."""
    a = parse(Ref, args)
    elsewhere = mlflow_registry.external_source(reg, a.name, a.version)
    if elsewhere is not None:  # its files are where its source says, as MLflow answers
        return ok({"artifact_uri": elsewhere})
    return ok({"artifact_uri": f"{root}/{version_dir(a.name, a.version)}"})
