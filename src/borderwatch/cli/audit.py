"""``borderwatch audit``: list the audit log, newest first, with filters; ``borderwatch audit verify``: check
its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from borderwatch.access import audit as audit_log
from borderwatch.cli.common import console, err_console, fail, open_database
from borderwatch.db.session import session_scope

audit_app = typer.Typer(
    help="Who read or changed what, and whether it was allowed (`audit verify` checks the hash chain).",
    invoke_without_command=True,
)


@audit_app.callback()
def audit(
    ctx: typer.Context,
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
    if ctx.invoked_subcommand is not None:
        return
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


@audit_app.command("verify")
def verify() -> None:
    """Prove the audit log unbroken: every row's hash matches its content and the row before it. Names the
    first bad row (changed, removed before it, or forged) and exits 1 if there is one."""
    engine, _factory = open_database()
    with engine.connect() as connection, console.status("verifying the audit log's hash chain"):
        report = audit_log.verify(connection=connection)
    if not report.ok:
        err_console.print(f"[red]audit log broken[/] after {report.rows - 1:,} good rows: {report.reason}")
        raise typer.Exit(1)
    console.print(f"audit log intact: {report.rows:,} rows, every link verified")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
