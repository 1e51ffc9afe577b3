"""``borderwatch audit``: list the audit log, newest first, with filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from borderwatch.access import audit as audit_log
from borderwatch.cli.common import console, fail, open_database
from borderwatch.db.session import session_scope


def audit(
    *,
    agency: Annotated[str | None, typer.Option(help="only this agency")] = None,
    actor: Annotated[str | None, typer.Option(help="only this user")] = None,
    resource: Annotated[str | None, typer.Option(help="declaration, case, profile, ...")] = None,
    resource_id: Annotated[str | None, typer.Option("--id", help="only this record")] = None,
    denied: Annotated[bool, typer.Option("--denied", help="only refused accesses")] = False,
    since: Annotated[str | None, typer.Option(help="ISO date or time")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
) -> None:
    """Who read or changed what, and whether it was allowed."""
    moment = None
    if since is not None:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not an ISO date or time such as 2026-11-24 or 2026-11-24T10:00")
    _engine, factory = open_database()
    with session_scope(factory) as session:
        rows, total = audit_log.search(
            db_session=session,
            agency=agency,
            actor=actor,
            resource=resource,
            resource_id=resource_id,
            denied_only=denied,
            since=moment,
            limit=limit,
        )
        table = Table("at", "actor", "agency", "action", "resource", "id", "allowed", "detail")
        for row in rows:
            table.add_row(
                row.at.strftime("%Y-%m-%d %H:%M:%S"),
                row.actor,
                row.agency or "",
                row.action,
                row.resource,
                row.resource_id or "",
                "yes" if row.allowed else "[red]no[/]",
                str(row.detail or ""),
            )
    console.print(table)
    console.print(f"{len(rows)} of {total} entries")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
