"""The tracking half of ``Client``: experiments, runs, params, metrics, tags, artifacts and
datasets, with MLflow's method names. Git, the entry point and datasets are read here, by the
caller, whichever backend records them."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.client.datasets import describe_file, write_frame
from mlpipex.client.datasets import resolve as resolve_dataset
from mlpipex.client.gitinfo import detect_commit
from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import Page
from mlpipex.errors import NotFound
from mlpipex.service.context import now_ms
from mlpipex.service.tracking import checks
from mlpipex.service.tracking.checks import Metric
from mlpipex.service.tracking.runs import DatasetInput, Experiment, NewRun, Run

if TYPE_CHECKING:
    from mlpipex.client.backend import Backend, ExperimentRef

ExperimentsArg = str | int | Sequence[str | int]


class TrackingMethods:
    """Mixed into ``Client``, which holds the backend."""

    _backend: Backend

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        """Create an experiment; returns its id (as MLflow)."""
        return self._backend.create_experiment(name, tags or {})

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._backend.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._backend.get_experiment_by_name(name)

    def set_experiment(self, name: str | None = None) -> Experiment:
        """The experiment named name (Default when None), created when missing."""
        return self._backend.set_experiment(name)

    def search_experiments(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        return self._backend.search_experiments(filter_string, max_results, page_token)

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
        commit, dirty, entry = provenance(commit, entry_point)
        return self._backend.create_run(
            NewRun(
                experiment_id=experiment_id if experiment_id is not None else "0",
                name=run_name,
                tags=dict(tags or {}),
                parent_id=parent_run_id,
                commit=commit,
                commit_dirty=dirty,
                entry_point=entry,
                start_time=start_time,
            )
        )

    def get_run(self, run_id: str) -> Run:
        return self._backend.get_run(run_id)

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> Run:
        """End a run: FINISHED, FAILED or KILLED."""
        return self._backend.set_terminated(run_id, status, end_time)

    def resume_run(self, run_id: str) -> Run:
        """Mark an ended run RUNNING again, to log more to it."""
        return self._backend.resume_run(run_id)

    def delete_run(self, run_id: str) -> None:
        self._backend.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._backend.restore_run(run_id)

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
        refs = [experiments] if isinstance(experiments, (str, int)) else list(experiments)
        return self._backend.search_runs(
            refs,
            filter if filter is not None else filter_string,
            order_by,
            max_results,
            page_token,
            run_view_type,
        )

    # -- params, metrics, tags: one batch each -------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self._backend.log_batch(run_id, (), {key: value}, None)
        return value

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._backend.log_batch(run_id, (), params, None)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        self.log_metrics(run_id, {key: value}, step, timestamp)

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        ts = timestamp if timestamp is not None else now_ms()
        rows = [Metric(k, v, ts, step or 0) for k, v in metrics.items()]
        self._backend.log_batch(run_id, rows, None, None)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Everything in one transaction, or nothing when any item is invalid."""
        self._backend.log_batch(run_id, metrics, params, tags)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self._backend.log_batch(run_id, (), None, {key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._backend.log_batch(run_id, (), None, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._backend.delete_tag(run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._backend.get_metric_history(run_id, key)

    # -- artifacts and datasets ----------------------------------------------------------------
    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileEntry]:
        """Store a file as ARTIFACT_PATH/NAME (or a directory's files under ARTIFACT_PATH)."""
        return self._backend.log_artifacts(run_id, Path(local_path), artifact_path or "")

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileEntry]:
        return self.log_artifact(run_id, local_dir, artifact_path)

    def list_artifacts(self, run_id: str, path: str = "") -> list[FileEntry]:
        return self._backend.list_artifacts(run_id, path)

    def log_dataset(
        self, run_id: str, name: str, data: Any, context: str | None = None
    ) -> DatasetInput:
        """Record a dataset the run read: a path (file, directory, pointer file or
        ``URI#digest``) is hashed where it is; a DataFrame is written as Parquet and stored
        with the run (``datasets/NAME.parquet``). Digest, size, schema and row count are kept."""
        checks.check_key("dataset", name)
        if isinstance(data, (str, os.PathLike)):
            ref = resolve_dataset(name, os.fspath(data), Path.cwd())
            local = Path(os.fspath(data)) if "://" not in os.fspath(data) else None
            schema, rows = describe_file(local) if local is not None else (None, None)
            ds = DatasetInput(name, ref.uri, ref.digest, ref.size, schema, rows, context)
        else:
            with tempfile.TemporaryDirectory(prefix="mlpipex-dataset-") as tmp:
                path = Path(tmp) / f"{name.replace('/', '_')}.parquet"
                schema, rows = write_frame(data, path, name)
                entry = self._backend.log_artifacts(run_id, path, "datasets")[0]
            ds = DatasetInput(
                name,
                f"runs:/{run_id}/{entry.path}",
                f"blake3:{entry.digest}",
                entry.size,
                schema,
                rows,
                context,
            )
        self._backend.log_input(run_id, ds)
        return ds


def experiment_ids(
    refs: Sequence[ExperimentRef], by_name: Callable[[str], Experiment | None]
) -> list[str]:
    """Experiment ids of refs (ids, or names looked up with by_name)."""
    out = []
    for ref in refs:
        if isinstance(ref, int) or ref.isdigit():
            out.append(str(ref))
            continue
        exp = by_name(ref)
        if exp is None:
            raise NotFound(
                f"experiment {ref!r} does not exist", hint="see `mlpipex experiments list`"
            )
        out.append(exp.id)
    return out


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
