"""Durations written as people write them: 30s, 5m, 1h, 2d, 1h30m."""

from __future__ import annotations

import math
import re

from mlpipex.errors import Invalid

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Longer than any window, wait or grace period anyone means; a bound keeps the arithmetic on
# milliseconds (timestamps minus a window) finite and in range.
MAX_SECONDS = 10 * 366 * 86400.0


def parse_duration(text: str | int | float) -> float:
    """Seconds in a duration such as ``90s`` or ``1h30m``; a bare number is seconds.

    Refused: negative, not finite (inf, nan, 1e400) and longer than ten years."""
    if isinstance(text, (int, float)):
        return _bounded(float(text), text)
    s = text.strip().lower().replace(" ", "")
    try:
        return _bounded(float(s), text)
    except ValueError:
        pass
    parts = _PART.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise Invalid(f"{text!r} is not a duration", hint="write it like 30s, 5m, 1h or 1h30m")
    return _bounded(sum(float(n) * _UNIT[u] for n, u in parts), text)


def _bounded(seconds: float, text: str | int | float) -> float:
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_SECONDS:
        raise Invalid(
            f"{str(text)[:40]!r} is not a duration between 0 and 10 years",
            hint="write it like 30s, 5m, 1h or 1h30m",
        )
    return seconds
