"""Durations written as people write them: 30s, 5m, 1h, 2d, 1h30m."""

from __future__ import annotations

import re

from mlpipex.errors import Invalid

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> float:
    """Seconds in a duration such as ``90s`` or ``1h30m``; a bare number is seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    s = text.strip().lower().replace(" ", "")
    try:
        return float(s)
    except ValueError:
        pass
    parts = _PART.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise Invalid(f"{text!r} is not a duration", hint="write it like 30s, 5m, 1h or 1h30m")
    return sum(float(n) * _UNIT[u] for n, u in parts)
