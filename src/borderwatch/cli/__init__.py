"""Typer commands, one module per stage; ``main`` assembles them."""
