"""What the tracking queries return: frozen records of the rows (the service turns them into the
MLflow-shaped values the front ends send)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mlpipex.domain.manifest import FileEntry


@dataclass(frozen=True, slots=True)
class ExperimentRecord:
    id: int
    name: str
    lifecycle_stage: str
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, r: sa.Row[Any]) -> ExperimentRecord:
        return cls(r.id, r.name, r.lifecycle_stage, r.created_at, r.updated_at)


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    experiment_id: int
    name: str
    status: str
    lifecycle_stage: str
    user_id: str
    start_time: int
    end_time: int | None
    parent_id: str | None
    commit: str | None
    commit_dirty: bool
    entry_point: str | None

    @classmethod
    def of(cls, r: Sequence[Any]) -> RunRecord:
        """From a row of ``select(*store.tracking.runs.RUN_COLUMNS)``, the columns of these
        fields in their order whatever the table's: taken by position, a third of the cost of
        by name (a page of runs is 51 rows)."""
        return cls(*r)


@dataclass(frozen=True, slots=True)
class RunArtifacts:
    """A run of the workspace and the artifacts it holds under a prefix, read together."""

    run: RunRecord
    files: list[FileEntry]


@dataclass(frozen=True, slots=True)
class RunInputRecord:
    """A dataset a run read, as recorded (``schema`` is the JSON the client sent, if any)."""

    name: str
    uri: str
    digest: str
    size: int | None
    schema: Any
    num_rows: int | None
    context: str | None

    @classmethod
    def of(cls, r: sa.Row[Any]) -> RunInputRecord:
        return cls(r.name, r.uri, r.digest, r.size, r.schema, r.num_rows, r.context)


@dataclass(frozen=True, slots=True)
class LoggedModelRecord:
    """An MLflow 3 logged model's own columns; its tags, params and metrics are read apart."""

    id: str
    experiment_id: int
    name: str
    model_type: str | None
    source_run_id: str | None
    status: str
    status_message: str | None
    creator: str
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, r: sa.Row[Any]) -> LoggedModelRecord:
        return cls(
            r.id,
            r.experiment_id,
            r.name,
            r.model_type,
            r.source_run_id,
            r.status,
            r.status_message,
            r.creator,
            r.created_at,
            r.updated_at,
        )
