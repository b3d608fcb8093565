"""JSON in and out of the server: orjson when installed (it writes numpy arrays natively, the
hot path's main cost), else the standard library with a numpy-aware fallback. orjson writes NaN
as null (valid JSON) where MLflow's server writes a bare NaN."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from mlpipex.errors import Invalid


def _default(o: Any) -> Any:
    """What JSON cannot hold natively, as MLflow's scoring server writes it."""
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, bytes | bytearray):
        return base64.encodebytes(bytes(o)).decode("ascii")
    if isinstance(o, dt.date | dt.datetime | dt.time):
        return o.isoformat()
    if hasattr(o, "isoformat"):  # pandas Timestamp
        return o.isoformat()
    raise TypeError(f"cannot write a {type(o).__name__} as JSON")


def _stdlib_dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default, allow_nan=True, separators=(",", ":")).encode()


dumps: Callable[[Any], bytes]
_loads: Callable[[bytes], Any]
try:
    import orjson

    _OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

    def _orjson_dumps(value: Any) -> bytes:
        try:
            return orjson.dumps(value, default=_default, option=_OPTIONS)
        except TypeError:
            # Integers past 64 bits and the like; orjson hands odd arrays to _default itself.
            return _stdlib_dumps(value)

    dumps, _loads = _orjson_dumps, orjson.loads
    _DECODE_ERRORS: tuple[type[Exception], ...] = (ValueError,)
except ImportError:  # pragma: no cover - depends on the environment
    dumps, _loads = _stdlib_dumps, json.loads
    _DECODE_ERRORS = (ValueError, UnicodeDecodeError)


def loads(body: bytes) -> Any:
    """Parse a request body; a malformed one is the client's error, named as such."""
    try:
        return _loads(body)
    except _DECODE_ERRORS as e:
        raise Invalid(f"the request body is not valid JSON: {e}") from None
