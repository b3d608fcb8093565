"""MLflow's JSON: request arguments (query and body merged, as MLflow's server reads them) and
response bodies with MLflow's field names (int64 as numbers, times in ms, NaN as "NaN")."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from mlpipex.domain.models import ModelVersion, RegisteredModel
from mlpipex.errors import Invalid
from mlpipex.server import deps
from mlpipex.service.mlflow.artifacts import Listed, model_dir, run_dir
from mlpipex.service.mlflow.compat import MlflowDataset, MlflowRun
from mlpipex.service.mlflow.registry import MlflowModel, MlflowVersion
from mlpipex.service.tracking.logged_models import LoggedModel
from mlpipex.service.tracking.runs import DatasetInput, Experiment
from mlpipex.serving import codec

M = TypeVar("M", bound=BaseModel)


class Args(BaseModel):
    """A request message: unknown fields are ignored, as protobuf's JSON parser does."""

    model_config = ConfigDict(extra="ignore")


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


StrList = Annotated[list[str], BeforeValidator(_listify)]


class KeyValue(Args):
    key: str
    value: str = ""


async def _payload(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    raw = await request.body()
    if raw.strip():
        try:
            body = orjson.loads(raw)  # a batch of 1,000 metrics in under half the time
        except orjson.JSONDecodeError:
            body = _lenient(raw)
        if not isinstance(body, dict):
            raise Invalid("the request body must be a JSON object")
        data.update(body)
    return data


def _lenient(raw: bytes) -> Any:
    """What orjson refuses and Python's parser reads as MLflow's server does: bare NaN and
    Infinity (Python's json.dumps writes them), integers past 64 bits."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        # RecursionError: a body declared as something else (so not walked by the body
        # limits) that nests past the parser's depth
        raise Invalid("the request body is not JSON") from None


Payload = Annotated[dict[str, Any], Depends(_payload)]


def parse(model: type[M], data: dict[str, Any]) -> M:
    """The request message, or refused naming each bad parameter in MLflow's words (its own
    tests match on them)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid("; ".join(_problem(e) for e in exc.errors())) from None


def _problem(e: Any) -> str:
    name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
    if e["type"] == "missing" or e.get("input", "") is None:
        return f"Missing value for required parameter '{name}'."
    if not name:  # a check across fields says it all
        return str(e["msg"]).removeprefix("Value error, ")
    if name == "version" and e["type"] == "int_parsing":  # MLflow words a version its own way
        return f"Parameter 'version' must be an integer, got '{str(e['input'])[:200]}'."
    value = json.dumps(e["input"], default=str)[:200]
    return f"Invalid value {value} for parameter '{name}' supplied: {e['msg']}"


# Async, so that FastAPI runs it on the event loop (see server/deps.py)
async def _root(request: Request) -> str:
    return deps.state(request).settings.default_artifact_root.rstrip("/")


Reg = deps.RegistryDep
Root = Annotated[str, Depends(_root)]


def ok(body: dict[str, Any] | None = None) -> Response:
    # the serving codec (orjson): a page of 50 runs or versions is written in a tenth of the
    # standard library's time; metric values reach here already made JSON-safe by number()
    return Response(codec.dumps(body or {}), media_type="application/json")


def number(v: float) -> float | str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def pairs(items: dict[str, str]) -> list[dict[str, str]]:
    if not items:  # most runs have no params: no comprehension to call
        return []
    return [{"key": k, "value": v} for k, v in items.items()]


def experiment(e: Experiment, root: str) -> dict[str, Any]:
    return {
        "experiment_id": e.id,
        "name": e.name,
        "artifact_location": f"{root}/{e.id}",
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.created_at,
        "last_update_time": e.updated_at,
        "tags": pairs(e.tags),
    }


def run_info(r: Any, root: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": r.id,
        "run_uuid": r.id,
        "run_name": r.name,
        "experiment_id": r.experiment_id,
        "user_id": r.user_id,
        "status": r.status,
        "start_time": r.start_time,
        "artifact_uri": f"{root}/{run_dir(r.experiment_id, r.id)}",
        "lifecycle_stage": r.lifecycle_stage,
    }
    if r.end_time is not None:
        info["end_time"] = r.end_time
    return info


