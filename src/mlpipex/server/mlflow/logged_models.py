"""MLflow 3 logged models: create, get, finalize, search, tags, params, delete, and the listing
of their artifact directories."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from mlpipex.server.deps import global_role
from mlpipex.server.mlflow.artifacts import file_response
from mlpipex.server.mlflow.wire import (
    Args,
    KeyValue,
    Payload,
    Reg,
    Root,
    StrList,
    file_infos,
    logged_model,
    ok,
    parse,
)
from mlpipex.service.mlflow import artifacts as mlflow_artifacts
from mlpipex.service.tracking import logged_models

# Tracking has no per-model grants: the global role, checked before any body is parsed.
router = APIRouter(
    prefix="/mlflow/logged-models",
    tags=["mlflow logged models"],
    dependencies=[global_role("/search")],
)


class Create(Args):
    experiment_id: str = "0"
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class Finalize(Args):
    status: str


class Tags(Args):
    tags: list[KeyValue] = []


class Params(Args):
    params: list[KeyValue] = []


class OrderBy(Args):
    field_name: str
    ascending: bool = True


class DatasetFilter(Args):
    dataset_name: str
    dataset_digest: str | None = None


class Search(Args):
    experiment_ids: StrList = []
    filter: str | None = None
    datasets: list[DatasetFilter] = []
    max_results: int = 100
    order_by: list[OrderBy] = []
    page_token: str | None = None


class Listing(Args):
    artifact_directory_path: str = ""


def _one(lm: logged_models.LoggedModel, root: str) -> Response:
    return ok({"model": logged_model(lm, root)})


@router.post("")
def create(reg: Reg, root: Root, args: Payload) -> Response:
    a = parse(Create, args)
    lm = logged_models.create(
        reg,
        a.experiment_id,
        a.name,
        a.model_type,
        a.source_run_id,
        {p.key: p.value for p in a.params},
        {t.key: t.value for t in a.tags},
    )
    return _one(lm, root)


@router.post("/search")
def search(reg: Reg, root: Root, args: Payload) -> Response:
    a = parse(Search, args)
    page = logged_models.search_models(
        reg,
        a.experiment_ids,
        a.filter,
        [(o.field_name, o.ascending) for o in a.order_by],
        a.max_results,
        a.page_token,
        [logged_models.DatasetRef(d.dataset_name, d.dataset_digest) for d in a.datasets],
    )
    body: dict[str, object] = {"models": [logged_model(m, root) for m in page.items]}
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


@router.get("/{model_id}")
def get(reg: Reg, root: Root, model_id: str) -> Response:
    return _one(logged_models.get(reg, model_id), root)


@router.patch("/{model_id}")
def finalize(reg: Reg, root: Root, model_id: str, args: Payload) -> Response:
    return _one(logged_models.finalize(reg, model_id, parse(Finalize, args).status), root)


@router.delete("/{model_id}")
def delete(reg: Reg, model_id: str) -> Response:
    logged_models.delete(reg, model_id)
    return ok()


@router.patch("/{model_id}/tags")
def set_tags(reg: Reg, root: Root, model_id: str, args: Payload) -> Response:
    tags = {t.key: t.value for t in parse(Tags, args).tags}
    return _one(logged_models.set_tags(reg, model_id, tags), root)


@router.delete("/{model_id}/tags/{key:path}")
def delete_tag(reg: Reg, model_id: str, key: str) -> Response:
    logged_models.delete_tag(reg, model_id, key)
    return ok()


@router.post("/{model_id}/params")
def log_params(reg: Reg, model_id: str, args: Payload) -> Response:
    a = parse(Params, args)
    logged_models.log_params(reg, model_id, {p.key: p.value for p in a.params})
    return ok()


@router.get("/{model_id}/artifacts/directories")
def list_artifacts(reg: Reg, root: Root, model_id: str, args: Payload) -> Response:
    lm = logged_models.get(reg, model_id)
    base = mlflow_artifacts.model_dir(lm.experiment_id, lm.id)
    prefix = parse(Listing, args).artifact_directory_path.strip("/")
    listed = mlflow_artifacts.listing(reg, f"{base}/{prefix}" if prefix else base)
    return ok({"root_uri": f"{root}/{base}", "files": file_infos(listed, prefix)})


class ModelFile(Args):
    artifact_file_path: str


@router.get("/{model_id}/artifacts/files")
def model_file(reg: Reg, model_id: str, args: Payload) -> StreamingResponse:
    """A logged model's file by path (what MLflow's UI shows)."""
    path = parse(ModelFile, args).artifact_file_path
    reader, size = mlflow_artifacts.open_model_file(reg, model_id, path)
    return file_response(reader, size, path)
