"""Storage: SQLAlchemy metadata, engine/session factory built from settings, Alembic migrations."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["base", "partitions", "registry", "session"]
