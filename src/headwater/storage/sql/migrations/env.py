"""Alembic environment: the connection is handed over by headwater.storage.sql.migrate."""

from __future__ import annotations

from alembic import context

from headwater.storage.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `headwater migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
