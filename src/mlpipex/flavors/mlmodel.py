"""MLflow model directories: an ``MLmodel`` YAML file read into a ``PackageInfo``, so MLflow's
sklearn and models-from-code pyfunc directories load through our flavors (mlflow itself is
never imported: its format is plain YAML with JSON-encoded signatures)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import yaml

from mlpipex.errors import Corrupt
from mlpipex.flavors.base import PackageInfo, inside
from mlpipex.flavors.signature import NDARRAY, ColumnSpec, Signature, type_of

MLMODEL = "MLmodel"
PYFUNC = "python_function"
# MLflow's loader for models-from-code; other pyfunc loaders unpickle a python_model.
_CODE_LOADER = "mlflow.pyfunc.loaders.code_model"


def read(path: Path) -> PackageInfo:
    try:
        doc = yaml.safe_load((path / MLMODEL).read_text())
        flavors: Mapping[str, Any] = doc["flavors"]
    except (yaml.YAMLError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise Corrupt(f"{path / MLMODEL} is not a valid MLmodel file: {e}") from e
    pyfunc = flavors.get(PYFUNC) or {}
    kw: dict[str, Any] = {"artifacts": {}, "trusted_types": (), "pickle": False}
    if "sklearn" in flavors:
        conf = flavors["sklearn"]
        serialization = str(conf.get("serialization_format") or "pickle")
        kw.update(
            flavor="sklearn",
            model_file=inside(conf["pickled_model"]),
            serialization=serialization,
            pickle=serialization != "skops",
            trusted_types=tuple(conf.get("skops_trusted_types") or ()),
        )
    elif "onnx" in flavors:
        kw.update(flavor="onnx", model_file=inside(flavors["onnx"]["data"]), serialization="onnx")
    elif "model_code_path" in pyfunc or pyfunc.get("loader_module") == _CODE_LOADER:
        # MLflow records the code file's original absolute path; the copy sits at the top.
        code = PurePosixPath(str(pyfunc.get("model_code_path", "")).replace("\\", "/")).name
        kw.update(flavor="python", model_file=inside(code), serialization="code")
    elif "python_model" in pyfunc:
        kw.update(
            flavor="python",
            model_file=inside(pyfunc["python_model"]),
            serialization="cloudpickle",
            pickle=True,
        )
    else:
        others = [f for f in flavors if f != PYFUNC]
        kw.update(flavor=others[0] if others else PYFUNC, serialization=None)
    if kw["flavor"] == "python":
        kw["artifacts"] = {
            str(name): inside(a["path"]) for name, a in (pyfunc.get("artifacts") or {}).items()
        }
    return PackageInfo(
        path=path,
        signature=_signature(doc.get("signature")),
        profile=None,
        requirements=_requirements(path / "requirements.txt"),
        source="mlflow",
        loader=str(pyfunc.get("loader_module", "")),
        python_version=pyfunc.get("python_version"),
        **kw,
    )


def _signature(sig: Any) -> Signature | None:
    if not isinstance(sig, Mapping) or not sig.get("inputs"):
        return None
    try:
        inputs = json.loads(sig["inputs"])
        outputs = json.loads(sig["outputs"]) if sig.get("outputs") else None
    except (TypeError, ValueError) as e:
        raise Corrupt(f"the MLmodel signature is not valid JSON: {e}") from e
    if inputs and inputs[0].get("type") == "tensor":
        return _tensor_signature(inputs)
    cols = tuple(_column(c) for c in inputs)
    out = None
    if outputs and outputs[0].get("type") != "tensor":
        out = tuple(_column(c) for c in outputs)
    return Signature(cols, out)


def _column(c: Mapping[str, Any]) -> ColumnSpec:
    return ColumnSpec(c.get("name"), str(c.get("type")), bool(c.get("required", True)))


def _tensor_signature(inputs: list[dict[str, Any]]) -> Signature | None:
    """One 2-D tensor of fixed width is an array model; anything else we do not check."""
    if len(inputs) != 1:
        return None
    spec = inputs[0].get("tensor-spec") or {}
    shape = spec.get("shape") or []
    if len(shape) != 2 or not isinstance(shape[1], int) or shape[1] < 0:
        return None
    t = type_of(_numpy_dtype(str(spec.get("dtype", "float64"))))
    return Signature(tuple(ColumnSpec(str(i), t) for i in range(shape[1])), None, NDARRAY)


def _numpy_dtype(name: str) -> np.dtype[Any]:
    try:
        return np.dtype(name)
    except TypeError:
        return np.dtype("object")


def _requirements(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        return ()
    lines = (line.strip() for line in path.read_text().splitlines())
    return tuple(line for line in lines if line and not line.startswith(("#", "-")))
