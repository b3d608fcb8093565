"""Metadata persistence on SQLAlchemy 2: SQLite embedded, PostgreSQL for teams."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpipex import lazy

if TYPE_CHECKING:
    from mlpipex.store.engine import Store

__all__ = ["Store"]


# The engine (SQLAlchemy) loads on first use, so that a module of the store that needs no
# SQLAlchemy (store/registry/sqlite_read.py, for the CLI's `show`) imports without it.
_LAZY = {"Store": "mlpipex.store.engine"}
__getattr__ = lazy.exports(__name__, _LAZY)
