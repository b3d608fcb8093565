"""Request data to model input: decoded JSON values become the table ``validate_input`` checks,
without pandas when the signature takes a plain numeric array (a DataFrame costs ~0.3 ms)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlpipex.errors import Invalid
from mlpipex.flavors.signature import NDARRAY, NUMERIC, Signature, as_table, validate_input


def takes_array(signature: Signature | None) -> bool:
    """Whether the model is handed a plain numeric 2-D array."""
    return (
        signature is not None
        and signature.format == NDARRAY
        and all(c.type in NUMERIC or c.type == "boolean" for c in signature.inputs)
    )


def rows_array(rows: Sequence[Any], field: str) -> np.ndarray:
    """A list of rows (lists of numbers) as an array; ragged rows are the client's error."""
    try:
        return np.asarray(rows)
    except ValueError:
        raise Invalid(f"{field}: the rows do not all have the same length") from None


def from_rows(signature: Signature | None, rows: Any, field: str) -> Any:
    """A list of rows, or of scalars for a one-column model."""
    if not isinstance(rows, list):
        raise Invalid(f"{field} must be a list of rows, got {_json_type(rows)}")
    if not rows:
        raise Invalid(f"{field} holds no rows")
    if takes_array(signature) or not isinstance(rows[0], list):
        return rows_array(rows, field)
    return frame(field, rows)


def from_records(signature: Signature | None, records: Any, field: str) -> Any:
    """A list of {column: value} objects."""
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise Invalid(f"{field} must be a list of records (JSON objects, one per row)")
    if not records:
        raise Invalid(f"{field} holds no rows")
    if signature is not None and takes_array(signature):
        names = signature.names
        try:
            return rows_array([[r[n] for n in names] for r in records], field)
        except KeyError:
            pass  # by position, or a missing column that validate_input will name
    return frame(field, records)


def from_columns(columns: Any, field: str) -> Any:
    """A {column: [values]} object."""
    if not isinstance(columns, dict) or not columns:
        raise Invalid(f"{field} must be a non-empty JSON object of columns")
    return frame(field, columns)


def frame(field: str, data: Any, **kwargs: Any) -> pd.DataFrame:
    try:
        if isinstance(data, Mapping) and all(np.isscalar(v) for v in data.values()):
            return pd.DataFrame([dict(data)], **kwargs)  # one record given as scalars
        return pd.DataFrame(data, **kwargs)
    except (ValueError, TypeError) as e:
        raise Invalid(f"{field} is not a valid table: {e}") from None


def prepare(signature: Signature | None, data: Any) -> tuple[Any, int]:
    """(model input checked against the signature, its number of rows)."""
    table = as_table(data) if signature is None else validate_input(signature, data)
    if isinstance(table, np.ndarray) and table.ndim == 0:
        table = table.reshape(1, 1)
    return table, len(table)


def _json_type(value: Any) -> str:
    return {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
