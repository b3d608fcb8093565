"""The tracking half of ``LocalBackend``: experiments, runs, metrics, artifacts and dataset
inputs as calls to ``service/tracking``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlpipex.client.backend import ExperimentRef
from mlpipex.client.tracking import experiment_ids
from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.models import Page
from mlpipex.service.context import Registry
from mlpipex.service.tracking import runs as tracking
from mlpipex.service.tracking.checks import Metric
from mlpipex.service.tracking.runs import DatasetInput, Experiment, NewRun, Run


class LocalTracking:
    """Mixed into ``LocalBackend``, which opens the registry."""

    def open(self, create: bool = False) -> Registry:
        raise NotImplementedError

    def create_experiment(self, name: str, tags: Mapping[str, str]) -> str:
        return tracking.create_experiment(self.open(True), name, tags).id

    def get_experiment(self, experiment_id: str) -> Experiment:
        return tracking.get_experiment(self.open(), experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return tracking.get_experiment_by_name(self.open(), name)

    def set_experiment(self, name: str | None) -> Experiment:
        return tracking.ensure_experiment(self.open(True), name)

    def search_experiments(
        self, filter_string: str | None, max_results: int, page_token: str | None
    ) -> Page[Experiment]:
        return tracking.search_experiments(self.open(True), filter_string, max_results, page_token)

    def create_run(self, new: NewRun) -> Run:
        reg = self.open(True)
        if str(new.experiment_id) == "0":
            new = replace(new, experiment_id=tracking.ensure_experiment(reg, None).id)
        return tracking.create_run(reg, new)

    def get_run(self, run_id: str) -> Run:
        return tracking.get_run(self.open(), run_id)

    def set_terminated(self, run_id: str, status: str, end_time: int | None) -> Run:
        return tracking.end_run(self.open(), run_id, status, end_time)

    def resume_run(self, run_id: str) -> Run:
        return tracking.set_status(self.open(), run_id, "RUNNING")

    def delete_run(self, run_id: str) -> None:
        tracking.delete_run(self.open(), run_id)

    def restore_run(self, run_id: str) -> None:
        tracking.delete_run(self.open(), run_id, restore=True)

    def search_runs(
        self,
        experiments: Sequence[ExperimentRef],
        filter_string: str | None,
        order_by: Sequence[str] | None,
        max_results: int,
        page_token: str | None,
        run_view_type: str,
    ) -> Page[Run]:
        reg = self.open(True)
        ids = experiment_ids(experiments, lambda n: tracking.get_experiment_by_name(reg, n))
        return tracking.search_runs(
            reg, ids, filter_string, order_by, max_results, page_token, run_view_type
        )

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Mapping[str, Any] | None,
        tags: Mapping[str, Any] | None,
    ) -> None:
        tracking.log_batch(self.open(), run_id, metrics, params, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        tracking.delete_tag(self.open(), run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return tracking.metric_history(self.open(), run_id, key)

    def log_artifacts(self, run_id: str, local: Path, artifact_path: str) -> list[FileEntry]:
        return tracking.log_artifacts(self.open(), run_id, local, artifact_path)

    def list_artifacts(self, run_id: str, path: str) -> list[FileEntry]:
        return tracking.list_artifacts(self.open(), run_id, path)

    def log_input(self, run_id: str, dataset: DatasetInput) -> None:
        tracking.log_input(self.open(True), run_id, dataset)
