"""MLflow's scoring protocol (``POST /invocations``): the request formats of ``mlflow models
serve`` (JSON ``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs`` with optional
``params``; CSV; Parquet) and its ``{"predictions": ...}`` answer."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlpipex.errors import Invalid
from mlpipex.flavors.signature import Signature
from mlpipex.serving import codec
from mlpipex.serving.inputs import (
    frame,
    from_columns,
    from_records,
    from_rows,
    prepare,
    takes_array,
)

CSV = "text/csv"
JSON = "application/json"
PARQUET = "application/vnd.apache.parquet"
MEDIA_TYPES = (CSV, JSON, PARQUET)
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_SPLIT_KEYS = frozenset({"columns", "data", "index"})


@dataclass(frozen=True, slots=True)
class Request:
    data: Any  # checked against the signature
    rows: int
    params: dict[str, Any] | None


def media_type(content_type: str | None) -> str | None:
    """The supported media type of a Content-Type header, or None (answered 415, as MLflow
    does for other types, other charsets and unknown parameters). No header means JSON."""
    if not content_type:
        return JSON
    mime, *options = (p.strip() for p in content_type.split(";"))
    for option in options:
        key, _, value = option.partition("=")
        if key.strip().lower() != "charset" or value.strip().strip('"').lower() != "utf-8":
            return None
    mime = mime.lower()
    return mime if mime in MEDIA_TYPES else None


def parse(body: bytes, mime: str, signature: Signature | None) -> Request:
    if mime == JSON:
        return _json(body, signature)
    if mime == CSV:
        table = _read(pd.read_csv, body, "CSV")
    else:
        table = _read(pd.read_parquet, body, "Parquet")
    data, rows = prepare(signature, table)
    return Request(data, rows, None)


def render(predictions: Any) -> bytes:
    """The answer body, with pandas outputs as records, as MLflow writes them."""
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_frame()
    if isinstance(predictions, pd.DataFrame):
        predictions = predictions.to_dict(orient="records")
    return codec.dumps({"predictions": predictions})


def _json(body: bytes, signature: Signature | None) -> Request:
    doc = codec.loads(body)
    if not isinstance(doc, dict):
        raise Invalid(
            f"the input must be a JSON object with exactly one of the fields {', '.join(FORMATS)};"
            f" got {'a list' if isinstance(doc, list) else type(doc).__name__}"
        )
    found = [k for k in FORMATS if k in doc]
    if len(found) != 1:
        raise Invalid(
            f"the input must hold exactly one of the fields {', '.join(FORMATS)}; "
            f"got fields: {', '.join(map(str, doc)) or 'none'}"
        )
    params = doc.get("params")
    if params is not None and not isinstance(params, dict):
        raise Invalid('"params" must be a JSON object of parameter names and values')
    fmt = found[0]
    data, rows = prepare(signature, _decode(fmt, doc[fmt], signature))
    return Request(data, rows, params or None)


def _decode(fmt: str, value: Any, signature: Signature | None) -> Any:
    if fmt == "dataframe_split":
        return _split(value, signature)
    if fmt == "dataframe_records":
        return from_records(signature, value, fmt)
    # instances and inputs: TF serving's forms, a list of rows or records, or columns.
    if isinstance(value, dict):
        return from_columns(value, fmt)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return from_records(signature, value, fmt)
    return from_rows(signature, value, fmt)


def _split(value: Any, signature: Signature | None) -> Any:
    field = "dataframe_split"
    if not isinstance(value, dict):
        raise Invalid(f"{field} must be a JSON object with 'data' and optionally 'columns'")
    extra = sorted(set(value) - _SPLIT_KEYS)
    if "data" not in value or extra:
        raise Invalid(
            f"{field} must have a 'data' field and optionally 'columns' and 'index'"
            + (f"; unexpected: {', '.join(extra)}" if extra else "; 'data' is missing")
        )
    columns = value.get("columns")
    if (
        takes_array(signature)
        and signature is not None
        and columns in (None, signature.names)
        and "index" not in value
    ):
        return from_rows(signature, value["data"], f"{field}.data")
    return frame(field, value["data"], columns=columns, index=value.get("index"))


def _read(reader: Any, body: bytes, what: str) -> pd.DataFrame:
    try:
        table: pd.DataFrame = reader(io.BytesIO(body))
    except Exception as e:
        raise Invalid(f"the request body is not a readable {what} table: {e}") from None
    return table
