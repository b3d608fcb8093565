"""The tracking half of ``Client``: experiments, runs, params, metrics, tags, artifacts and
datasets, with MLflow's method names. Git and the entry point are read here, by the caller."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlpipex.client.datasets import describe_file, write_frame
from mlpipex.client.datasets import resolve as resolve_dataset
from mlpipex.client.gitinfo import detect_commit
from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import Page
from mlpipex.errors import NotFound
from mlpipex.service.context import Registry, now_ms
from mlpipex.service.tracking import runs as tracking
from mlpipex.service.tracking.runs import DatasetInput, Experiment, Metric, Run

ExperimentsArg = str | int | Sequence[str | int]


class TrackingMethods:
    """Mixed into ``Client``, which provides ``_registry``."""

    def _registry(self, create: bool = False) -> Registry:
        raise NotImplementedError

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        """Create an experiment; returns its id (as MLflow)."""
        return tracking.create_experiment(self._registry(True), name, tags).id

    def get_experiment(self, experiment_id: str) -> Experiment:
        return tracking.get_experiment(self._registry(), experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return tracking.get_experiment_by_name(self._registry(), name)

    def set_experiment(self, name: str | None = None) -> Experiment:
        """The experiment named name (Default when None), created when missing."""
        return tracking.ensure_experiment(self._registry(True), name)

    def search_experiments(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        return tracking.search_experiments(
            self._registry(True), filter_string, max_results, page_token
        )

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
        """Start a run (status RUNNING) recording the git commit, dirty flag and entry point;
        experiment_id None means the Default experiment, created on first use."""
        reg = self._registry(True)
        if experiment_id is None or str(experiment_id) == "0":
            experiment_id = tracking.ensure_experiment(reg, None).id
        commit, dirty, entry = provenance(commit, entry_point)
        return tracking.create_run(
            reg,
            tracking.NewRun(
                experiment_id=experiment_id,
                name=run_name,
                tags=dict(tags or {}),
                parent_id=parent_run_id,
                commit=commit,
                commit_dirty=dirty,
                entry_point=entry,
                start_time=start_time,
            ),
        )

    def get_run(self, run_id: str) -> Run:
        return tracking.get_run(self._registry(), run_id)

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> Run:
        """End a run: FINISHED, FAILED or KILLED."""
        return tracking.end_run(self._registry(), run_id, status, end_time)

    def resume_run(self, run_id: str) -> Run:
        """Mark an ended run RUNNING again, to log more to it."""
        return tracking.set_status(self._registry(), run_id, "RUNNING")

    def delete_run(self, run_id: str) -> None:
        tracking.delete_run(self._registry(), run_id)

    def restore_run(self, run_id: str) -> None:
        tracking.delete_run(self._registry(), run_id, restore=True)

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
        """Runs of experiments (ids or names) matching MLflow's filter grammar, e.g.
        ``metrics.auc > 0.9 and params.model = 'rf'``; newest first unless order_by says."""
        reg = self._registry(True)
        ids = [self._experiment_id(reg, e) for e in _as_list(experiments)]
        return tracking.search_runs(
            reg,
            ids,
            filter if filter is not None else filter_string,
            order_by,
            max_results,
            page_token,
            run_view_type,
        )

    def _experiment_id(self, reg: Registry, ref: str | int) -> str:
        if isinstance(ref, int) or ref.isdigit():
            return str(ref)
        exp = tracking.get_experiment_by_name(reg, ref)
        if exp is None:
            raise NotFound(
                f"experiment {ref!r} does not exist", hint="see `mlpipex experiments list`"
            )
        return exp.id

    # -- params, metrics, tags -----------------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        tracking.log_batch(self._registry(), run_id, params={key: value})
        return value

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        tracking.log_batch(self._registry(), run_id, params=params)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        metric = Metric(key, value, timestamp if timestamp is not None else now_ms(), step or 0)
        tracking.log_batch(self._registry(), run_id, [metric])

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        ts = timestamp if timestamp is not None else now_ms()
        tracking.log_batch(
            self._registry(), run_id, [Metric(k, v, ts, step or 0) for k, v in metrics.items()]
        )

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Everything in one transaction, or nothing when any item is invalid."""
        tracking.log_batch(self._registry(), run_id, metrics, params, tags)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        tracking.log_batch(self._registry(), run_id, tags={key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        tracking.log_batch(self._registry(), run_id, tags=tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        tracking.delete_tag(self._registry(), run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return tracking.metric_history(self._registry(), run_id, key)

    # -- artifacts and datasets ----------------------------------------------------------------
    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileEntry]:
        """Store a file as ARTIFACT_PATH/NAME (or a directory's files under ARTIFACT_PATH)."""
        return tracking.log_artifacts(
            self._registry(), run_id, Path(local_path), artifact_path or ""
        )

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileEntry]:
        return self.log_artifact(run_id, local_dir, artifact_path)

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileEntry]:
        return tracking.list_artifacts(self._registry(), run_id, path)

    def log_dataset(
        self, run_id: str, name: str, data: Any, context: str | None = None
    ) -> DatasetInput:
        """Record a dataset the run read: a path (file, directory, pointer file or
        ``URI#digest``) is hashed where it is; a DataFrame is written as Parquet and stored
        with the run (``datasets/NAME.parquet``). Digest, size, schema and row count are kept."""
        reg = self._registry(True)
        tracking.check_key("dataset", name)
        if isinstance(data, (str, os.PathLike)):
            ref = resolve_dataset(name, os.fspath(data), Path.cwd())
            local = Path(os.fspath(data)) if "://" not in os.fspath(data) else None
            schema, rows = describe_file(local) if local is not None else (None, None)
            ds = DatasetInput(name, ref.uri, ref.digest, ref.size, schema, rows, context)
        else:
            with tempfile.TemporaryDirectory(prefix="mlpipex-dataset-") as tmp:
                path = Path(tmp) / f"{name.replace('/', '_')}.parquet"
                schema, rows = write_frame(data, path, name)
                entry = tracking.log_artifacts(reg, run_id, path, "datasets")[0]
            ds = DatasetInput(
                name,
                f"runs:/{run_id}/{entry.path}",
                f"blake3:{entry.digest}",
                entry.size,
                schema,
                rows,
                context,
            )
        tracking.log_input(reg, run_id, ds)
        return ds


def _as_list(experiments: ExperimentsArg) -> list[str | int]:
    if isinstance(experiments, (str, int)):
        return [experiments]
    return list(experiments)


def provenance(commit: str | None, entry_point: str | None) -> tuple[str | None, bool, str | None]:
    """(commit, dirty, entry point) of a new run: given values, else read from git and argv."""
    entry = entry_point if entry_point is not None else _entry_point()
    dirty = False
    if commit is None:
        found = detect_commit(Path.cwd(), *([Path(entry).resolve()] if entry else []))
        if found:
            commit, dirty = found
    return commit, dirty, entry


def _entry_point() -> str | None:
    """The script being run, as MLflow's source name; None in an interactive session."""
    main = sys.argv[0] if sys.argv and sys.argv[0] else ""
    return main if main and main != "-c" else None
