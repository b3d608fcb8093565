"""``column IN (a list bound as one parameter)``: the page reads (a page's runs, versions, logged
models) compare a column with a list of keys.

SQLAlchemy's expanding ``IN`` renders one placeholder per item into the SQL text on every call
(its "post-compile" step), which cost more than SQLite running the statement. Here the list is
one parameter, so the SQL is compiled once per dialect and the list merely bound: SQLite reads
it as a JSON array (``IN (SELECT value FROM json_each(?))``, still probing the column's index)
and PostgreSQL as an array (``= ANY(%(ids)s)``). Neither has a limit on the list's length.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class _IdList(sa.types.TypeDecorator[Any]):
    """A list of keys (strings or integers), bound as what the dialect reads as a list."""

    impl = sa.types.NullType
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        items = list(value)
        # str: SQLite's json_each reads text (orjson writes bytes, in a fifth of json's time)
        return items if dialect.name == "postgresql" else orjson.dumps(items).decode()


class _InIds(sa.ColumnElement[bool]):
    """``col`` is one of the list bound to ``ids``."""

    inherit_cache = True  # its SQL is fully decided by its two children, in the cache key
    type = sa.Boolean()
    _is_implicitly_boolean = True  # else SQLite's compiler appends "= 1", which skips indexes
    _traverse_internals = [
        ("col", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, col: sa.ColumnElement[Any], ids: sa.BindParameter[Any]) -> None:
        self.col, self.ids = col, ids


@compiles(_InIds)
def _in_json(el: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    col, ids = compiler.process(el.col, **kw), compiler.process(el.ids, **kw)
    return f"{col} IN (SELECT value FROM json_each({ids}))"


@compiles(_InIds, "postgresql")
def _any_array(el: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(el.col, **kw)} = ANY({compiler.process(el.ids, **kw)})"


_LIST = _IdList()  # one instance: SQLAlchemy computes a type's cache key once per instance


def in_ids(
    col: sa.ColumnElement[Any], values: Iterable[Any] | None = None, *, name: str = "ids"
) -> sa.ColumnElement[bool]:
    """col IN a list: bound as name at execution when values is None (a statement built once
    over any page), else bound now to values."""
    if values is None:
        return _InIds(col, sa.bindparam(name, type_=_LIST))
    return _InIds(col, sa.bindparam(None, list(values), type_=_LIST))
