"""What a serving agent reports: its counters per endpoint and version since its last
acknowledged report, every number bounded by the column that stores it."""

from __future__ import annotations

import math
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlpipex.domain.bounds import INT32_MAX, INT64_MAX, VersionNumber
from mlpipex.domain.validation import validated

Count = Annotated[int, Ge(0), Le(INT32_MAX)]


class VersionCounters(BaseModel):
    model_config = ConfigDict(frozen=True)

    requests: Count = 0
    errors: Count = 0
    client_errors: Count = 0
    latency_ms_buckets: list[Annotated[int, Ge(0), Le(INT64_MAX)]] = Field([], max_length=64)
    latency_sum_ms: float = Field(0.0, ge=0)

    @field_validator("latency_sum_ms")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v


class EndpointCounters(BaseModel):
    model_config = ConfigDict(frozen=True)

    errors: list[Annotated[str, Field(max_length=2000)]] = Field([], max_length=100)
    versions: dict[VersionNumber, VersionCounters] | None = None


class AgentReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    agent: str = Field(min_length=1, max_length=256)
    url: str | None = Field(None, max_length=2000)
    generation: Annotated[int, Ge(0), Le(INT64_MAX)] | None = None
    endpoints: dict[Annotated[str, Field(max_length=256)], EndpointCounters] | None = None


def parse_report(data: Any) -> AgentReport:
    return validated(AgentReport, data, "agent report")
