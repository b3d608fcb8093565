"""The tracking half of ``RemoteBackend``: experiments, runs, params, metrics, tags, artifacts and
dataset inputs over the server's MLflow-compatible API (artifact listings with digests over the
native one), returning the same values and errors as the local backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlpipex.client import mlflow_wire as mw
from mlpipex.client.backend import ExperimentRef
from mlpipex.client.http import Http, file_body
from mlpipex.client.tracking import experiment_ids
from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import Page
from mlpipex.errors import AlreadyExists, Invalid, NotFound
from mlpipex.objects.manifest import hash_tree, list_files
from mlpipex.service.tracking import checks
from mlpipex.service.tracking.checks import Metric
from mlpipex.service.tracking.runs import DatasetInput, Experiment, NewRun, Run
from mlpipex.store.tracking.runs import DEFAULT_EXPERIMENT


class RemoteTracking:
    """Mixed into ``RemoteBackend``, which provides ``http``."""

    http: Http

    @property
    def _mlflow(self) -> mw.MlflowHttp:
        found = self.__dict__.get("_mlflow_http")
        if found is None:
            found = self.__dict__["_mlflow_http"] = mw.MlflowHttp.sharing(self.http)
        return found

    def _get(self, path: str, **params: Any) -> Any:
        return self._mlflow.call("GET", f"{mw.API}/{path}", params=params)

    def _post(self, path: str, **body: Any) -> Any:
        return self._mlflow.call("POST", f"{mw.API}/{path}", json=body)

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, str]) -> str:
        body = self._post("experiments/create", name=name, tags=mw.pairs(tags))
        return str(body["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        body = self._get("experiments/get", experiment_id=experiment_id)
        return mw.experiment(body["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            body = self._get("experiments/get-by-name", experiment_name=name)
        except NotFound:
            return None
        return mw.experiment(body["experiment"])

    def set_experiment(self, name: str | None) -> Experiment:
        name = name or DEFAULT_EXPERIMENT
        found = self.get_experiment_by_name(name)
        if found is not None:
            return found
        try:
            return self.get_experiment(self.create_experiment(name, {}))
        except AlreadyExists:  # made by another client meanwhile
            made = self.get_experiment_by_name(name)
            if made is None:
                raise
            return made

    def search_experiments(
        self, filter_string: str | None, max_results: int, page_token: str | None
    ) -> Page[Experiment]:
        body = self._post(
            "experiments/search",
            filter=filter_string,
            max_results=max_results,
            page_token=page_token,
        )
        items = [mw.experiment(e) for e in body.get("experiments", [])]
        return Page(items, body.get("next_page_token"))

    # -- runs ----------------------------------------------------------------------------------
    def create_run(self, new: NewRun) -> Run:
        """Git, the entry point and the parent travel as the tags MLflow uses for them."""
        sent = dict(checks.check_tags(new.tags))
        if new.parent_id is not None:
            try:
                self.get_run(new.parent_id)
            except NotFound:
                raise NotFound(f"parent run {new.parent_id!r} does not exist") from None
            sent[mw.PARENT_TAG] = new.parent_id
        if new.commit:
            sent[mw.COMMIT_TAG] = new.commit
        if new.commit_dirty:
            sent[mw.DIRTY_TAG] = "true"
        if new.entry_point:
            sent[mw.SOURCE_TAG] = new.entry_point
        body = self._post(
            "runs/create",
            experiment_id=str(new.experiment_id),
            run_name=new.name or "",
            start_time=new.start_time,
            tags=mw.pairs(sent),
        )
        return mw.run(body["run"])

    def get_run(self, run_id: str) -> Run:
        return mw.run(self._get("runs/get", run_id=run_id)["run"])

    def set_terminated(self, run_id: str, status: str, end_time: int | None) -> Run:
        if status not in checks.STATUSES or status in ("RUNNING", "SCHEDULED"):
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
        experiments: Sequence[ExperimentRef],
        filter_string: str | None,
        order_by: Sequence[str] | None,
        max_results: int,
        page_token: str | None,
        run_view_type: str,
    ) -> Page[Run]:
        view = mw.VIEWS.get(run_view_type)
        if view is None:
            raise Invalid(f"run view {run_view_type!r} is not active, deleted or all")
        body = self._post(
            "runs/search",
            experiment_ids=experiment_ids(experiments, self.get_experiment_by_name),
            filter=filter_string,
            order_by=list(order_by or []),
            max_results=max_results,
            page_token=page_token,
            run_view_type=view,
        )
        return Page([mw.run(r) for r in body.get("runs", [])], body.get("next_page_token"))

    # -- params, metrics, tags -----------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Mapping[str, Any] | None,
        tags: Mapping[str, Any] | None,
    ) -> None:
        """One request, applied in one transaction by the server."""
        rows = checks.check_metrics(metrics)  # numpy scalars become floats
        self._post(
            "runs/log-batch",
            run_id=run_id,
            metrics=[
                {"key": k, "value": mw.number(v), "timestamp": ts, "step": step}
                for k, v, ts, step in rows
            ],
            params=mw.pairs(checks.check_params(params or {})),
            tags=mw.pairs(checks.check_tags(tags or {})),
        )

    def delete_tag(self, run_id: str, key: str) -> None:
        self._post("runs/delete-tag", run_id=run_id, key=key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        body = self._get("metrics/get-history", run_id=run_id, metric_key=key)
        return [
            Metric(m["key"], float(m["value"]), int(m["timestamp"]), int(m.get("step", 0)))
            for m in body.get("metrics", [])
        ]

    # -- artifacts and dataset inputs ----------------------------------------------------------
    def log_artifacts(self, run_id: str, local: Path, artifact_path: str) -> list[FileEntry]:
        """Hashed here, streamed through the server's artifact proxy into the run."""
        prefix = checks.check_artifact_path(artifact_path)
        run = self.get_run(run_id)
        if run.lifecycle_stage != "active":
            raise Invalid(f"run {run_id} is deleted; restore it before logging to it")
        manifest = hash_tree(local)
        paths = dict(list_files(local))
        base = f"{mw.PROXY}/{run.experiment_id}/{run.id}/artifacts"
        out = []
        for f in manifest.files:
            rel = f"{prefix}/{f.path}" if prefix else f.path
            self._mlflow.call(
                "PUT", f"{base}/{quote(rel)}", **file_body(paths[f.path]), timeout=None
            )
            out.append(FileEntry(rel, f.digest, f.size))
        return out

    def list_artifacts(self, run_id: str, path: str) -> list[FileEntry]:
        rows = self.http.call(
            "GET",
            f"/api/v1/runs/{quote(run_id, safe='')}/artifacts",
            params={"path": checks.check_artifact_path(path)},
        )
        return [FileEntry(r["path"], r["digest"], int(r["size"])) for r in rows]

    def log_input(self, run_id: str, dataset: DatasetInput) -> None:
        self._post("runs/log-inputs", run_id=run_id, datasets=[mw.dataset_input(dataset)])
