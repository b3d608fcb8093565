"""What the framework flavors share: importing an optional library with the install command in
the error, and handing a model input in the shape it was fitted on."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from mlpipex.errors import Invalid


def require(module: str, extra: str) -> ModuleType:
    """Import an optional framework, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise Invalid(
            f"the {extra} flavor needs the {module} library, which is not installed",
            hint=f"pip install 'mlpipex[{extra}]'",
        ) from e


def version_of(module: str) -> str | None:
    """The installed version of a framework, by its import name (one distribution may ship under
    several names: xgboost and xgboost-cpu), or None when it is not installed."""
    try:
        return str(importlib.import_module(module).__version__)
    except (ImportError, AttributeError):
        return None


def module_of(model: object) -> str:
    """The top-level package an object's class comes from (checked before importing it)."""
    return type(model).__module__.split(".", 1)[0]


def fitted_columns(data: Any, names: Sequence[str] | None) -> Any:
    """Named columns for a model that knows its feature names (avoiding feature-name warnings
    and column mix-ups), a plain array for one that does not."""
    if isinstance(data, pd.DataFrame) and names is None:
        return data.to_numpy()
    if isinstance(data, np.ndarray) and names is not None and data.ndim == 2:
        return pd.DataFrame(data, columns=list(names))
    return data


def in_feature_order(data: Any, names: Sequence[str]) -> Any:
    """For a model that always names its features (``Column_0`` when fitted on an array): a table
    with those columns goes in that order; any other table as a plain array, by position."""
    if isinstance(data, pd.DataFrame):
        if names and set(names) <= {str(c) for c in data.columns}:
            return data.rename(columns=str)[list(names)]
        return data.to_numpy()
    return data


def pick_class(name: str, allowed: dict[str, type], flavor: str) -> type:
    """A class a manifest names, from a fixed list: a manifest never makes us import a name."""
    cls = allowed.get(name)
    if cls is None:
        raise Invalid(
            f"the {flavor} package names model class {name!r}; known: {', '.join(allowed)}"
        )
    return cls
