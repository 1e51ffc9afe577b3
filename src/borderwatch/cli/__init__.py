"""Typer commands, one module per stage; ``main`` assembles them."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["main"]
