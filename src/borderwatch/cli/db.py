"""``borderwatch db partitions|archive|restore``: the monthly partitions of declarations and lane decisions on
PostgreSQL (``db.partitions``); every change is audited. SQLite keeps plain tables: these commands say so."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Connection

from borderwatch.cli.common import audit_cli, console, fail, open_database
from borderwatch.core.settings import get_settings
from borderwatch.db import partitions
from borderwatch.db.session import session_scope
from borderwatch.ingest import archive as declarations_archive
from borderwatch.lanes import archive as decisions_archive

db_app = typer.Typer(
    help="PostgreSQL partitions of declarations and lane decisions: create, archive, restore.",
    no_args_is_help=True,
)

TABLES = ("declarations", "lane_decisions")


def _month(value: str, option: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        fail(f"{option} {value!r} is not a month such as 2025-01")


def _require_partitioned(connection: Connection) -> None:
    if not all(partitions.is_partitioned(connection, table) for table in TABLES):
        fail(
            "the database has no partitions: they exist on PostgreSQL only (SQLite keeps one table per kind)",
            code=1,
        )


def _show(connection: Connection) -> None:
    table = Table("table", "partition", "month", "state", "rows (estimate)")
    listed = declarations_archive.declaration_partitions(connection)
    listed += decisions_archive.decision_partitions(connection)
    for p in listed:
        table.add_row(
            p.table,
            p.name,
            f"{p.month:%Y-%m}" if p.month else "default",
            "attached" if p.attached else "[yellow]archived[/]",
            f"{max(p.rows, 0):,}",
        )
    console.print(table)


@db_app.command("partitions")
def partitions_command(
    ahead: Annotated[
        int, typer.Option(min=0, max=120, help="create the partitions of this month and the next N-1 months")
    ] = 0,
    since: Annotated[
        str | None, typer.Option(help="also create those from this month (YYYY-MM) on, moving their rows")
    ] = None,
) -> None:
    """List the partitions; with --ahead/--since create the missing months (their rows move out of the
    default partition). Run it monthly, off-peak, with --ahead 3."""
    settings = get_settings()
    _engine, factory = open_database(settings)
    start = _month(since, "--since") if since else None
    with session_scope(factory) as session:
        connection = session.connection()
        _require_partitioned(connection)
        months: list[date] = []
        month = start or partitions.month_of(date.today())
        end = partitions.month_of(date.today())
        for _ in range(ahead):
            end = partitions.next_month(end)
        while month < end:
            months.append(month)
            month = partitions.next_month(month)
        created = [name for table in TABLES for name in partitions.ensure_months(connection, table, months)]
        if created:
            audit_cli(
                session,
                action="partition",
                resource="database",
                agency=settings.agency,
                detail={"created": created},
            )
        _show(connection)
    if created:
        console.print(f"created {len(created)} partitions")


@db_app.command("archive")
def archive(
    before: Annotated[str, typer.Option(help="archive every month before this one (YYYY-MM)")],
) -> None:
    """Detach the partitions of the months before --before (declarations with their goods items, and lane
    decisions): they leave the worklist, look-ups and history, stay queryable as tables of their own, and
    `borderwatch db restore` attaches them again. For all agencies; audited."""
    settings = get_settings()
    month = _month(before, "--before")
    _engine, factory = open_database(settings)
    with session_scope(factory) as session:
        connection = session.connection()
        _require_partitioned(connection)
        detached = declarations_archive.archive_declarations(connection, before=month)
        detached += decisions_archive.archive_decisions(connection, before=month)
        audit_cli(
            session,
            action="archive",
            resource="database",
            agency=settings.agency,
            resource_id=f"{month:%Y-%m}",
            detail={"detached": [p.name for p in detached]},
        )
    console.print(f"archived {len(detached)} partitions before {month:%Y-%m}")
    for p in detached:
        console.print(f"  {p.name}")


@db_app.command("restore")
def restore(month: Annotated[str, typer.Option(help="the archived month to attach again (YYYY-MM)")]) -> None:
    """Attach an archived month again (declarations, goods items, lane decisions); audited."""
    settings = get_settings()
    wanted = _month(month, "--month")
    _engine, factory = open_database(settings)
    with session_scope(factory) as session:
        connection = session.connection()
        _require_partitioned(connection)
        restored = []
        for restore_one in (declarations_archive.restore_declarations, decisions_archive.restore_decisions):
            try:
                restored.append(restore_one(connection, month=wanted))
            except partitions.PartitionError:
                continue  # that table has no archived month (no lane decisions that month, say)
        if not restored:
            fail(f"there is no archived partition for {wanted:%Y-%m}", code=1)
        audit_cli(
            session,
            action="restore",
            resource="database",
            agency=settings.agency,
            resource_id=f"{wanted:%Y-%m}",
            detail={"attached": [p.name for p in restored]},
        )
    console.print(f"restored {wanted:%Y-%m}: " + ", ".join(p.name for p in restored))


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
