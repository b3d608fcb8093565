"""MLflow 3 traces as values: a trace's info (its run and logged model read from MLflow's
metadata keys), its spans (each kept as the OTLP span JSON the client sent) and assessments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

SOURCE_RUN = "mlflow.sourceRun"
MODEL_ID = "mlflow.modelId"
SPANS_LOCATION = "mlflow.trace.spansLocation"
ARTIFACT_LOCATION = "mlflow.artifactLocation"
# Spans live in this database: the client then never uploads them as an artifact.
TRACKING_STORE = "TRACKING_STORE"
# The latest time a trace may carry (ms): what Python's datetime can print back in UTC.
MAX_MS = int(datetime(9999, 12, 31, 23, 59, 59, 999000, UTC).timestamp() * 1000)


class TraceState(StrEnum):
    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"


@dataclass(frozen=True, slots=True)
class Assessment:
    assessment_id: str
    trace_id: str
    content: str  # MLflow's JSON of the assessment, with the id, trace and times set here


@dataclass(frozen=True, slots=True)
class TraceInfo:
    trace_id: str
    experiment_id: str
    request_time: int  # ms
    execution_duration: int | None  # ms
    state: TraceState
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    assessments: tuple[Assessment, ...] = ()

    @property
    def run_id(self) -> str | None:
        return self.metadata.get(SOURCE_RUN) or None

    @property
    def model_id(self) -> str | None:
        return self.metadata.get(MODEL_ID) or None


@dataclass(frozen=True, slots=True)
class Span:
    trace_id: str
    span_id: str  # hex
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int | None
    status: str
    content: str  # the OTLP span in OTLP's protobuf JSON form (ids in base64)


@dataclass(frozen=True, slots=True)
class Trace:
    info: TraceInfo
    spans: tuple[Span, ...]
