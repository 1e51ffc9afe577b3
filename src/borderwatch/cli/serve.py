"""``borderwatch serve``: the API and the workspace over HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from borderwatch.core.settings import get_settings


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="serve Prometheus metrics on this port (not on the workspace's)"),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="address of the metrics port: only the monitoring network should reach it")
    ] = "127.0.0.1",
) -> None:
    """Serve the API (OpenAPI at /openapi.json) and the workspace on the configured database; Prometheus
    metrics on a port of their own with --metrics-port."""
    from borderwatch.web.app import serve as run

    run(get_settings(), host=host, port=port, metrics_port=metrics_port, metrics_host=metrics_host)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
