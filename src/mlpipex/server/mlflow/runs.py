"""MLflow runs: create, get, update, delete, restore, log-metric, log-parameter, set-tag,
delete-tag, log-batch, log-inputs, outputs, search, metric history, artifact listing."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from pydantic import model_validator
from starlette.concurrency import run_in_threadpool

from mlpipex.domain.bounds import Int64, Millis
from mlpipex.errors import Invalid
from mlpipex.server.deps import global_role
from mlpipex.server.mlflow.wire import (
    Args,
    KeyValue,
    Payload,
    Reg,
    Root,
    StrList,
    file_infos,
    number,
    ok,
    parse,
    run,
    run_info,
)
from mlpipex.service.mlflow import artifacts as mlflow_artifacts
from mlpipex.service.mlflow import compat
from mlpipex.service.mlflow import metrics as mlflow_metrics
from mlpipex.service.registry import search
from mlpipex.service.tracking import checks
from mlpipex.service.tracking import runs as tracking
from mlpipex.service.tracking.checks import Metric
from mlpipex.service.tracking.logged_models import ModelMetric

# Tracking has no per-model grants: the global role, checked before any body is parsed.
router = APIRouter(
    prefix="/mlflow", tags=["mlflow runs"], dependencies=[global_role("/runs/search")]
)


class RunArgs(Args):
    """MLflow sends the run's id as run_id, run_uuid (older clients) or both."""

    run_id: str = ""
    run_uuid: str = ""

    @model_validator(mode="after")
    def _one_id(self) -> RunArgs:
        self.run_id = self.run_id or self.run_uuid
        if not self.run_id:
            raise ValueError("Missing value for required parameter 'run_id'.")
        return self


class Create(Args):
    experiment_id: str = "0"
    user_id: str = ""
    run_name: str = ""
    start_time: Millis | None = None
    tags: list[KeyValue] = []


class Update(RunArgs):
    status: str | None = None
    end_time: Millis | None = None
    run_name: str | None = None


class MetricArgs(Args):
    key: str
    value: float
    timestamp: Int64
    step: Int64 = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


