"""Per-version counters of a model server: requests, errors, predict calls and a latency
histogram, kept in process as plain integers so recording costs a few attribute updates. The
deployment agent reads ``snapshot()`` and its ``/metrics`` exposition reads the same."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

# The buckets' upper bounds (ms; the last bucket unbounded) are part of the agent protocol.
from mlpipex.domain.latency import LATENCY_BUCKETS_MS


@dataclass
class LatencyHistogram:
    """Counts per bucket (not cumulative) plus the total, as Prometheus histograms need."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS_MS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_MS) + 1))
    total_ms: float = 0.0

    def observe(self, ms: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, ms)] += 1
        self.total_ms += ms

    @property
    def count(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float:
        """The upper bound of the bucket holding quantile q (inf when it is the last bucket)."""
        n = self.count
        if n == 0:
            return 0.0
        rank, seen = q * n, 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= rank:
                return self.bounds[i] if i < len(self.bounds) else float("inf")
        return float("inf")


@dataclass
class VersionMetrics:
    """What one served version has done since its server process started."""

    requests: int = 0
    client_errors: int = 0  # answered 4xx: bad input, too large, unknown route
    server_errors: int = 0  # answered 5xx: the model raised
    predict_calls: int = 0
    predicted_rows: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def record(self, status: int, ms: float) -> None:
        self.requests += 1
        if status >= 500:
            self.server_errors += 1
        elif status >= 400:
            self.client_errors += 1
        self.latency.observe(ms)

    @property
    def errors(self) -> int:
        return self.client_errors + self.server_errors

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "server_errors": self.server_errors,
            "predict_calls": self.predict_calls,
            "predicted_rows": self.predicted_rows,
            "latency_ms": {
                "buckets": list(self.latency.bounds),
                "counts": list(self.latency.counts),
                "sum": self.latency.total_ms,
                "count": self.latency.count,
            },
        }
