"""The Open Inference Protocol v2 (KServe, Triton, MLServer) over REST: model metadata from the
signature, and ``infer`` requests and answers as named tensors (shape, datatype, row-major data).

A model taking a numeric array takes one 2-D tensor ``[rows, columns]``; a model taking a table
takes one 1-D tensor per column, named by the column (or one 2-D tensor, matched by position).
Outputs are one tensor ``predict`` for an array, one tensor per column for a table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlpipex.errors import Invalid
from mlpipex.flavors.signature import NDARRAY, ColumnSpec, Signature
from mlpipex.serving import codec
from mlpipex.serving.inputs import prepare, takes_array
from mlpipex.serving.served import ServedModel

OUTPUT = "predict"
ARRAY_INPUT = "input-0"

_DTYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_FROM_NUMPY = {v: k for k, v in _DTYPES.items() if k != "BYTES"}
_FROM_COLUMN_TYPE = {
    "double": "FP64",
    "float": "FP32",
    "long": "INT64",
    "integer": "INT32",
    "boolean": "BOOL",
}


@dataclass(frozen=True, slots=True)
class InferRequest:
    data: Any  # checked against the signature
    rows: int
    params: dict[str, Any] | None
    id: str | None
    outputs: list[str] | None  # the output names asked for, None for all


def metadata(served: ServedModel) -> dict[str, Any]:
    sig = served.signature
    return {
        "name": served.name,
        "versions": [served.version] if served.version else [],
        "platform": served.model.info.flavor,
        "inputs": [] if sig is None else _input_tensors(sig),
        "outputs": [] if sig is None or sig.outputs is None else _output_tensors(sig.outputs),
    }


def parse(body: bytes, signature: Signature | None) -> InferRequest:
    doc = codec.loads(body)
    if not isinstance(doc, dict):
        raise Invalid("the inference request must be a JSON object with an 'inputs' list")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise Invalid("'inputs' must be a non-empty list of tensors")
    tensors = [_tensor(i, t) for i, t in enumerate(inputs)]
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise Invalid("'id' must be a string")
    params = doc.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise Invalid("'parameters' must be a JSON object")
    data, rows = prepare(signature, _table(signature, tensors))
    return InferRequest(data, rows, params or None, request_id, _requested(doc.get("outputs")))


def render(served: ServedModel, output: Any, request: InferRequest) -> bytes:
    tensors = _tensors_of(output)
    if request.outputs is not None:
        names = {t["name"] for t in tensors}
        unknown = [n for n in request.outputs if n not in names]
        if unknown:
            raise Invalid(f"unknown output {unknown[0]!r}; the model returns: {', '.join(names)}")
        tensors = [t for t in tensors if t["name"] in request.outputs]
    answer: dict[str, Any] = {"model_name": served.name}
    if served.version:
        answer["model_version"] = served.version
    if request.id is not None:
        answer["id"] = request.id
    answer["outputs"] = tensors
    return codec.dumps(answer)


def _tensor(i: int, t: Any) -> tuple[str, np.ndarray]:
    where = f"inputs[{i}]"
    if not isinstance(t, dict):
        raise Invalid(f"{where} must be a JSON object with name, shape, datatype and data")
    for key in ("name", "shape", "datatype", "data"):
        if key not in t:
            raise Invalid(f"{where} has no '{key}'")
    name, shape, datatype = t["name"], t["shape"], t["datatype"]
    where = f"{where} ({name!r})"
    if not isinstance(name, str):
        raise Invalid(f"{where}: 'name' must be a string")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise Invalid(f"{where}: 'shape' must be a list of non-negative integers")
    dtype = _DTYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise Invalid(f"{where}: unknown datatype {datatype!r}; one of {', '.join(_DTYPES)}")
    try:
        arr = np.asarray(t["data"], dtype=dtype)
    except (ValueError, TypeError) as e:
        raise Invalid(f"{where}: 'data' is not {datatype} values in a regular array: {e}") from None
    size = math.prod(shape)
    if arr.size != size:
        raise Invalid(f"{where}: 'data' holds {arr.size} values but shape {shape} needs {size}")
    return name, arr.reshape(shape)  # row-major, flat or nested alike


def _table(signature: Signature | None, tensors: list[tuple[str, np.ndarray]]) -> Any:
    names = [] if signature is None else signature.names
    if len(tensors) == 1 and (tensors[0][0] not in names or len(names) == 1):
        arr = tensors[0][1]
        if len(names) == 1 and arr.ndim == 1:
            return arr.reshape(-1, 1)
        return arr
    columns: dict[str, np.ndarray] = {}
    for name, arr in tensors:
        if names and name not in names:
            raise Invalid(f"unknown input {name!r}; the model takes: {', '.join(names)}")
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise Invalid(f"input {name!r} is a column: its shape must be [rows] or [rows, 1]")
        columns[name] = arr
    lengths = {len(a) for a in columns.values()}
    if len(lengths) > 1:
        raise Invalid("the input columns have different numbers of rows")
    if signature is not None and takes_array(signature):
        missing = [n for n in names if n not in columns]
        if missing:
            raise Invalid(f"missing input {missing[0]!r}; the model takes: {', '.join(names)}")
        return np.column_stack([columns[n] for n in names])
    return pd.DataFrame(columns)


def _requested(outputs: Any) -> list[str] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise Invalid("'outputs' must be a list of objects with a 'name'")
    return [o["name"] for o in outputs]


def _tensors_of(output: Any) -> list[dict[str, Any]]:
    if isinstance(output, pd.DataFrame):
        return [_out(str(c), output[c].to_numpy()) for c in output.columns]
    if isinstance(output, pd.Series):
        return [_out(OUTPUT if output.name is None else str(output.name), output.to_numpy())]
    return [_out(OUTPUT, np.asarray(output))]


def _out(name: str, arr: np.ndarray) -> dict[str, Any]:
    datatype = _FROM_NUMPY.get(arr.dtype.name, "BYTES")
    flat = arr.reshape(-1)
    data: Any = flat if datatype != "BYTES" else [_text(v) for v in flat.tolist()]
    return {"name": name, "shape": list(arr.shape), "datatype": datatype, "data": data}


def _text(v: Any) -> Any:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def _input_tensors(sig: Signature) -> list[dict[str, Any]]:
    if sig.format == NDARRAY:
        return [_spec(ARRAY_INPUT, _common(sig.inputs), [-1, len(sig.inputs)])]
    return [_spec(n, _type(c), [-1]) for n, c in zip(sig.names, sig.inputs, strict=True)]


def _output_tensors(outputs: tuple[ColumnSpec, ...]) -> list[dict[str, Any]]:
    # An array output has unnamed columns (or "0".."n-1"): one tensor, as _tensors_of answers.
    if all(c.name in (None, str(i)) for i, c in enumerate(outputs)):
        shape = [-1] if len(outputs) == 1 else [-1, len(outputs)]
        return [_spec(OUTPUT, _common(outputs), shape)]
    return [_spec(c.name or OUTPUT, _type(c), [-1]) for c in outputs]


def _spec(name: str, datatype: str, shape: list[int]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape}


def _type(column: ColumnSpec) -> str:
    return _FROM_COLUMN_TYPE.get(column.type, "BYTES")


def _common(columns: tuple[ColumnSpec, ...]) -> str:
    types = {_type(c) for c in columns}
    return types.pop() if len(types) == 1 else "BYTES"
