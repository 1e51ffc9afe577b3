"""Alembic environment: runs on the engine handed over by ``borderwatch.db.session.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from borderwatch.db.registry import metadata
from borderwatch.db.session import lock_migrations, write_transaction

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through borderwatch.db.session.migrate(engine)")

# One writer's transaction: on SQLite the DDL is transactional too (pysqlite alone would autocommit each
# CREATE and ALTER), so a migration that fails leaves the schema as it was.
with write_transaction(engine) as connection:
    lock_migrations(connection)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
