"""The "onnx" flavor: an ONNX graph run by onnxruntime on the CPU. Input goes to the graph's first
input as float32; classifiers converted by skl2onnx answer with their label output, as
scikit-learn's ``predict`` does."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipex.errors import Invalid
from mlpipex.flavors.base import PackageInfo, Saved, SaveOptions, Stored, Trust, inside
from mlpipex.flavors.signature import NDARRAY, ColumnSpec, Signature

MODEL_FILE = "model.onnx"
_ORT_TYPE = {
    "tensor(float)": "float",
    "tensor(double)": "double",
    "tensor(int64)": "long",
    "tensor(int32)": "integer",
    "tensor(bool)": "boolean",
    "tensor(string)": "string",
}


def is_onnx(model: object) -> bool:
    if isinstance(model, str | Path):
        return str(model).endswith(".onnx")
    return type(model).__name__ == "ModelProto" and type(model).__module__.startswith("onnx")


class OnnxModel:
    def __init__(self, source: bytes | Path) -> None:
        import onnxruntime as ort

        try:
            self.raw = ort.InferenceSession(
                source if isinstance(source, bytes) else str(source),
                providers=["CPUExecutionProvider"],
            )
        except Exception as e:
            raise Invalid(f"onnxruntime cannot load the model: {e}") from e
        first = self.raw.get_inputs()[0]
        self.input_name = first.name
        self.input_shape = first.shape
        self.input_type = first.type
        outputs = [o.name for o in self.raw.get_outputs()]
        labels = [n for n in outputs if "label" in n.lower()]
        self.output_name = labels[0] if labels else outputs[0]

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        arr = data.to_numpy() if isinstance(data, pd.DataFrame) else np.asarray(data)
        (out,) = self.raw.run([self.output_name], {self.input_name: arr.astype(np.float32)})
        # Regressors answer (n, 1); scikit-learn's predict answers (n,).
        if isinstance(out, np.ndarray) and out.ndim == 2 and out.shape[1] == 1:
            return out.ravel()
        return out

    def signature(self) -> Signature | None:
        """The input signature the graph declares, when it is a 2-D tensor of fixed width."""
        shape = self.input_shape
        if len(shape) != 2 or not isinstance(shape[1], int):
            return None
        t = _ORT_TYPE.get(self.input_type, "float")
        return Signature(tuple(ColumnSpec(str(i), t) for i in range(shape[1])), None, NDARRAY)


def save(dest: Path, model: Any) -> Saved:
    target = dest / MODEL_FILE
    if isinstance(model, str | Path):
        if not Path(model).is_file():
            raise Invalid(f"ONNX model file {model} does not exist")
        shutil.copyfile(model, target)
    else:
        target.write_bytes(model.SerializeToString())
    predictor = OnnxModel(target)
    return Saved(
        model_file=MODEL_FILE,
        serialization="onnx",
        predictor=predictor,
        requirements=["onnxruntime"],
        signature=predictor.signature(),
    )


def load(file: Path) -> OnnxModel:
    return OnnxModel(file)


class OnnxFlavor:
    name = "onnx"
    loader = "mlpipex.flavors.onnx"
    # The graph is the model; what runs it is onnxruntime, whose version the package records.
    framework = "onnxruntime"
    help = "an onnx.ModelProto or a .onnx file"

    def accepts(self, model: object) -> bool:
        return is_onnx(model)

    def save(self, dest: Path, model: Any, options: SaveOptions) -> Saved:
        return save(dest, model)

    def load(self, info: PackageInfo, file: Path, allow_pickle: bool) -> OnnxModel:
        return load(file)

    def trust(self, serialization: str | None) -> Trust:
        return Trust.NONE

    def from_mlmodel(self, flavors: Mapping[str, Any]) -> Stored | None:
        conf = flavors.get("onnx")
        if not isinstance(conf, Mapping):
            return None
        return Stored(inside(conf["data"]), "onnx")


ONNX = OnnxFlavor()
