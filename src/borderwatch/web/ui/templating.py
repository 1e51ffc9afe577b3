"""The workspace's Jinja templates and their filters: imported by the pages and by the error handlers, and
importing nothing else of the web layer (no cycle through the request dependencies)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from borderwatch.web.ui import codes

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
TEMPLATES.env.filters.update(
    transport_mode=codes.transport_mode, country=codes.country, unit=codes.unit, percent=codes.percent
)
