"""Loading a model package: verify its digests, refuse pickles unless trusted, load it with its
flavor, and check every prediction's input against the signature."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlpipex.errors import Invalid, NotFound
from mlpipex.flavors import registry
from mlpipex.flavors.base import CODE_REFUSED, PICKLE_REFUSED, Flavor, PackageInfo, Predictor
from mlpipex.flavors.framework import version_of
from mlpipex.flavors.package import check_loader, read_package, verify_info
from mlpipex.flavors.signature import Signature, as_table, validate_input


class LoadedModel:
    """A model ready to predict; ``raw`` is the framework object (estimator, onnxruntime
    session, or the PythonModel instance)."""

    def __init__(self, info: PackageInfo, predictor: Predictor) -> None:
        self.info = info
        self._predictor = predictor

    @property
    def signature(self) -> Signature | None:
        return self.info.signature

    @property
    def raw(self) -> Any:
        return self._predictor.raw

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        sig = self.info.signature
        model_input = validate_input(sig, data) if sig is not None else as_table(data)
        return self._predictor.predict(model_input, params)

    def __repr__(self) -> str:
        return f"LoadedModel(flavor={self.info.flavor!r}, path={str(self.info.path)!r})"


def load_model(path: Path, *, allow_pickle: bool = False, verify: bool = True) -> LoadedModel:
    """Load a package written by ``save_model`` or an MLflow model directory. A package whose
    loading runs code it carries (a pickle, a Python file) loads only with ``allow_pickle``."""
    info = read_package(Path(path))
    check_loader(info)
    if verify:
        verify_info(info)
    if info.pickle and not allow_pickle:
        raise Invalid(CODE_REFUSED if info.serialization == "code" else PICKLE_REFUSED)
    flavor = registry.find(info.flavor)
    if flavor is None or info.model_file is None:
        raise Invalid(
            f"cannot load flavor {info.flavor!r}; supported flavors: "
            f"{', '.join(registry.registered())} (and MLflow directories of those)"
        )
    file = info.path / info.model_file
    if not file.is_file():
        raise NotFound(f"model file {info.model_file} is missing from {info.path}")
    _check_framework(flavor, info)
    return LoadedModel(info, flavor.load(info, file, allow_pickle))


class FrameworkVersionWarning(UserWarning):
    """The package was saved under another major version of its framework."""


def _check_framework(flavor: Flavor, info: PackageInfo) -> None:
    if flavor.framework is None or info.framework_version is None:
        return
    here = version_of(flavor.framework)
    if here is None:
        return  # the flavor's load says how to install it
    if _major(here) != _major(info.framework_version):
        warnings.warn(
            f"{info.path.name} was saved with {flavor.framework} {info.framework_version} and is "
            f"loaded with {here}: predictions may differ",
            FrameworkVersionWarning,
            stacklevel=3,
        )


def _major(v: str) -> str:
    return v.split(".", 1)[0]
