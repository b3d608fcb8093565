"""The native API's answers read back into the values its routes are declared to return (the
same domain and service dataclasses), by pydantic: one definition of each answer serves the
server that encodes it and the client that decodes it."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")
# built once per type: building an adapter costs more than a read
_adapters: dict[object, TypeAdapter[Any]] = {}


def read(kind: type[T], data: object) -> T:
    """data (parsed JSON) as a kind, checked: a server of another version fails here, loudly."""
    adapter = _adapters.get(kind)
    if adapter is None:
        adapter = _adapters[kind] = TypeAdapter(kind)
    value: T = adapter.validate_python(data)
    return value
