"""MLflow's rules and limits for what tracking records: keys, param and tag values, metrics,
names, artifact paths and a log_batch call's items, each checked before any transaction opens."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from mlpipex.domain.manifest import safe_relpath
from mlpipex.domain.refs import check_label
from mlpipex.errors import Invalid

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_NAME = 250
MAX_RESULTS = 50_000
STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
_KEY = re.compile(r"^[\w.\- /:]+$")


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0


def check_key(what: str, key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        raise Invalid(f"{what} key {str(key)[:40]!r} must be 1 to {MAX_KEY} characters")
    # split, not PurePosixPath(key).parts: the same '..' test at a tenth of the cost, which a
    # batch of 1,000 metrics pays per key
    if not _KEY.fullmatch(key) or key.startswith("/") or ".." in key.split("/"):
        raise Invalid(
            f"invalid {what} key {key!r}",
            hint="use letters, digits, underscores, dashes, periods, spaces, colons and "
            "slashes, not starting with / and without '..'",
        )
    return key


def _check_value(what: str, key: str, value: Any, limit: int) -> str:
    text = str(value)
    if len(text) > limit:
        raise Invalid(
            f"{what} {key!r}: value of {len(text)} characters exceeds the limit of {limit}"
        )
    return text


def check_params(params: Mapping[str, Any]) -> dict[str, str]:
    return {
        check_key("param", k): _check_value("param", k, v, MAX_PARAM_VALUE)
        for k, v in params.items()
    }


def check_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    return {check_key("tag", k): _check_value("tag", k, v, MAX_TAG_VALUE) for k, v in tags.items()}


def check_metric(m: Metric, *, key_checked: bool = False) -> tuple[str, float, int, int]:
    if not key_checked:
        check_key("metric", m.key)
    value, ts, step = m.value, m.timestamp, m.step
    # exact types first: what every HTTP batch holds, checked at a fraction of the general path
    if type(value) is float and type(ts) is int and type(step) is int:
        return m.key, value, ts, step
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy scalars and the like
        except (TypeError, ValueError):
            raise Invalid(f"metric {m.key!r}: {value!r} is not a number") from None
    else:
        value = float(value)
    for name, n in (("timestamp", ts), ("step", step)):
        if isinstance(n, bool) or not isinstance(n, int):
            raise Invalid(f"metric {m.key!r}: {name} {n!r} is not an integer")
    return m.key, value, ts, step


class UnsafePath(Invalid):
    """An artifact path that is absolute or climbs out with '..'; typed so a front end can say
    it in its own words."""


def check_artifact_path(path: str) -> str:
    p = PurePosixPath(path.replace("\\", "/")) if path else PurePosixPath("")
    if p.is_absolute() or ".." in p.parts:
        raise UnsafePath(f"artifact path {path!r} must be relative and stay inside the run")
    return "" if str(p) == "." else safe_relpath(str(p))


def check_name(what: str, name: str) -> str:
    return check_label(what, name, MAX_NAME)


@dataclass(frozen=True, slots=True)
class Batch:
    """What one log_batch call writes, checked: (key, value, timestamp, step) metric rows."""

    metrics: list[tuple[str, float, int, int]]
    params: dict[str, str]
    tags: dict[str, str]


def check_batch(
    metrics: Sequence[Metric] = (),
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> Batch:
    return Batch(check_metrics(metrics), check_params(params or {}), check_tags(tags or {}))


def check_metrics(metrics: Sequence[Metric]) -> list[tuple[str, float, int, int]]:
    """Each metric checked in order (the first bad one is refused); a key is checked once, as a
    batch of 1,000 metrics often repeats one key."""
    keys: set[str] = set()
    out = []
    for m in metrics:
        seen = type(m.key) is str and m.key in keys
        out.append(check_metric(m, key_checked=seen))
        if not seen and type(m.key) is str:
            keys.add(m.key)
    return out
