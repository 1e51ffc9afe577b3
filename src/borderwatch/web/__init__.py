"""The HTTP API and the analyst workspace: ``create_app(settings)`` builds the FastAPI application."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["app"]
