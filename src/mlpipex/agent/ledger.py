"""What the agent has reported: per served version, the counters the control plane last
acknowledged. A report carries the counters minus those, so a report that fails is summed
into the next one, and a version dropped from the table is reported until its last requests
have been acknowledged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlpipex.agent.table import LiveVersion
from mlpipex.domain.latency import LATENCY_BUCKETS_MS
from mlpipex.serving import VersionMetrics


@dataclass(frozen=True, slots=True)
class Counts:
    requests: int = 0
    errors: int = 0  # 5xx: the model raised or the server failed
    client_errors: int = 0
    buckets: tuple[int, ...] = (0,) * (len(LATENCY_BUCKETS_MS) + 1)
    latency_sum_ms: float = 0.0

    @classmethod
    def of(cls, m: VersionMetrics) -> Counts:
        return cls(
            m.requests,
            m.server_errors,
            m.client_errors,
            tuple(m.latency.counts),
            m.latency.total_ms,
        )

    def minus(self, other: Counts) -> Counts:
        return Counts(
            self.requests - other.requests,
            self.errors - other.errors,
            self.client_errors - other.client_errors,
            tuple(a - b for a, b in zip(self.buckets, other.buckets, strict=True)),
            self.latency_sum_ms - other.latency_sum_ms,
        )

    def plus(self, other: Counts) -> Counts:
        return Counts(
            self.requests + other.requests,
            self.errors + other.errors,
            self.client_errors + other.client_errors,
            tuple(a + b for a, b in zip(self.buckets, other.buckets, strict=True)),
            self.latency_sum_ms + other.latency_sum_ms,
        )

    def add_to(self, m: VersionMetrics) -> None:
        """Count these into m (counters measured in another process, brought into this one)."""
        m.requests += self.requests
        m.server_errors += self.errors
        m.client_errors += self.client_errors
        for i, n in enumerate(self.buckets):
            m.latency.counts[i] += n
        m.latency.total_ms += self.latency_sum_ms

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "latency_ms_buckets": list(self.buckets),
            "latency_sum_ms": round(self.latency_sum_ms, 3),
        }


@dataclass(eq=False)
class _Entry:
    endpoint: str
    live: LiveVersion
    acked: Counts = field(default_factory=Counts)
    retired: bool = False


# What a report carried, to be acknowledged: (entry, the counts it was computed from).
Sent = list[tuple[_Entry, Counts]]


class Ledger:
    """Used from the event loop only, where the counters are written, so each collect reads
    them between two requests, never in the middle of one."""

    def __init__(self) -> None:
        self._entries: dict[LiveVersion, _Entry] = {}

    def track(self, endpoint: str, live: LiveVersion) -> None:
        self._entries.setdefault(live, _Entry(endpoint, live))

    def retire(self, live: LiveVersion) -> None:
        if (entry := self._entries.get(live)) is not None:
            entry.retired = True

    def collect(self) -> tuple[dict[str, dict[str, Counts]], Sent]:
        """{endpoint: {version: counts since the last acknowledgement}}, and what to pass to
        ``acknowledge`` once the control plane has taken them."""
        deltas: dict[str, dict[str, Counts]] = {}
        sent: Sent = []
        for entry in self._entries.values():
            now = Counts.of(entry.live.metrics)
            delta = now.minus(entry.acked)
            per = deltas.setdefault(entry.endpoint, {})
            key = str(entry.live.version)
            # Two entries share a version number when its files changed: one series for it.
            per[key] = per[key].plus(delta) if key in per else delta
            sent.append((entry, now))
        return deltas, sent

    def acknowledge(self, sent: Sent) -> None:
        for entry, counts in sent:
            entry.acked = counts
            # Closed: no request can change its counters any more, and the last are taken.
            if entry.retired and entry.live.closed and Counts.of(entry.live.metrics) == counts:
                self._entries.pop(entry.live, None)
