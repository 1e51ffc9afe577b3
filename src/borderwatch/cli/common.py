"""What every command needs: settings, a migrated database, a console, and one way to fail."""

from __future__ import annotations

from datetime import date
from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.settings import Settings, get_settings
from borderwatch.db.session import engine_from_settings, migrate, session_factory

console = Console()
err_console = Console(stderr=True)


def open_database(settings: Settings | None = None) -> tuple[Engine, sessionmaker[Session]]:
    """The configured database, migrated to the current schema."""
    engine = engine_from_settings(settings or get_settings())
    migrate(engine)
    return engine, session_factory(engine)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear sentence and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def parse_date_option(value: str | None, option: str) -> date | None:
    """The date an option such as ``--since`` names (YYYY-MM-DD); None when not given, else exit 2."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date as YYYY-MM-DD, not {value!r}")
