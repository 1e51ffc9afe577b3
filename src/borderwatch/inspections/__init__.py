"""⑤ Inspections: cases opened for selected declarations, their findings and seizures."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["answers", "flows", "models", "service"]
