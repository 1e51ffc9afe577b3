"""Storage: SQLAlchemy metadata, engine/session factory built from settings, Alembic migrations."""
