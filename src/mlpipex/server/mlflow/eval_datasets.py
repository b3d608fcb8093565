"""MLflow's evaluation dataset routes (/api/3.0/mlflow/datasets/*): create, get, search,
delete, tags, records (upsert, read, delete) and the experiments a dataset belongs to. Tags,
records, schema and profile travel as JSON text, as in MLflow's messages."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response

from mlpipex.domain.evaluation import DatasetRecord, EvalDataset
from mlpipex.errors import Invalid
from mlpipex.server.deps import global_role
from mlpipex.server.mlflow.wire import Args, Payload, Reg, StrList, ok, parse
from mlpipex.service.tracking import eval_datasets as datasets
from mlpipex.service.tracking import eval_records as records

router = APIRouter(
    prefix="/mlflow/datasets", tags=["mlflow datasets"], dependencies=[global_role("/search")]
)


def dataset_json(d: EvalDataset) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataset_id": d.dataset_id,
        "name": d.name,
        "digest": d.digest,
        "created_time": d.created_time,
        "last_update_time": d.last_update_time,
        "tags": json.dumps(dict(d.tags)),
        "experiment_ids": list(d.experiment_ids),
    }
    for key in ("schema", "profile", "created_by", "last_updated_by"):
        if (value := getattr(d, key)) is not None:
            out[key] = value
    return out


def record_json(r: DatasetRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataset_record_id": r.record_id,
        "dataset_id": r.dataset_id,
        "inputs": json.loads(r.inputs),
        "created_time": r.created_time,
        "last_update_time": r.last_update_time,
        "created_by": r.created_by,
        "last_updated_by": r.last_updated_by,
    }
    for key in ("expectations", "outputs", "tags", "source"):
        if (value := getattr(r, key)) is not None:
            out[key] = json.loads(value)
    return out


def _tags(text: str | None) -> dict[str, str]:
    """MLflow sends a dataset's tags as the JSON text of an object."""
    if not text:
        return {}
    try:
        tags = json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid("tags must be the JSON text of an object") from None
    if not isinstance(tags, dict):
        raise Invalid("tags must be the JSON text of an object")
    for key, value in tags.items():
        if isinstance(value, dict | list):
            raise Invalid(f"tag {key[:80]!r}: a tag's value is a string, number or boolean")
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in tags.items()}


class Create(Args):
    name: str
    experiment_ids: StrList = []
    schema_: str | None = None
    profile: str | None = None
    created_by: str | None = None
    tags: str | None = None


@router.post("/create")
def create(reg: Reg, args: Payload) -> Response:
    a = parse(Create, {**args, "schema_": args.get("schema")})
    made = datasets.create(
        reg, a.name, a.experiment_ids, _tags(a.tags), a.schema_, a.profile, a.created_by
    )
    return ok({"dataset": dataset_json(made)})


class Search(Args):
    experiment_ids: StrList = []
    filter_string: str | None = None
    max_results: int = 1000
    order_by: StrList = []
    page_token: str | None = None


@router.post("/search")
def search(reg: Reg, args: Payload) -> Response:
    a = parse(Search, args)
    page = datasets.search_datasets(
        reg, a.experiment_ids, a.filter_string, a.order_by, a.max_results, a.page_token
    )
    body: dict[str, Any] = {"datasets": [dataset_json(d) for d in page.items]}
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


@router.get("/{dataset_id}")
def get(reg: Reg, dataset_id: str) -> Response:
    return ok({"dataset": dataset_json(datasets.get(reg, dataset_id))})


@router.delete("/{dataset_id}")
def delete(reg: Reg, dataset_id: str) -> Response:
    datasets.delete(reg, dataset_id)
    return ok()


class Tags(Args):
    tags: str


@router.patch("/{dataset_id}/tags")
def set_tags(reg: Reg, dataset_id: str, args: Payload) -> Response:
    """Tags merged into the dataset's."""
    tags = _tags(parse(Tags, args).tags)
    return ok({"dataset": dataset_json(datasets.set_tags(reg, dataset_id, tags))})


@router.delete("/{dataset_id}/tags/{key}")
def delete_tag(reg: Reg, dataset_id: str, key: str) -> Response:
    datasets.delete_tag(reg, dataset_id, key)
    return ok()


@router.get("/{dataset_id}/experiment-ids")
def experiment_ids(reg: Reg, dataset_id: str) -> Response:
    return ok({"experiment_ids": list(datasets.get(reg, dataset_id).experiment_ids)})


class Experiments(Args):
    experiment_ids: StrList = []


@router.post("/{dataset_id}/add-experiments")
def add_experiments(reg: Reg, dataset_id: str, args: Payload) -> Response:
    ids = parse(Experiments, args).experiment_ids
    return ok({"dataset": dataset_json(datasets.add_experiments(reg, dataset_id, ids))})


@router.post("/{dataset_id}/remove-experiments")
def remove_experiments(reg: Reg, dataset_id: str, args: Payload) -> Response:
    ids = parse(Experiments, args).experiment_ids
    return ok({"dataset": dataset_json(datasets.remove_experiments(reg, dataset_id, ids))})


class Upsert(Args):
    records: str
    updated_by: str | None = None


@router.post("/{dataset_id}/records")
def upsert_records(reg: Reg, dataset_id: str, args: Payload) -> Response:
    """Records upserted by their inputs: counts of those inserted and updated."""
    a = parse(Upsert, args)
    done = records.upsert(reg, dataset_id, records.parse_records(a.records), a.updated_by)
    return ok({"inserted_count": done.inserted, "updated_count": done.updated})


class Page(Args):
    max_results: int = 1000
    page_token: str | None = None


@router.get("/{dataset_id}/records")
def get_records(reg: Reg, dataset_id: str, args: Payload) -> Response:
    a = parse(Page, args)
    page = records.get_records(reg, dataset_id, a.max_results, a.page_token)
    body: dict[str, Any] = {"records": json.dumps([record_json(r) for r in page.items])}
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


class RecordIds(Args):
    dataset_record_ids: StrList = []


@router.delete("/{dataset_id}/records")
def delete_records(reg: Reg, dataset_id: str, args: Payload) -> Response:
    ids = parse(RecordIds, args).dataset_record_ids
    return ok({"deleted_count": records.delete_records(reg, dataset_id, ids)})
