"""MLflow GenAI evaluation as values: evaluation datasets (named sets of records a team
evaluates against, linked to experiments), their records, and scorers (versioned, serialized
judges registered under an experiment). What the client sends as JSON is kept as JSON text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class EvalDataset:
    dataset_id: str
    name: str
    digest: str
    created_time: int  # ms
    last_update_time: int  # ms
    created_by: str | None = None
    last_updated_by: str | None = None
    schema: str | None = None
    profile: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    experiment_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """One record; ``inputs`` identify it within its dataset (an upsert with the same inputs
    updates it). Each part is the JSON text of an object, as the client sent it."""

    record_id: str
    dataset_id: str
    inputs: str
    expectations: str | None
    outputs: str | None
    tags: str | None
    source: str | None
    created_time: int
    last_update_time: int
    created_by: str | None = None
    last_updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record as an upsert brings it: JSON objects, already parsed and bounded."""

    inputs: str
    expectations: str | None = None
    outputs: str | None = None
    tags: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Upserted:
    inserted: int
    updated: int


@dataclass(frozen=True, slots=True)
class ScorerVersion:
    experiment_id: str
    name: str
    version: int
    scorer_id: str
    serialized: str  # the client's serialized scorer, kept as sent
    creation_time: int  # ms