def run(m: MlflowRun, root: str) -> dict[str, Any]:
    # A page is 50 runs, most with no datasets, outputs or models read: a list that would be
    # empty is not built by a comprehension (each is a function call).
    r = m.run
    datasets = [_dataset(d) for d in m.datasets] if m.datasets else []
    if r.inputs:  # inputs logged natively (mlpipex.log_dataset), in MLflow's shape
        sent = {d.name for d in m.datasets}
        datasets += [_native_dataset(i) for i in r.inputs if i.name not in sent]
    metrics = m.metrics
    return {
        "info": run_info(r, root),
        "data": {
            "metrics": [
                {"key": k, "value": number(v), "timestamp": ts, "step": step}
                for k, (v, ts, step) in metrics.items()
            ]
            if metrics
            else [],
            "params": pairs(r.params),
            "tags": pairs(r.tags),
        },
        "inputs": {
            "dataset_inputs": datasets,
            "model_inputs": [{"model_id": i} for i in m.model_inputs] if m.model_inputs else [],
        },
        "outputs": {
            "model_outputs": [{"model_id": i, "step": s} for i, s in m.outputs] if m.outputs else []
        },
    }


def _dataset(d: MlflowDataset) -> dict[str, Any]:
    dataset = {"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source}
    if d.schema:
        dataset["schema"] = d.schema
    if d.profile:
        dataset["profile"] = d.profile
    return {"tags": [{"key": k, "value": v} for k, v in d.tags], "dataset": dataset}


def _native_dataset(i: DatasetInput) -> dict[str, Any]:
    return {
        "tags": [{"key": "mlflow.data.context", "value": i.context}] if i.context else [],
        "dataset": {
            "name": i.name,
            "digest": i.digest,
            "source_type": "mlpipex",
            "source": json.dumps({"uri": i.uri}),
        },
    }


def version(mv: MlflowVersion) -> dict[str, Any]:
    v: ModelVersion = mv.version
    body: dict[str, Any] = {
        "name": v.model,
        "version": str(v.version),
        "creation_timestamp": v.created_at,
        "last_updated_timestamp": mv.last_updated,
        "user_id": v.created_by,
        "current_stage": v.stage,
        "description": v.description,
        "source": mv.source,
        "status": "READY",
        "tags": pairs(v.tags),
        "aliases": list(v.aliases),
    }
    if v.run_id:
        body["run_id"] = v.run_id
    if mv.model_id:
        body["model_id"] = mv.model_id
    return body


def registered_model(mm: MlflowModel) -> dict[str, Any]:
    m: RegisteredModel = mm.model
    return {
        "name": m.name,
        "creation_timestamp": m.created_at,
        "last_updated_timestamp": m.updated_at,
        "description": m.description,
        "latest_versions": [version(v) for v in mm.latest],
        "tags": pairs(m.tags),
        "aliases": [{"alias": a, "version": str(n)} for a, n in sorted(m.aliases.items())],
    }


def logged_model(lm: LoggedModel, root: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": lm.id,
        "experiment_id": lm.experiment_id,
        "name": lm.name,
        "creation_timestamp_ms": lm.created_at,
        "last_updated_timestamp_ms": lm.updated_at,
        "artifact_uri": f"{root}/{model_dir(lm.experiment_id, lm.id)}",
        "status": lm.status,
        "tags": pairs(lm.tags),
    }
    for key, value in (
        ("model_type", lm.model_type),
        ("source_run_id", lm.source_run_id),
        ("status_message", lm.status_message),
    ):
        if value:
            info[key] = value
    metrics = [
        {
            "key": x.key,
            "value": number(x.value),
            "timestamp": x.timestamp,
            "step": x.step,
            "run_id": x.run_id,
            "model_id": x.model_id,
            **({"dataset_name": x.dataset_name} if x.dataset_name else {}),
            **({"dataset_digest": x.dataset_digest} if x.dataset_digest else {}),
        }
        for x in lm.metrics
    ]
    return {"info": info, "data": {"params": pairs(lm.params), "metrics": metrics}}


def file_infos(listed: list[Listed], prefix: str = "") -> list[dict[str, Any]]:
    """FileInfo messages; paths from prefix (the proxy lists names, the run API full paths)."""
    out = []
    for e in listed:
        info: dict[str, Any] = {"path": f"{prefix}/{e.name}" if prefix else e.name}
        info["is_dir"] = e.is_dir
        if e.size is not None:
            info["file_size"] = e.size
        out.append(info)
    return out
