"""MLflow 3 traces as values: a trace's info (its run and logged model read from MLflow's
metadata keys), its spans (each kept as the OTLP span JSON the client sent) and assessments."""

from __future__ import annotations

import math
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
    text: str = ""  # its name, attribute and event values, one a line: what text search reads


@dataclass(frozen=True, slots=True)
class Trace:
    info: TraceInfo
    spans: tuple[Span, ...]


class MetricView(StrEnum):
    """What MLflow's trace metrics aggregate over (only TRACES is served here)."""

    TRACES = "TRACES"
    SPANS = "SPANS"
    ASSESSMENTS = "ASSESSMENTS"


class Aggregation(StrEnum):
    COUNT = "COUNT"
    SUM = "SUM"
    AVG = "AVG"
    PERCENTILE = "PERCENTILE"
    MIN = "MIN"
    MAX = "MAX"


@dataclass(frozen=True, slots=True)
class MetricAggregation:
    kind: Aggregation
    percentile: float | None = None  # 0 to 100, for PERCENTILE only

    @property
    def label(self) -> str:
        """The aggregation's name in MLflow's answers: COUNT, AVG, ..., or P50.0."""
        return f"P{self.percentile}" if self.kind is Aggregation.PERCENTILE else self.kind.value


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """MLflow's QueryTraceMetrics: one metric over the experiments' traces, aggregated per
    group (the dimensions named, and the time bucket when an interval is given)."""

    experiment_ids: tuple[str, ...]
    view: MetricView
    metric_name: str
    aggregations: tuple[MetricAggregation, ...]
    dimensions: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    interval_s: int | None = None
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class MetricPoint:
    metric_name: str
    dimensions: Mapping[str, str]
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Correlation:
    """How two trace filters go together over a population: counts and their normalized
    pointwise mutual information (NaN where it is undefined)."""

    total: int
    first: int
    second: int
    joint: int

    @property
    def npmi(self) -> float:
        if self.total <= 0 or self.first == 0 or self.second == 0:
            return math.nan
        if self.joint == 0:
            return -1.0  # both happen, never together
        return _npmi(self.joint, self.first, self.second, self.total, 0.0)

    @property
    def npmi_smoothed(self) -> float:
        """With half a count added to each cell of the 2x2 table (Jeffreys' prior), so a
        few traces do not swing it to the extremes."""
        if self.total <= 0 or self.first == 0 or self.second == 0:
            return math.nan
        return _npmi(self.joint, self.first, self.second, self.total, 0.5)


def _npmi(joint: int, first: int, second: int, total: int, prior: float) -> float:
    both = joint + prior
    only_first, only_second = first - joint + prior, second - joint + prior
    neither = total - first - second + joint + prior
    if min(both, only_first, only_second, neither) < 0:
        return math.nan  # counts that cannot come from one population
    n = both + only_first + only_second + neither
    p_both, p_first, p_second = both / n, (both + only_first) / n, (both + only_second) / n
    if p_both >= 1.0:
        return 1.0
    if p_both <= 0.0:
        return math.nan
    return math.log(p_both / (p_first * p_second)) / -math.log(p_both)
