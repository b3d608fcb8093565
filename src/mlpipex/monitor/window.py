"""A window of current inputs lined up with a reference profile: one column per profiled feature,
numeric columns as their finite values, categorical columns as counts per category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from mlpipex.errors import Invalid

Column: TypeAlias = np.ndarray | pd.Series


def features(profile: Mapping[str, Any], what: str = "reference profile") -> list[dict[str, Any]]:
    """The profile's features, checked just enough that drift and reports can trust them."""
    feats = profile.get("features") if isinstance(profile, Mapping) else None
    if not isinstance(feats, list) or not feats:
        raise Invalid(f"{what} has no features", hint="build it with mlpipex.domain.profile")
    for f in feats:
        if not isinstance(f, Mapping) or f.get("kind") not in ("numeric", "categorical"):
            raise Invalid(f"{what}: every feature needs a kind, numeric or categorical")
        if f["kind"] == "numeric" and f.get("count") and not f.get("histogram"):
            raise Invalid(f"{what}: numeric feature {f.get('name')!r} has no histogram")
        if f["kind"] == "categorical" and not isinstance(f.get("frequencies"), Mapping):
            raise Invalid(f"{what}: categorical feature {f.get('name')!r} has no frequencies")
    return [dict(f) for f in feats]


def columns(feats: Sequence[Mapping[str, Any]], current: Any) -> tuple[int, list[Column]]:
    """(rows, one column per feature, in the profile's order) from a DataFrame (matched by
    name), a 2-D array (matched by position, as profiles name array columns "0".."n-1") or a
    list of records."""
    names = [str(f["name"]) for f in feats]
    if isinstance(current, np.ndarray):
        arr = current.reshape(-1, 1) if current.ndim == 1 else current
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise Invalid(
                f"current data has shape {current.shape}; the reference profile has "
                f"{len(names)} features: {', '.join(names)}"
            )
        # One copy into column order beats a strided gather in every column (about 2x).
        arr = np.asfortranarray(arr)
        return arr.shape[0], [arr[:, i] for i in range(arr.shape[1])]
    if isinstance(current, pd.Series):
        current = current.to_frame()
    elif isinstance(current, Sequence) and not isinstance(current, str | bytes):
        if current and not all(isinstance(r, Mapping) for r in current):
            raise Invalid("current data as a list must be a list of records (dicts)")
        current = pd.DataFrame.from_records(list(current), columns=names if not current else None)
    if not isinstance(current, pd.DataFrame):
        raise Invalid(
            f"current data must be a DataFrame, a 2-D array or records, not "
            f"{type(current).__name__}"
        )
    # Profiles store column labels as strings; a frame with integer labels still matches.
    by_name = {str(c): c for c in current.columns}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise Invalid(f"current data lacks the feature column(s): {', '.join(missing)}")
    return len(current), [current[by_name[n]] for n in names]


def numeric(name: str, column: Column) -> np.ndarray:
    """The finite values of a column as float64, sorted (the tests and the binning all want
    them so, and one sort is cheaper than theirs); NaN, None and infinities count as missing,
    as they do in the profile."""
    try:
        if isinstance(column, pd.Series):
            values = column.to_numpy(dtype="float64", na_value=np.nan)
        else:
            values = np.asarray(column, dtype="float64")
    except (TypeError, ValueError) as e:
        raise Invalid(
            f"feature {name!r} is numeric in the reference but not in current data"
        ) from e
    return np.sort(values[np.isfinite(values)])


def categories(column: Column) -> tuple[np.ndarray, np.ndarray]:
    """(category names as the profile writes them, with str(), and their counts); missing
    values are left out."""
    counts = pd.Series(column, copy=False).value_counts(dropna=True, sort=False)
    keys = np.asarray(counts.index.map(str), dtype=object)
    return keys, counts.to_numpy(dtype="int64")
