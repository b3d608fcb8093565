"""Alembic environment: run with the connection handed in by Store.upgrade()."""

from alembic import context

from mlpipex.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
