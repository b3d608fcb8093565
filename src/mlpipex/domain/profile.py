"""Reference data profiles: per-feature summaries of training data, stored with a model version so
drift can be measured against them later (quantiles and histograms for PSI, a bounded sample for
two-sample tests such as Kolmogorov-Smirnov, category frequencies for chi-squared)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

FORMAT_VERSION = 1
PERCENTILES = (0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 100)
BINS = 20
SAMPLE_SIZE = 5_000
TOP_CATEGORIES = 50
OTHER = "__other__"


def profile(data: Any, *, seed: int = 0) -> dict[str, Any]:
    """A JSON-serializable profile of a DataFrame, a 2-D array (columns named "0".."n-1"), a
    list of records or a list of rows."""
    columns = _columns(data)
    rows = len(columns[0][1]) if columns else 0
    features = [_feature(name, values, rows, seed) for name, values in columns]
    return {"format_version": FORMAT_VERSION, "rows": rows, "features": features}


def _columns(data: Any) -> list[tuple[str, np.ndarray | pd.Series]]:
    if isinstance(data, np.ndarray):
        arr = data.reshape(-1, 1) if data.ndim == 1 else data
        if arr.ndim != 2:
            raise ValueError(f"cannot profile a {arr.ndim}-D array")
        return [(str(i), arr[:, i]) for i in range(arr.shape[1])]
    if isinstance(data, pd.Series):
        data = data.to_frame()
    elif not isinstance(data, pd.DataFrame):
        if isinstance(data, Sequence) and data and isinstance(data[0], Mapping):
            data = pd.DataFrame.from_records(list(data))
        else:
            data = pd.DataFrame(data)
    return [(str(c), data[c]) for c in data.columns]


def _is_numeric(values: np.ndarray | pd.Series) -> bool:
    dtype = values.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _feature(name: str, values: np.ndarray | pd.Series, rows: int, seed: int) -> dict[str, Any]:
    if _is_numeric(values):
        if isinstance(values, pd.Series):
            # Nullable integer columns hold pd.NA, which only to_numpy can turn into NaN.
            return _numeric(name, values.to_numpy(dtype="float64", na_value=np.nan), rows, seed)
        return _numeric(name, values.astype("float64", copy=False), rows, seed)
    return _categorical(name, pd.Series(values, copy=False), rows)


def _numeric(name: str, values: np.ndarray, rows: int, seed: int) -> dict[str, Any]:
    # Infinities count as missing: they would make every statistic infinite or NaN and are not
    # valid JSON.
    finite = values[np.isfinite(values)]
    out: dict[str, Any] = {
        "name": name,
        "kind": "numeric",
        "missing": _share(rows - finite.size, rows),
        "count": int(finite.size),
    }
    if finite.size == 0:
        out.update(
            quantiles=None, mean=None, std=None, min=None, max=None, histogram=None, sample=[]
        )
        return out
    q = np.percentile(finite, PERCENTILES)
    counts, edges = np.histogram(finite, bins=BINS, range=(float(q[0]), float(q[-1])))
    if finite.size > SAMPLE_SIZE:
        sample = np.random.default_rng(seed).choice(finite, SAMPLE_SIZE, replace=False)
    else:
        sample = finite
    out.update(
        quantiles={str(p): float(v) for p, v in zip(PERCENTILES, q, strict=True)},
        mean=float(finite.mean()),
        std=float(finite.std()),
        min=float(q[0]),
        max=float(q[-1]),
        histogram={"edges": edges.tolist(), "counts": counts.tolist()},
        sample=sample.tolist(),
    )
    return out


def _categorical(name: str, values: pd.Series, rows: int) -> dict[str, Any]:
    counts = values.value_counts(dropna=True)
    present = int(counts.sum())
    top = counts.iloc[:TOP_CATEGORIES]
    frequencies = {str(k): int(v) for k, v in top.items()}
    other = present - int(top.sum())
    if other:
        frequencies[OTHER] = other
    return {
        "name": name,
        "kind": "categorical",
        "missing": _share(rows - present, rows),
        "count": present,
        "distinct": int(counts.size),
        "frequencies": frequencies,
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
