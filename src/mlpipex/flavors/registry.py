"""The flavor registry: the built-in flavors, then those other packages declare under the
``mlpipex.flavors`` entry-point group. Saving picks a flavor by asking each whether it accepts
the object; loading looks the package's flavor up by name."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from mlpipex.errors import Invalid
from mlpipex.flavors.base import Flavor, PackageInfo
from mlpipex.flavors.catboost import CATBOOST
from mlpipex.flavors.lightgbm import LIGHTGBM
from mlpipex.flavors.onnx import ONNX
from mlpipex.flavors.python import PYTHON
from mlpipex.flavors.sklearn import SKLEARN
from mlpipex.flavors.xgboost import XGBOOST

ENTRY_POINT_GROUP = "mlpipex.flavors"
# Registered in code as well as declared as entry points, so they are there even where the
# installed metadata is stale (an editable install not reinstalled since the entry points
# changed). Order matters where two could claim an object or an MLmodel file: first wins, so
# the frameworks whose wrappers are scikit-learn estimators come before sklearn.
BUILTINS: tuple[Flavor, ...] = (XGBOOST, LIGHTGBM, CATBOOST, SKLEARN, ONNX, PYTHON)

_log = logging.getLogger(__name__)


@cache
def registered() -> Mapping[str, Flavor]:
    """Every flavor by name: built-ins first, then plugins in entry-point name order."""
    found: dict[str, Flavor] = {f.name: f for f in BUILTINS}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in found:
            continue  # a built-in's own declaration, or a plugin may not replace one
        try:
            obj: Any = ep.load()
            flavor: Flavor = obj() if isinstance(obj, type) else obj
            found[flavor.name] = flavor
        except Exception as e:
            # One broken plugin must not stop every other model from loading.
            _log.warning("flavor plugin %s (%s) failed to load: %s", ep.name, ep.value, e)
    return found


def get(name: str) -> Flavor:
    flavor = registered().get(name)
    if flavor is None:
        raise Invalid(f"unknown flavor {name!r}; supported flavors: {describe()}")
    return flavor


def find(name: str) -> Flavor | None:
    return registered().get(name)


def for_model(model: object) -> Flavor:
    """The first flavor that accepts the object."""
    for flavor in registered().values():
        if flavor.accepts(model):
            return flavor
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    raise Invalid(f"cannot save a model of type {kind}; supported flavors: {describe()}")


def describe() -> str:
    return ", ".join(f"{f.name} ({f.help})" for f in registered().values())


def framework_of(info: PackageInfo) -> str | None:
    """ "xgboost 3.2.0": the framework a package was saved with, when it records one."""
    flavor = find(info.flavor)
    if flavor is None or flavor.framework is None or info.framework_version is None:
        return None
    return f"{flavor.framework} {info.framework_version}"
