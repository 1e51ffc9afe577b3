"""The HTTP API and the analyst workspace: ``create_app(settings)`` builds the FastAPI application."""
