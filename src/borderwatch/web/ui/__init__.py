"""Server-rendered workspace pages (Jinja2 + htmx)."""