def _log_metrics(
    reg: Reg,
    run_id: str,
    metrics: list[MetricArgs],
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """The run's metrics; those logged with a model_id are the logged model's too."""
    compat.log_batch(
        reg,
        run_id,
        [Metric(m.key, m.value, m.timestamp, m.step) for m in metrics],
        params,
        tags,
        [
            ModelMetric(
                m.model_id,
                run_id,
                m.key,
                m.value,
                m.timestamp,
                m.step,
                m.dataset_name,
                m.dataset_digest,
            )
            for m in metrics
            if m.model_id
        ],
    )


class LogMetric(RunArgs, MetricArgs):
    pass


class LogParam(RunArgs):
    key: str
    value: str = ""


class SetTag(RunArgs):
    key: str
    value: str = ""


class DeleteTag(RunArgs):
    key: str


class LogBatch(RunArgs):
    metrics: list[MetricArgs] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class Dataset(Args):
    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema_: str | None = None
    profile: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _schema(cls, data: object) -> object:
        if isinstance(data, dict) and "schema" in data:
            data = {**data, "schema_": data["schema"]}
        return data


class DatasetInput(Args):
    dataset: Dataset
    tags: list[KeyValue] = []


class ModelInput(Args):
    model_id: str


class LogInputs(RunArgs):
    datasets: list[DatasetInput] = []
    models: list[ModelInput] = []


class ModelOutput(Args):
    model_id: str
    step: Int64 = 0


class LogOutputs(RunArgs):
    models: list[ModelOutput] = []


class LogModel(RunArgs):
    model_json: str


class Search(Args):
    experiment_ids: StrList = []
    filter: str | None = None
    run_view_type: str = "ACTIVE_ONLY"
    max_results: int = 1000
    order_by: StrList = []
    page_token: str | None = None


class History(RunArgs):
    metric_key: str
    max_results: int | None = None
    page_token: str | None = None


class ListArtifacts(RunArgs):
    path: str = ""
    page_token: str | None = None


@router.post("/runs/create")
def create(reg: Reg, root: Root, args: Payload) -> Response:
    a = parse(Create, args)
    tags = {t.key: t.value for t in a.tags}
    r = compat.create_run(reg, a.experiment_id, a.run_name or None, a.start_time, tags, a.user_id)
    return ok({"run": run(r, root)})


@router.get("/runs/get")
def get(reg: Reg, root: Root, args: Payload) -> Response:
    return ok({"run": run(compat.get_run(reg, parse(RunArgs, args).run_id), root)})


@router.post("/runs/update")
def update(reg: Reg, root: Root, args: Payload) -> Response:
    a = parse(Update, args)
    r = compat.update_run(reg, a.run_id, a.status, a.end_time, a.run_name)
    return ok({"run_info": run_info(r, root)})


@router.post("/runs/delete")
def delete(reg: Reg, args: Payload) -> Response:
    tracking.delete_run(reg, parse(RunArgs, args).run_id)
    return ok()


@router.post("/runs/restore")
def restore(reg: Reg, args: Payload) -> Response:
    tracking.delete_run(reg, parse(RunArgs, args).run_id, restore=True)
    return ok()


@router.post("/runs/log-metric")
def log_metric(reg: Reg, args: Payload) -> Response:
    a = parse(LogMetric, args)
    _log_metrics(reg, a.run_id, [a])
    return ok()


@router.post("/runs/log-parameter")
def log_param(reg: Reg, args: Payload) -> Response:
    a = parse(LogParam, args)
    tracking.log_batch(reg, a.run_id, params={a.key: a.value})
    return ok()


@router.post("/runs/set-tag")
def set_tag(reg: Reg, args: Payload) -> Response:
    a = parse(SetTag, args)
    compat.log_batch(reg, a.run_id, tags={a.key: a.value})
    return ok()


@router.post("/runs/delete-tag")
def delete_tag(reg: Reg, args: Payload) -> Response:
    a = parse(DeleteTag, args)
    tracking.delete_tag(reg, a.run_id, a.key)
    return ok()


@router.post("/runs/log-batch")
def log_batch(reg: Reg, args: Payload) -> Response:
    a = parse(LogBatch, args)
    params: dict[str, str] = {}
    for p in a.params:
        if params.get(p.key, p.value) != p.value:
            raise Invalid(f"param {p.key!r} is given twice with different values")
        params[p.key] = p.value
    _log_metrics(reg, a.run_id, a.metrics, params=params, tags={t.key: t.value for t in a.tags})
    return ok()


@router.post("/runs/log-inputs")
def log_inputs(reg: Reg, args: Payload) -> Response:
    a = parse(LogInputs, args)
    datasets = [
        compat.MlflowDataset(
            i.dataset.name,
            i.dataset.digest,
            i.dataset.source_type,
            i.dataset.source,
            i.dataset.schema_,
            i.dataset.profile,
            tuple((t.key, t.value) for t in i.tags),
        )
        for i in a.datasets
    ]
    compat.log_inputs(reg, a.run_id, datasets, [m.model_id for m in a.models])
    return ok()


@router.post("/runs/outputs")
def log_outputs(reg: Reg, args: Payload) -> Response:
    a = parse(LogOutputs, args)
    compat.log_outputs(reg, a.run_id, {m.model_id: m.step for m in a.models})
    return ok()


@router.post("/runs/log-model")
def log_model(reg: Reg, args: Payload) -> Response:
    """MLflow 2's record of a logged model: appended to the run's mlflow.log-model.history."""
    a = parse(LogModel, args)
    key = "mlflow.log-model.history"
    history = json.loads(tracking.get_run(reg, a.run_id).tags.get(key, "[]"))
    history.append(json.loads(a.model_json))
    compat.log_batch(reg, a.run_id, tags={key: json.dumps(history)})
    return ok()


@router.post("/runs/search")
def search_runs(reg: Reg, root: Root, args: Payload) -> Response:
    a = parse(Search, args)
    page = compat.search_runs(
        reg, a.experiment_ids, a.filter, a.run_view_type, a.order_by, a.max_results, a.page_token
    )
    body: dict[str, object] = {"runs": [run(r, root) for r in page.items]}
    if page.next_token:
        body["next_page_token"] = page.next_token
    return ok(body)


@router.get("/metrics/get-history")
def history(reg: Reg, args: Payload) -> Response:
    a = parse(History, args)
    found = tracking.metric_history(reg, a.run_id, a.metric_key)
    offset = search.decode_page_token(a.page_token)
    end = offset + a.max_results if a.max_results else len(found)
    body: dict[str, object] = {
        "metrics": [
            {"key": m.key, "value": number(m.value), "timestamp": m.timestamp, "step": m.step}
            for m in found[offset:end]
        ]
    }
    if end < len(found):
        body["next_page_token"] = search.encode_page_token(end)
    return ok(body)


class HistoryBulk(Args):
    run_id: StrList = []
    metric_key: str = ""
    max_results: int = mlflow_metrics.MAX_VALUES


class HistoryInterval(Args):
    run_ids: StrList = []
    metric_key: str = ""
    start_step: int | None = None
    end_step: int | None = None
    max_results: int = mlflow_metrics.MAX_INTERVAL_STEPS


def _with_runs(found: list[tuple[str, Metric]]) -> Response:
    return ok(
        {
            "metrics": [
                {
                    "key": m.key,
                    "value": number(m.value),
                    "timestamp": m.timestamp,
                    "step": m.step,
                    "run_id": run_id,
                }
                for run_id, m in found
            ]
        }
    )


@router.get("/metrics/get-history-bulk")
def history_bulk(reg: Reg, args: Payload) -> Response:
    """One metric's whole history in many runs (MLflow's UI charts)."""
    a = parse(HistoryBulk, args)
    return _with_runs(mlflow_metrics.history_bulk(reg, a.run_id, a.metric_key, a.max_results))


@router.get("/metrics/get-history-bulk-interval")
def history_bulk_interval(reg: Reg, args: Payload) -> Response:
    """One metric's values at evenly spaced steps in many runs (MLflow's UI charts)."""
    a = parse(HistoryInterval, args)
    found = mlflow_metrics.history_bulk_interval(
        reg, a.run_ids, a.metric_key, a.start_step, a.end_step, a.max_results
    )
    return _with_runs(found)


class Upload(Args):
    run_uuid: str = ""
    run_id: str = ""
    path: str | None = None


@router.post("/upload-artifact")
async def upload_artifact(reg: Reg, request: Request) -> Response:
    """A file uploaded into a run from MLflow's UI (the body is the file)."""
    a = parse(Upload, dict(request.query_params))
    if not (a.run_uuid or a.run_id):
        raise Invalid("Request must specify run_uuid.")
    if not a.path:
        raise Invalid("Request must specify path.")
    data = await request.body()
    await run_in_threadpool(
        mlflow_artifacts.upload_to_run, reg, a.run_uuid or a.run_id, a.path, data
    )
    return ok()


@router.get("/artifacts/list")
def list_artifacts(reg: Reg, root: Root, args: Payload) -> Response:
    """A run's artifacts at path, with paths from the run's artifact root (MLflow 1's API)."""
    a = parse(ListArtifacts, args)
    r = tracking.get_run(reg, a.run_id)
    base = mlflow_artifacts.run_dir(r.experiment_id, r.id)
    prefix = checks.check_artifact_path(a.path)
    listed = mlflow_artifacts.listing(reg, f"{base}/{prefix}" if prefix else base)
    return ok({"root_uri": f"{root}/{base}", "files": file_infos(listed, prefix)})
