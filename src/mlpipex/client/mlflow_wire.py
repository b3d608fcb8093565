"""The MLflow-compatible API as the remote backend speaks it: its error bodies raised again as
MLPipeX errors, and its experiment and run JSON read back into the local client's values.

MLflow's run has no commit, dirty flag, entry point or parent fields: they travel as the tags
MLflow uses for them (and ``mlpipex.git.dirty``) and are read back into ``Run``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import httpx

from mlpipex.client.http import Http
from mlpipex.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Invalid,
    MLPipeXError,
    NotFound,
    Unauthorized,
    Unavailable,
)
from mlpipex.service.tracking.runs import DatasetInput, Experiment, Run

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
COMMIT_TAG = "mlflow.source.git.commit"
SOURCE_TAG = "mlflow.source.name"
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
DIRTY_TAG = "mlpipex.git.dirty"
CONTEXT_TAG = "mlflow.data.context"
_CARRIERS = (COMMIT_TAG, SOURCE_TAG, PARENT_TAG, RUN_NAME_TAG, DIRTY_TAG)
VIEWS = {"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}
_ERRORS: dict[str, type[MLPipeXError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFound,
    "RESOURCE_ALREADY_EXISTS": AlreadyExists,
    "INVALID_PARAMETER_VALUE": Invalid,
    "INVALID_STATE": Conflict,
    "PERMISSION_DENIED": Forbidden,
    "UNAUTHENTICATED": Unauthorized,
}


class MlflowHttp(Http):
    """The remote client's connection, reading MLflow's ``{"error_code", "message"}`` errors:
    the one place they become MLPipeX errors again."""

    @classmethod
    def sharing(cls, http: Http) -> MlflowHttp:
        """The same connection (credentials, pool), closed with it."""
        twin = cls.__new__(cls)
        twin.__dict__.update(http.__dict__)
        return twin

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.request(method, path, **kw)
        if r.status_code >= 400:
            raise _error(r)
        return r.json() if r.content else {}


def _error(r: httpx.Response) -> MLPipeXError:
    try:
        body = r.json()
        code, message = str(body["error_code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        return Unavailable(
            f"{r.request.method} {r.request.url.path}: HTTP {r.status_code} {r.text[:200]}"
        )
    return _ERRORS.get(code, MLPipeXError)(message)


def pairs(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def number(v: float) -> float | str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def experiment(d: Mapping[str, Any]) -> Experiment:
    return Experiment(
        str(d["experiment_id"]),
        d["name"],
        d.get("lifecycle_stage", "active"),
        int(d.get("creation_time", 0)),
        int(d.get("last_update_time", 0)),
        {t["key"]: t.get("value", "") for t in d.get("tags", [])},
    )


def run(d: Mapping[str, Any]) -> Run:
    info, data = d["info"], d.get("data", {})
    tags = {t["key"]: t.get("value", "") for t in data.get("tags", [])}
    end = info.get("end_time")
    return Run(
        id=info["run_id"],
        experiment_id=str(info["experiment_id"]),
        name=info.get("run_name") or tags.get(RUN_NAME_TAG, ""),
        status=info["status"],
        lifecycle_stage=info.get("lifecycle_stage", "active"),
        user_id=info.get("user_id", ""),
        start_time=int(info["start_time"]),
        end_time=int(end) if end is not None else None,
        parent_id=tags.get(PARENT_TAG) or None,
        commit=tags.get(COMMIT_TAG) or None,
        commit_dirty=tags.get(DIRTY_TAG) == "true",
        entry_point=tags.get(SOURCE_TAG) or None,
        params={p["key"]: p.get("value", "") for p in data.get("params", [])},
        metrics={m["key"]: float(m["value"]) for m in data.get("metrics", [])},
        tags={k: v for k, v in tags.items() if k not in _CARRIERS},
        inputs=tuple(_input(i) for i in d.get("inputs", {}).get("dataset_inputs", [])),
    )


def _input(i: Mapping[str, Any]) -> DatasetInput:
    """A dataset input back as the local client records it: what ``log_dataset`` packed into
    MLflow's source, schema and profile is unpacked again."""
    ds = i["dataset"]
    context = next((t.get("value") for t in i.get("tags", []) if t["key"] == CONTEXT_TAG), None)
    source = _json(ds.get("source"))
    schema = _json(ds.get("schema"))
    profile = _json(ds.get("profile"))
    uri = source.get("uri") if isinstance(source, dict) else None
    size = source.get("size") if isinstance(source, dict) else None
    rows = profile.get("num_rows") if isinstance(profile, dict) else None
    return DatasetInput(
        ds["name"],
        uri if isinstance(uri, str) else str(ds.get("source", "")),
        ds["digest"],
        size if isinstance(size, int) else None,
        schema if ds.get("source_type") == "mlpipex" and isinstance(schema, dict) else None,
        rows if isinstance(rows, int) else None,
        context,
    )


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) and text else None
    except ValueError:
        return None


def dataset_input(ds: DatasetInput) -> dict[str, Any]:
    """ds as MLflow's log-inputs item: what MLflow has no field for (the URI, size, schema, row
    count) packed into its source, schema and profile, as ``_input`` unpacks them."""
    dataset: dict[str, Any] = {
        "name": ds.name,
        "digest": ds.digest,
        "source_type": "mlpipex",
        "source": json.dumps({"uri": ds.uri, "size": ds.size}),
        "profile": json.dumps({"num_rows": ds.num_rows}),
    }
    if ds.schema is not None:
        dataset["schema"] = json.dumps(ds.schema)
    tags = [{"key": CONTEXT_TAG, "value": ds.context}] if ds.context else []
    return {"dataset": dataset, "tags": tags}
