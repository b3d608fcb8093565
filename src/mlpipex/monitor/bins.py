"""Current values counted in a reference profile's bins: the numeric histogram's bins and the
categorical top categories plus ``__other__``, so reference and current line up bin for bin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mlpipex.domain.profile import OTHER


def reference_numeric(feature: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts) of the profile's histogram."""
    hist = feature["histogram"]
    return np.asarray(hist["edges"], dtype="float64"), np.asarray(hist["counts"], dtype="float64")


def numeric(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of sorted values in the profile's bins (half-open, the last one closed, as
    numpy's). The outer bins are open-ended: the reference spans its own min..max, and a
    current value beyond them must still count (a shift past the reference range is the
    strongest drift there is). Sorted input makes this 19 look-ups instead of one per value."""
    cuts = np.searchsorted(values, edges[1:-1], side="left")
    return np.diff(cuts, prepend=0, append=values.size).astype("float64")


def reference_categories(feature: Mapping[str, Any]) -> tuple[list[str], np.ndarray]:
    """(category names ending with ``__other__``, counts); ``__other__`` is always there, at
    zero when the reference had no more than the top categories, so unseen ones have a bin."""
    freq = dict(feature["frequencies"])
    other = freq.pop(OTHER, 0)
    names = [*map(str, freq), OTHER]
    return names, np.asarray([*freq.values(), other], dtype="float64")


def categorical(keys: np.ndarray, counts: np.ndarray, names: list[str]) -> np.ndarray:
    """Current counts in the reference's categories; categories the reference never saw (or
    kept only inside ``__other__``) go to ``__other__``, the last bin."""
    idx = pd.Index(names[:-1]).get_indexer(keys)
    idx[idx < 0] = len(names) - 1
    return np.bincount(idx, weights=counts, minlength=len(names)).astype("float64")
