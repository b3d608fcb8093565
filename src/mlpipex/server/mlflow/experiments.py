"""MLflow experiments: create, get, get-by-name, search, update, delete, restore, tags."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mlpipex.server.deps import global_role
from mlpipex.server.mlflow.wire import (
    Args,
    KeyValue,
    Payload,
    Reg,
    Root,
    StrList,
    experiment,
    ok,
    parse,
)
from mlpipex.service.mlflow import compat

# Tracking has no per-model grants: the global role, checked before any body is parsed.
router = APIRouter(
    prefix="/mlflow/experiments",
    tags=["mlflow experiments"],
    dependencies=[global_role("/search", "/search-datasets")],
)


class Create(Args):
    name: str
    artifact_location: str = ""
    tags: list[KeyValue] = []


class ById(Args):
    experiment_id: str


class ByName(Args):
    experiment_name: str


class Search(Args):
    max_results: int = 1000
    page_token: str | None = None
    filter: str | None = None
    order_by: StrList = []
    view_type: str = "ACTIVE_ONLY"


class Update(Args):
    experiment_id: str
    new_name: str


class Tag(Args):
    experiment_id: str
    key: str
    value: str = ""


@router.post("/create")
def create(reg: Reg, args: Payload) -> Response:
    a = parse(Create, args)
    e = compat.create_experiment(reg, a.name, {t.key: t.value for t in a.tags}, a.artifact_location)
    return ok({"experiment_id": e.id})


@router.get("/get")
def get(reg: Reg, root: Root, args: Payload) -> Response:
    e = compat.get_experiment(reg, parse(ById, args).experiment_id)
    return ok({"experiment": experiment(e, root)})


@router.get("/get-by-name")
def get_by_name(reg: Reg, root: Root, args: Payload) -> Response:
    e = compat.get_experiment_by_name(reg, parse(ByName, args).experiment_name)
    return ok({"experiment": experiment(e, root)})


@router.get("/search")
@router.post("/search")
def search(reg: Reg, root: Root, args: Payload) -> Response:
    a = parse(Search, args)
    page = compat.search_experiments(
        reg, a.filter, a.view_type, a.order_by, a.max_results, a.page_token
    )
    body: dict[str, object] = {"experiments": [experiment(e, root) for e in page.items]}
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


@router.post("/update")
def update(reg: Reg, args: Payload) -> Response:
    a = parse(Update, args)
    compat.rename_experiment(reg, a.experiment_id, a.new_name)
    return ok()


@router.post("/delete")
def delete(reg: Reg, args: Payload) -> Response:
    compat.set_experiment_deleted(reg, parse(ById, args).experiment_id, True)
    return ok()


@router.post("/restore")
def restore(reg: Reg, args: Payload) -> Response:
    compat.set_experiment_deleted(reg, parse(ById, args).experiment_id, False)
    return ok()


@router.post("/set-experiment-tag")
def set_tag(reg: Reg, args: Payload) -> Response:
    a = parse(Tag, args)
    compat.set_experiment_tag(reg, a.experiment_id, a.key, a.value)
    return ok()


@router.post("/delete-experiment-tag")
def delete_tag(reg: Reg, args: Payload) -> Response:
    a = parse(Tag, args)
    compat.delete_experiment_tag(reg, a.experiment_id, a.key)
    return ok()


class Datasets(Args):
    experiment_ids: StrList = []


@router.post("/search-datasets")
def search_datasets(reg: Reg, args: Payload) -> Response:
    """The datasets the experiments' runs logged (MLflow's UI lists them)."""
    found = compat.dataset_summaries(reg, parse(Datasets, args).experiment_ids)
    summaries = []
    for s in found:
        item = {"experiment_id": s.experiment_id, "name": s.name, "digest": s.digest}
        if s.context is not None:
            item["context"] = s.context
        summaries.append(item)
    return ok({"dataset_summaries": summaries})
