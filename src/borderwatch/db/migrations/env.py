"""Alembic environment: runs on the engine handed over by ``borderwatch.db.session.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from borderwatch.db.registry import metadata

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through borderwatch.db.session.migrate(engine)")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
