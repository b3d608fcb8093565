"""Metadata persistence on SQLAlchemy 2: SQLite embedded, PostgreSQL for teams."""

from mlpipex.store.engine import Store

__all__ = ["Store"]
