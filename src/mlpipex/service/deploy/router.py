"""Routing rules of an endpoint, without I/O: a weighted choice among versions, a stable hash
of a sticky key onto the same weights, shadow sampling, and where the weight of a version that
cannot serve goes. The agent applies them per request, so each costs a bisect or a hash."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")

_HASH_SPAN = float(2**64)


@dataclass(frozen=True, slots=True)
class Split(Generic[K]):
    """Targets with positive weights, as cumulative bounds over [0, 1): ``pick(u)`` maps a point
    of [0, 1) onto the target whose share holds it."""

    targets: tuple[K, ...]
    bounds: tuple[float, ...]  # upper bound of each target's share; the last is 1.0

    @classmethod
    def of(cls, weights: Mapping[K, float]) -> Split[K]:
        """A split of the targets with weight > 0, in the mapping's order (keep it stable: a
        sticky key moves only when the bounds around it move)."""
        chosen = [(k, float(w)) for k, w in weights.items() if w > 0]
        total = sum(w for _, w in chosen)
        bounds, seen = [], 0.0
        for _, w in chosen:
            seen += w
            bounds.append(seen / total)
        if bounds:
            bounds[-1] = 1.0  # no point of [0, 1) may fall past the end through rounding
        return cls(tuple(k for k, _ in chosen), tuple(bounds))

    def __bool__(self) -> bool:
        return bool(self.targets)

    def pick(self, u: float) -> K:
        """The target for u in [0, 1): a random number for a weighted choice, or
        ``sticky_point(key)`` for a sticky one. Raises IndexError when the split is empty."""
        if len(self.targets) == 1:
            return self.targets[0]
        return self.targets[bisect.bisect_right(self.bounds, u)]

    def shares(self) -> dict[K, float]:
        """Each target's share of the traffic, in percent."""
        out, low = {}, 0.0
        for k, high in zip(self.targets, self.bounds, strict=True):
            out[k] = (high - low) * 100
            low = high
        return out


def sticky_point(key: str) -> float:
    """A point of [0, 1) that depends only on key: the same in every process and on every host
    (Python's ``hash`` is salted per process, so it cannot be used)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _HASH_SPAN


def shadowed(percent: float, u: float) -> bool:
    """Whether a request with random u in [0, 1) is also copied to the shadow version."""
    return u * 100 < percent


def effective_weights(weights: Mapping[K, int], available: Collection[K]) -> dict[K, float]:
    """The weights traffic follows when only ``available`` targets can serve: a target that
    cannot serve gets nothing and its weight goes to the others in proportion to theirs. When
    none of those has weight, they share it evenly: serving from a version set up at weight 0
    beats refusing every request. Empty when nothing is available."""
    live = {k: float(w) for k, w in weights.items() if k in available}
    if any(w > 0 for w in live.values()):
        return {k: w for k, w in live.items() if w > 0}
    return dict.fromkeys(live, 1.0)
