"""① Ingest: readers (KCS CSV, mapped CSV, JSON Lines) → canonical declarations; validation; quarantine."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["frame", "mapping", "models", "schemas", "service", "store"]
