"""Latency histograms as servers and agents report them: counts per bucket (not cumulative),
the last bucket unbounded. The bounds are part of the agent protocol."""

from __future__ import annotations

from collections.abc import Sequence

LATENCY_BUCKETS_MS: tuple[float, ...] = (
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    25.0,
    50.0,
    100.0,
    250.0,
    500.0,
    1000.0,
    2500.0,
    5000.0,
    10000.0,
)


def merge(histograms: Sequence[Sequence[int]]) -> list[int]:
    out = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    for h in histograms:
        for i, c in enumerate(h[: len(out)]):
            out[i] += int(c)
    return out


def quantile(counts: Sequence[int], q: float) -> float:
    """The upper bound of the bucket holding quantile q (inf in the overflow bucket; 0 if empty).
    An upper bound errs on the safe side for a latency rule."""
    n = sum(counts)
    if n == 0:
        return 0.0
    rank, seen = q * n, 0
    for i, c in enumerate(counts):
        seen += c
        if seen >= rank:
            return LATENCY_BUCKETS_MS[i] if i < len(LATENCY_BUCKETS_MS) else float("inf")
    return float("inf")
