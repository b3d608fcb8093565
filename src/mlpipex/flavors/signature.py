"""Model signatures: the columns a model takes and returns, inferred from example data, and the
check every prediction request passes through (the model server calls ``validate_input`` per
request, so it works column by column, never row by row)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlpipex.errors import Invalid

# MLflow's column type names, so signatures read from an MLmodel file need no translation.
NUMERIC = frozenset({"double", "float", "long", "integer"})
_NUMPY_DTYPE = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
}
_TENSOR_TYPE = {
    "float64": "double",
    "float32": "float",
    "float16": "float",
    "int64": "long",
    "int32": "integer",
    "int16": "integer",
    "int8": "integer",
    "uint8": "integer",
    "uint16": "integer",
    "uint32": "long",
    "uint64": "long",
    "bool": "boolean",
    "str": "string",
    "object": "string",
    "bytes": "binary",
}

DATAFRAME = "dataframe"
NDARRAY = "ndarray"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: its name (None for an unnamed output) and its MLflow-style type name."""

    name: str | None
    type: str
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "type": self.type}
        if not self.required:
            d["required"] = False
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnSpec:
        name = d.get("name")
        return cls(
            None if name is None else str(name), str(d["type"]), bool(d.get("required", True))
        )


@dataclass(frozen=True, slots=True)
class Signature:
    """Inputs and (when known) outputs. ``format`` says what the model is handed: a DataFrame
    with these column names, or a 2-D numpy array whose columns are named "0".."n-1"."""

    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...] | None = None
    format: str = DATAFRAME

    @property
    def names(self) -> list[str]:
        return [c.name or str(i) for i, c in enumerate(self.inputs)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "inputs": [c.to_dict() for c in self.inputs],
            "outputs": None if self.outputs is None else [c.to_dict() for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Signature:
        outputs = d.get("outputs")
        return cls(
            tuple(ColumnSpec.from_dict(c) for c in d["inputs"]),
            None if outputs is None else tuple(ColumnSpec.from_dict(c) for c in outputs),
            str(d.get("format", DATAFRAME)),
        )


def type_of(dtype: Any) -> str:
    """The column type name of a numpy or pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return _TENSOR_TYPE.get(dtype.name, "double")
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if isinstance(dtype, np.dtype) and dtype.kind == "S":
        return "binary"
    return "string"


def numpy_dtype(type_name: str) -> str:
    return _NUMPY_DTYPE.get(type_name, "object")


def as_table(data: Any) -> pd.DataFrame | np.ndarray:
    """Accept what users and JSON bodies send: a DataFrame, an array, a list of rows, a list of
    records (dicts) or a dict of columns."""
    if isinstance(data, pd.DataFrame | np.ndarray):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data))
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not data:
            raise Invalid("the input holds no rows")
        first = data[0]
        if isinstance(first, Mapping):
            return pd.DataFrame.from_records(list(data))
        if isinstance(first, Sequence) and not isinstance(first, str | bytes):
            # Column by column inference keeps a row like [1.5, "DE"] numeric where it is.
            return pd.DataFrame(list(data))
        return np.asarray(data)
    raise Invalid(
        f"cannot read model input of type {type(data).__name__}",
        hint="pass a pandas DataFrame, a numpy array, a list of rows or a list of records",
    )


def infer_signature(example: Any, output: Any = None) -> Signature:
    """The signature of example input data (and of the model's output on it, when given)."""
    table = as_table(example)
    if isinstance(table, pd.DataFrame):
        inputs = tuple(ColumnSpec(str(c), type_of(t)) for c, t in table.dtypes.items())
        fmt = DATAFRAME
    else:
        arr = table.reshape(-1, 1) if table.ndim == 1 else table
        if arr.ndim != 2:
            raise Invalid(f"cannot infer a signature from a {arr.ndim}-D array; pass 2-D data")
        inputs = tuple(ColumnSpec(str(i), type_of(arr.dtype)) for i in range(arr.shape[1]))
        fmt = NDARRAY
    return Signature(inputs, None if output is None else infer_outputs(output), fmt)


def infer_outputs(output: Any) -> tuple[ColumnSpec, ...] | None:
    """Output columns of a prediction result, or None when its shape says nothing useful."""
    if isinstance(output, pd.DataFrame):
        return tuple(ColumnSpec(str(c), type_of(t)) for c, t in output.dtypes.items())
    if isinstance(output, pd.Series):
        return (
            ColumnSpec(None if output.name is None else str(output.name), type_of(output.dtype)),
        )
    if isinstance(output, list | tuple):
        output = np.asarray(output)
    if isinstance(output, np.ndarray):
        if output.ndim == 1:
            return (ColumnSpec(None, type_of(output.dtype)),)
        if output.ndim == 2:
            return tuple(ColumnSpec(str(i), type_of(output.dtype)) for i in range(output.shape[1]))
    return None


def validate_input(signature: Signature, data: Any) -> pd.DataFrame | np.ndarray:
    """Check data against the signature and return it in the signature's format: a DataFrame with
    exactly the signature's columns in order, or a 2-D array of the signature's dtype."""
    table = as_table(data)
    names = signature.names
    if signature.format == NDARRAY and isinstance(table, np.ndarray):
        return _check_array(signature, table)
    if isinstance(table, np.ndarray):
        arr = table.reshape(1, -1) if table.ndim == 1 and len(names) > 1 else table
        arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
        _check_width(len(names), arr)
        frame = pd.DataFrame(arr, columns=names)
    else:
        frame = _select(signature, table)
    frame = _check_types(signature, frame)
    if signature.format == NDARRAY:
        return _to_array(signature, frame)
    return frame


def _check_width(expected: int, arr: np.ndarray) -> None:
    if arr.ndim != 2:
        raise Invalid(f"expected 2-D input with {expected} columns, got a {arr.ndim}-D array")
    if arr.shape[1] != expected:
        raise Invalid(f"wrong number of columns: expected {expected} got {arr.shape[1]}")


def _check_array(signature: Signature, arr: np.ndarray) -> np.ndarray:
    """The server's hot path: a numeric array for an array model, checked without pandas."""
    n = len(signature.inputs)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1) if n > 1 and arr.shape[0] == n else arr.reshape(-1, 1)
    _check_width(n, arr)
    types = {c.type for c in signature.inputs}
    if types <= NUMERIC | {"boolean"}:
        if arr.dtype.kind not in "biuf":
            try:
                arr = arr.astype("float64")
            except (TypeError, ValueError):
                raise Invalid(f"the input is not numeric (dtype {arr.dtype})") from None
        return arr.astype(_float_dtype(types), copy=False) if _float_dtype(types) else arr
    return _to_array(signature, _check_types(signature, pd.DataFrame(arr, columns=signature.names)))


def _select(signature: Signature, frame: pd.DataFrame) -> pd.DataFrame:
    names = signature.names
    # A list of rows arrives with integer column labels: it can only match by position.
    unnamed = all(isinstance(c, int | np.integer) for c in frame.columns)
    columns = [str(c) for c in frame.columns]
    if columns != list(frame.columns):
        frame = frame.set_axis(columns, axis=1)
    present = set(columns)
    missing = [
        c.name or str(i)
        for i, c in enumerate(signature.inputs)
        if c.required and (c.name or str(i)) not in present
    ]
    if not missing:
        return frame[[n for n in names if n in present]]
    if unnamed or signature.format == NDARRAY:
        if frame.shape[1] != len(names):
            raise Invalid(f"wrong number of columns: expected {len(names)} got {frame.shape[1]}")
        return frame.set_axis(names, axis=1)
    quoted = ", ".join(f'"{m}"' for m in missing)
    raise Invalid(
        f"missing column{'s' if len(missing) > 1 else ''} {quoted}",
        hint=f"the model expects {len(names)} columns: {', '.join(names)}",
    )


def _check_types(signature: Signature, frame: pd.DataFrame) -> pd.DataFrame:
    if any(d == np.dtype(object) for d in frame.dtypes):
        frame = frame.infer_objects()
    dtypes = frame.dtypes
    for i, spec in enumerate(signature.inputs):
        name = spec.name or str(i)
        if name not in dtypes.index:
            continue
        dtype = dtypes[name]
        if spec.type in NUMERIC or spec.type == "boolean":
            if not pd.api.types.is_numeric_dtype(dtype):
                raise Invalid(f'column "{name}" is not numeric (got {dtype}, expected {spec.type})')
        elif spec.type == "datetime" and not (
            pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
        ):
            raise Invalid(f'column "{name}" is not a datetime (got {dtype})')
    return frame


def _to_array(signature: Signature, frame: pd.DataFrame) -> np.ndarray:
    arr: np.ndarray = frame.to_numpy(dtype=_float_dtype({c.type for c in signature.inputs}))
    return arr


def _float_dtype(types: set[str]) -> str | None:
    """The dtype to cast to: only to floats, since casting to integers would truncate values
    and fail on missing ones, and the models taking integers take floats too."""
    return (
        numpy_dtype(next(iter(types))) if len(types) == 1 and types <= {"double", "float"} else None
    )
