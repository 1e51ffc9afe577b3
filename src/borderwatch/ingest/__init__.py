"""① Ingest: readers (KCS CSV, mapped CSV, JSON Lines, EDIFACT) → canonical declarations and manifest lines;
validation; quarantine."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["archive", "edifact", "frame", "mapping", "models", "schemas", "service", "store"]
