"""The fluent tracking API (``mlpipex.start_run`` ...), MLflow's shape: a module-level stack of
active runs over a ``Client`` found by the CLI's rules (``MLPIPEX_URI``, else the nearest
``.mlpipex``). Logging with no active run starts one in the Default experiment, as MLflow does."""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from mlpipex.client import Client
from mlpipex.client.models import ModelInfo
from mlpipex.config import Settings
from mlpipex.domain.manifest import FileEntry
from mlpipex.errors import Invalid
from mlpipex.service.context import now_ms
from mlpipex.service.tracking.checks import Metric
from mlpipex.service.tracking.runs import DatasetInput, Run


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    artifact_uri: str


class ActiveRun:
    """A run started by ``start_run``; as a context manager it ends the run FINISHED, or FAILED
    when the block raises (KILLED on Ctrl-C)."""

    def __init__(self, client: Client, run: Run) -> None:
        self.client = client
        self.info = RunInfo(run.id, run.experiment_id, run.name, run.artifact_uri)

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def get(self) -> Run:
        """The run as stored now: params, latest metrics, tags, inputs, status."""
        return self.client.get_run(self.run_id)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            status = "FINISHED"
        else:
            status = "KILLED" if issubclass(kind, KeyboardInterrupt) else "FAILED"
        if self in _stack:
            _end(self, status)

    def __repr__(self) -> str:
        return f"ActiveRun(run_id={self.run_id!r}, experiment_id={self.info.experiment_id!r})"


_stack: list[ActiveRun] = []
_clients: dict[tuple[str | None, str | None, str | None], Client] = {}


def _client() -> Client:
    """One client per registry location, so engines and connections are reused."""
    s = Settings()
    key = (s.uri, s.objects, s.user)
    if key not in _clients:
        _clients[key] = Client(settings=s)
    return _clients[key]


def start_run(
    run_id: str | None = None,
    *,
    experiment: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, str] | None = None,
) -> ActiveRun:
    """Start a run (or resume run_id) in experiment (a name, created when missing; default
    Default). With a run active, pass nested=True to start a child of it."""
    if _stack and not nested:
        raise Invalid(
            f"run {_stack[-1].run_id} is already active",
            hint="end it with mlpipex.end_run(), or pass nested=True to start a child run",
        )
    parent = _stack[-1] if _stack else None
    client = parent.client if parent else _client()
    if run_id is not None:
        run = client.get_run(run_id)
        if run.status != "RUNNING":
            run = _resume(client, run_id)
        if tags:
            client.set_tags(run_id, tags)
    else:
        if experiment_id is None:
            experiment_id = client.set_experiment(experiment).id
        elif experiment is not None:
            raise Invalid("give experiment (a name) or experiment_id, not both")
        run = client.create_run(
            experiment_id,
            run_name=run_name,
            tags=tags,
            parent_run_id=parent.run_id if parent else None,
        )
    active = ActiveRun(client, run)
    _stack.append(active)
    return active


def _resume(client: Client, run_id: str) -> Run:
    return client.resume_run(run_id)


def end_run(status: str = "FINISHED") -> None:
    """End the innermost active run (nothing happens when none is active)."""
    if _stack:
        _end(_stack[-1], status)


def _end(active: ActiveRun, status: str) -> None:
    # Children still open end with their parent, innermost first.
    while _stack:
        top = _stack.pop()
        top.client.set_terminated(top.run_id, status)
        if top is active:
            return


def active_run() -> ActiveRun | None:
    return _stack[-1] if _stack else None


def _run() -> ActiveRun:
    return _stack[-1] if _stack else start_run()


def log_param(key: str, value: Any) -> Any:
    r = _run()
    return r.client.log_param(r.run_id, key, value)


def log_params(params: Mapping[str, Any]) -> None:
    r = _run()
    r.client.log_params(r.run_id, params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    r = _run()
    r.client.log_metric(r.run_id, key, value, timestamp, step)


def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    r = _run()
    r.client.log_metrics(r.run_id, metrics, step, timestamp)


def log_batch(metrics: list[Metric]) -> None:
    """Many metric values (any keys and steps) in one transaction."""
    r = _run()
    r.client.log_batch(r.run_id, metrics)


def set_tag(key: str, value: Any) -> None:
    r = _run()
    r.client.set_tag(r.run_id, key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    r = _run()
    r.client.set_tags(r.run_id, tags)


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None
) -> list[FileEntry]:
    r = _run()
    return r.client.log_artifact(r.run_id, local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None
) -> list[FileEntry]:
    r = _run()
    return r.client.log_artifacts(r.run_id, local_dir, artifact_path)


def log_dataset(name: str, data: Any, context: str | None = None) -> DatasetInput:
    """Record a dataset the run read: a path (hashed where it is) or a DataFrame (stored as
    Parquet with the run); digest, size, schema and row count are kept."""
    r = _run()
    return r.client.log_dataset(r.run_id, name, data, context)


def log_model(
    model: Any = None,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Save model as a package in the active run, under ``name`` (MLflow 3's spelling) or
    ``artifact_path`` (MLflow 2's), "model" by default; ``registered_model_name=`` also
    registers it, inheriting the run's commit, datasets and metrics. See ``Client.log_model``."""
    if name and artifact_path and name != artifact_path:
        raise Invalid(f"name {name!r} and artifact_path {artifact_path!r} differ; give one")
    r = _run()
    return r.client.log_model(r.run_id, model, name or artifact_path or "model", **kwargs)


def load_model(model_uri: str | os.PathLike[str], *, allow_pickle: bool = False) -> Any:
    """Load ``models:/NAME/VERSION|@ALIAS|/STAGE``, ``runs:/RUN_ID/PATH`` or a local path."""
    client = _stack[-1].client if _stack else _client()
    return client.load_model(model_uri, allow_pickle=allow_pickle)


def metric(key: str, value: float, step: int = 0, timestamp: int | None = None) -> Metric:
    """A metric value for ``log_batch``."""
    return Metric(key, value, timestamp if timestamp is not None else now_ms(), step)


@atexit.register
def _end_open_runs() -> None:
    # A script that never ended its run finished it, as MLflow records.
    while _stack:
        try:
            _end(_stack[0], "FINISHED")
        except Exception:  # the registry may be gone at exit; nothing more to do
            _stack.clear()
