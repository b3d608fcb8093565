"""The tracking half of ``RemoteClient``: runs, params, metrics, tags, artifacts, datasets and
logged models over the server's MLflow-compatible API (registration over the native one, so a
refusal comes back with its reasons), returning the same values and errors as the local client.

MLflow's run has no commit, dirty flag, entry point or parent fields: they travel as the tags
MLflow uses for them (and ``mlpipex.git.dirty``) and are read back into ``Run``."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from mlpipex.client.datasets import describe_file, write_frame
from mlpipex.client.datasets import resolve as resolve_dataset
from mlpipex.client.http import CHUNK, Http
from mlpipex.client.models import ModelInfo, _relative, package_tags, parse_runs_uri
from mlpipex.client.tracking import ExperimentsArg, _as_list, provenance
from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import ModelVersion, Page
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
from mlpipex.objects.manifest import hash_tree, list_files
from mlpipex.service.context import now_ms
from mlpipex.service.tracking import runs as tracking
from mlpipex.service.tracking.runs import DatasetInput, Experiment, Metric, Run
from mlpipex.store.tracking.runs import DEFAULT_EXPERIMENT

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
COMMIT_TAG = "mlflow.source.git.commit"
SOURCE_TAG = "mlflow.source.name"
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
DIRTY_TAG = "mlpipex.git.dirty"
CONTEXT_TAG = "mlflow.data.context"
_CARRIERS = (COMMIT_TAG, SOURCE_TAG, PARENT_TAG, RUN_NAME_TAG, DIRTY_TAG)
_VIEWS = {"active": "ACTIVE_ONLY", "deleted": "DELETED_ONLY", "all": "ALL"}
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
        try:
            r = self._client.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"cannot reach {self.base}: {exc}", hint="is `mlpipex server` running there?"
            ) from exc
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


class RemoteTrackingMethods:
    """Mixed into ``RemoteClient`` ahead of ``Client``, which provides ``http``."""

    http: Http
    cache_dir: Path

    @property
    def _mlflow(self) -> MlflowHttp:
        found = self.__dict__.get("_mlflow_http")
        if found is None:
            found = self.__dict__["_mlflow_http"] = MlflowHttp.sharing(self.http)
        return found

    def _get(self, path: str, **params: Any) -> Any:
        return self._mlflow.call("GET", f"{API}/{path}", params=params)

    def _post(self, path: str, **body: Any) -> Any:
        return self._mlflow.call("POST", f"{API}/{path}", json=body)

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        body = self._post("experiments/create", name=name, tags=_pairs(tags or {}))
        return str(body["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return _experiment(self._get("experiments/get", experiment_id=experiment_id)["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            body = self._get("experiments/get-by-name", experiment_name=name)
        except NotFound:
            return None
        return _experiment(body["experiment"])

    def set_experiment(self, name: str | None = None) -> Experiment:
        name = name or DEFAULT_EXPERIMENT
        found = self.get_experiment_by_name(name)
        if found is not None:
            return found
        try:
            return self.get_experiment(self.create_experiment(name))
        except AlreadyExists:  # made by another client meanwhile
            made = self.get_experiment_by_name(name)
            if made is None:
                raise
            return made

    def search_experiments(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        body = self._post(
            "experiments/search",
            filter=filter_string,
            max_results=max_results,
            page_token=page_token,
        )
        items = [_experiment(e) for e in body.get("experiments", [])]
        return Page(items, body.get("next_page_token"))

    # -- runs ----------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str | None = None,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
        commit: str | None = None,
        entry_point: str | None = None,
    ) -> Run:
        """As the local client: git and the entry point are read here and sent as tags."""
        sent = dict(tracking.check_tags(tags or {}))
        commit, dirty, entry = provenance(commit, entry_point)
        if parent_run_id is not None:
            try:
                self.get_run(parent_run_id)
            except NotFound:
                raise NotFound(f"parent run {parent_run_id!r} does not exist") from None
            sent[PARENT_TAG] = parent_run_id
        if commit:
            sent[COMMIT_TAG] = commit
        if dirty:
            sent[DIRTY_TAG] = "true"
        if entry:
            sent[SOURCE_TAG] = entry
        body = self._post(
            "runs/create",
            experiment_id=str(experiment_id) if experiment_id is not None else "0",
            run_name=run_name or "",
            start_time=start_time,
            tags=_pairs(sent),
        )
        return _run(body["run"])

    def get_run(self, run_id: str) -> Run:
        return _run(self._get("runs/get", run_id=run_id)["run"])

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> Run:
        if status not in tracking.STATUSES or status in ("RUNNING", "SCHEDULED"):
            raise Invalid(
                f"run status {status!r} does not end a run", hint="use FINISHED, FAILED or KILLED"
            )
        self._post("runs/update", run_id=run_id, status=status, end_time=end_time)
        return self.get_run(run_id)

    def resume_run(self, run_id: str) -> Run:
        self._post("runs/update", run_id=run_id, status="RUNNING")
        return self.get_run(run_id)

    def delete_run(self, run_id: str) -> None:
        self._post("runs/delete", run_id=run_id)

    def restore_run(self, run_id: str) -> None:
        self._post("runs/restore", run_id=run_id)

    def search_runs(
        self,
        experiments: ExperimentsArg,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        *,
        filter_string: str | None = None,
        run_view_type: str = "active",
    ) -> Page[Run]:
        view = _VIEWS.get(run_view_type)
        if view is None:
            raise Invalid(f"run view {run_view_type!r} is not active, deleted or all")
        body = self._post(
            "runs/search",
            experiment_ids=[self._experiment_ref(e) for e in _as_list(experiments)],
            filter=filter if filter is not None else filter_string,
            order_by=list(order_by or []),
            max_results=max_results,
            page_token=page_token,
            run_view_type=view,
        )
        return Page([_run(r) for r in body.get("runs", [])], body.get("next_page_token"))

    def _experiment_ref(self, ref: str | int) -> str:
        if isinstance(ref, int) or ref.isdigit():
            return str(ref)
        exp = self.get_experiment_by_name(ref)
        if exp is None:
            raise NotFound(
                f"experiment {ref!r} does not exist", hint="see `mlpipex experiments list`"
            )
        return exp.id

    # -- params, metrics, tags -----------------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self.log_batch(run_id, params={key: value})
        return value

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.log_batch(run_id, params=params)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        ts = timestamp if timestamp is not None else now_ms()
        self.log_batch(run_id, [Metric(key, value, ts, step or 0)])

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        ts = timestamp if timestamp is not None else now_ms()
        self.log_batch(run_id, [Metric(k, v, ts, step or 0) for k, v in metrics.items()])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """One request, applied in one transaction by the server."""
        rows = [tracking.check_metric(m) for m in metrics]  # numpy scalars become floats
        self._post(
            "runs/log-batch",
            run_id=run_id,
            metrics=[
                {"key": k, "value": _number(v), "timestamp": ts, "step": step}
                for k, v, ts, step in rows
            ],
            params=_pairs(tracking.check_params(params or {})),
            tags=_pairs(tracking.check_tags(tags or {})),
        )

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags={key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.log_batch(run_id, tags=tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._post("runs/delete-tag", run_id=run_id, key=key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        body = self._get("metrics/get-history", run_id=run_id, metric_key=key)
        return [
            Metric(m["key"], float(m["value"]), int(m["timestamp"]), int(m.get("step", 0)))
            for m in body.get("metrics", [])
        ]

    # -- artifacts -----------------------------------------------------------------------------
    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileEntry]:
        """Hashed here, streamed through the server's artifact proxy into the run."""
        prefix = tracking.check_artifact_path(artifact_path or "")
        run = self.get_run(run_id)
        if run.lifecycle_stage != "active":
            raise Invalid(f"run {run_id} is deleted; restore it before logging to it")
        return self._upload_tree(run, Path(local_path), prefix)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileEntry]:
        return self.log_artifact(run_id, local_dir, artifact_path)

    def _upload_tree(self, run: Run, local: Path, prefix: str) -> list[FileEntry]:
        manifest = hash_tree(local)
        paths = dict(list_files(local))
        base = f"{PROXY}/{run.experiment_id}/{run.id}/artifacts"
        out = []
        for f in manifest.files:
            rel = f"{prefix}/{f.path}" if prefix else f.path
            self._mlflow.call(
                "PUT",
                f"{base}/{quote(rel)}",
                content=_chunks(paths[f.path]),
                headers={
                    "Content-Length": str(f.size),
                    "Content-Type": "application/octet-stream",
                },
                timeout=None,
            )
            out.append(FileEntry(rel, f.digest, f.size))
        return out

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileEntry]:
        rows = self.http.call(
            "GET",
            f"/api/v1/runs/{quote(run_id, safe='')}/artifacts",
            params={"path": tracking.check_artifact_path(path)},
        )
        return [FileEntry(r["path"], r["digest"], int(r["size"])) for r in rows]

    # -- datasets ------------------------------------------------------------------------------
    def log_dataset(
        self, run_id: str, name: str, data: Any, context: str | None = None
    ) -> DatasetInput:
        """As the local client: a path is hashed here; a DataFrame is written as Parquet and
        stored with the run (``datasets/NAME.parquet``); then sent through log-inputs."""
        tracking.check_key("dataset", name)
        if isinstance(data, (str, os.PathLike)):
            ref = resolve_dataset(name, os.fspath(data), Path.cwd())
            local = Path(os.fspath(data)) if "://" not in os.fspath(data) else None
            schema, rows = describe_file(local) if local is not None else (None, None)
            ds = DatasetInput(name, ref.uri, ref.digest, ref.size, schema, rows, context)
        else:
            run = self.get_run(run_id)
            with tempfile.TemporaryDirectory(prefix="mlpipex-dataset-") as tmp:
                path = Path(tmp) / f"{name.replace('/', '_')}.parquet"
                schema, rows = write_frame(data, path, name)
                entry = self._upload_tree(run, path, "datasets")[0]
            ds = DatasetInput(
                name,
                f"runs:/{run_id}/{entry.path}",
                f"blake3:{entry.digest}",
                entry.size,
                schema,
                rows,
                context,
            )
        dataset: dict[str, Any] = {
            "name": ds.name,
            "digest": ds.digest,
            "source_type": "mlpipex",
            "source": json.dumps({"uri": ds.uri, "size": ds.size}),
            "profile": json.dumps({"num_rows": ds.num_rows}),
        }
        if ds.schema is not None:
            dataset["schema"] = json.dumps(ds.schema)
        tags = [{"key": CONTEXT_TAG, "value": context}] if context else []
        self._post("runs/log-inputs", run_id=run_id, datasets=[{"dataset": dataset, "tags": tags}])
        return ds

    # -- models --------------------------------------------------------------------------------
    def log_model(
        self,
        run_id: str,
        model: Any = None,
        artifact_path: str = "model",
        *,
        registered_model_name: str | None = None,
        python_model: str | Path | None = None,
        artifacts: Mapping[str, str | Path] | None = None,
        input_example: Any = None,
        reference_data: Any = None,
        allow_pickle: bool = False,
        pip_requirements: Sequence[str] | None = None,
        flavor: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelInfo:
        """As the local client; a registration is checked before anything is uploaded, then
        made over the native API from the uploaded files, inheriting from the run."""
        from mlpipex import flavors

        prefix = tracking.check_artifact_path(artifact_path)
        if not prefix:
            raise Invalid("artifact_path must name a folder of the run, such as 'model'")
        run = self.get_run(run_id)
        with tempfile.TemporaryDirectory(prefix="mlpipex-model-") as tmp:
            pkg = Path(tmp) / "model"
            info = flavors.save_model(
                pkg,
                model,
                python_model=python_model,
                artifacts=artifacts,
                input_example=input_example,
                reference_data=reference_data,
                allow_pickle=allow_pickle,
                pip_requirements=pip_requirements,
                flavor=flavor,
            )
            body: dict[str, Any] | None = None
            target = ""
            if registered_model_name is not None:
                target = f"/api/v1/models/{quote(registered_model_name, safe='')}/versions"
                body = {
                    "run_id": run_id,
                    "flavor": info.flavor,
                    "tags": package_tags(info, tags),
                    # the run's dirty flag is not on the server's run: sent as the run has it
                    "commit": run.commit,
                    "commit_dirty": run.commit_dirty,
                }
                self.http.call("POST", f"{target}/check", json=body)
            files = self._upload_tree(run, pkg, prefix)
        version = None
        if body is not None:
            body["files"] = [
                {"path": f.path, "digest": f.digest, "size": f.size}
                for f in _relative(files, prefix)
            ]
            from mlpipex.client import wire

            version = wire.version(self.http.call("POST", target, json=body))
        return ModelInfo(
            run_id, prefix, info.flavor, info.signature, info.pickle, tuple(files), version
        )

    def _register_run_artifacts(self, uri: str, name: str, **fields: Any) -> ModelVersion:
        """Register the files under runs:/RUN_ID/PATH (already on the server) as a version."""
        from mlpipex.client import wire
        from mlpipex.client.models import ModelMethods

        run_id, path = parse_runs_uri(uri)
        files = _relative(self.list_artifacts(run_id, path), path)
        if not files:
            raise NotFound(
                f"run {run_id} has no artifacts under {path or '/'!r}",
                hint="log the model with log_model first",
            )
        info = ModelMethods._package_facts(self, files)  # type: ignore[arg-type]
        refs = fields.pop("datasets", [])
        body = {
            "run_id": run_id,
            "files": [{"path": f.path, "digest": f.digest, "size": f.size} for f in files],
            "flavor": fields.pop("flavor", None) or (info.flavor if info else None),
            "tags": package_tags(info, fields.pop("tags", None)),
            "datasets": [
                {"name": d.name, "uri": d.uri, "digest": d.digest, "size": d.size, "stage": d.stage}
                for d in refs
            ],
            **fields,
        }
        target = f"/api/v1/models/{quote(name, safe='')}/versions"
        return wire.version(self.http.call("POST", target, json=body))

    def materialize(self, files: Sequence[FileEntry]) -> Path:
        raise NotImplementedError  # RemoteClient's, downloading verified objects

    def load_model(self, model_uri: str | os.PathLike[str], *, allow_pickle: bool = False) -> Any:
        """``runs:/RUN_ID/PATH`` from the run's files on the server, verified; the rest as
        the client it is mixed into."""
        from mlpipex import flavors
        from mlpipex.client.models import ModelMethods

        uri = os.fspath(model_uri)
        if uri.startswith("runs:/"):
            run_id, path = parse_runs_uri(uri)
            files = _relative(self.list_artifacts(run_id, path), path)
            if not files:
                raise NotFound(f"run {run_id} has no artifacts under {path or '/'!r}")
            return flavors.load_model(self.materialize(files), allow_pickle=allow_pickle)
        return ModelMethods.load_model(self, uri, allow_pickle=allow_pickle)  # type: ignore[arg-type]


# -- MLflow's JSON -----------------------------------------------------------------------------


def _pairs(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def _number(v: float) -> float | str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _experiment(d: Mapping[str, Any]) -> Experiment:
    return Experiment(
        str(d["experiment_id"]),
        d["name"],
        d.get("lifecycle_stage", "active"),
        int(d.get("creation_time", 0)),
        int(d.get("last_update_time", 0)),
        {t["key"]: t.get("value", "") for t in d.get("tags", [])},
    )


def _run(d: Mapping[str, Any]) -> Run:
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
