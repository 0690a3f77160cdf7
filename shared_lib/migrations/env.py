"""Alembic's entry point: migrate the database of the current settings, online."""

from alembic import context

from shared_lib.db import get_engine
from shared_lib.migrations import metadata

with get_engine().connect() as connection:
    context.configure(connection=connection, target_metadata=metadata(), compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
