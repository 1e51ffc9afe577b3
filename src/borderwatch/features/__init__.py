"""② Time-safe features of declarations: each value uses only what was known before the declaration's date."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["build", "history", "reconcile"]
