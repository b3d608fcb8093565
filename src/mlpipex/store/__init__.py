"""Metadata persistence on SQLAlchemy 2: SQLite embedded, PostgreSQL for teams."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlpipex.store.engine import Store

__all__ = ["Store"]


def __getattr__(name: str) -> object:
    # The engine (SQLAlchemy) loads on first use, so that a module of the store that needs no
    # SQLAlchemy (store/registry/sqlite_read.py, for the CLI's `show`) imports without it.
    if name == "Store":
        from mlpipex.store.engine import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
