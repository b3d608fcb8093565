"""Loading a model package: verify its digests, refuse pickles unless trusted, load it with its
flavor, and check every prediction's input against the signature."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlpipex.errors import Invalid, NotFound
from mlpipex.flavors import onnx, python, sklearn
from mlpipex.flavors.base import PICKLE_REFUSED, PackageInfo, Predictor
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
    """Load a package written by ``save_model`` or an MLflow model directory."""
    info = read_package(Path(path))
    check_loader(info)
    if verify:
        verify_info(info)
    if info.pickle and not allow_pickle:
        raise Invalid(PICKLE_REFUSED)
    return LoadedModel(info, _load(info, allow_pickle))


def _load(info: PackageInfo, allow_pickle: bool) -> Predictor:
    if info.model_file is None:
        raise Invalid(
            f"cannot load flavor {info.flavor!r}; supported flavors: sklearn, onnx, "
            "python (and MLflow directories of those)"
        )
    file = info.path / info.model_file
    if not file.is_file():
        raise NotFound(f"model file {info.model_file} is missing from {info.path}")
    if info.flavor == "sklearn":
        return sklearn.load(file, info.serialization or "pickle", info.trusted_types, allow_pickle)
    if info.flavor == "onnx":
        return onnx.load(file)
    artifacts = {name: info.path / rel for name, rel in info.artifacts.items()}
    if info.serialization == "code":
        return python.load_code_model(file, artifacts)
    if not allow_pickle:
        raise Invalid(PICKLE_REFUSED)
    with file.open("rb") as f:
        return python.with_context(pickle.load(f), artifacts)
