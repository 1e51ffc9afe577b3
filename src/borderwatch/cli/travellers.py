"""``borderwatch travellers ingest|lost-stolen|read-mrz|check|read-document``."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from borderwatch.access import audit
from borderwatch.cli.common import console, fail, open_database
from borderwatch.core.errors import ConfigError
from borderwatch.core.settings import get_settings
from borderwatch.db.session import session_scope
from borderwatch.travellers import MrzError, read_mrz, service

travellers_app = typer.Typer(
    help="Passenger and crew lists, travel documents and traveller risk.", no_args_is_help=True
)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@travellers_app.command("ingest")
def ingest(
    files: Annotated[list[Path], typer.Argument(help="PAXLST interchanges, CSV or JSON Lines lists")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="paxlst, csv or jsonl (default: detect)")
    ] = None,
) -> None:
    """Store passenger and crew lists; report counts, quarantine and envelope issues (UNT counts...)."""
    agency = get_settings().agency
    _, factory = open_database()
    table = Table(title="Traveller lists ingested")
    for column in ("file", "movements", "travellers", "documents", "duplicates", "quarantined"):
        table.add_column(column, justify="left" if column == "file" else "right")
    issues: list[str] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(files))
        for path in files:
            try:
                with session_scope(factory) as session:
                    summary = service.ingest_travellers(session=session, path=path, agency=agency, fmt=fmt)
                    audit.record(
                        db_session=session,
                        actor=_actor(),
                        agency=agency,
                        action="ingest",
                        resource="traveller_list",
                        resource_id=path.name,
                        detail={"travellers": summary.travellers, "quarantined": summary.quarantined},
                    )
            except ConfigError as error:
                fail(str(error))
            table.add_row(
                path.name,
                str(summary.movements),
                str(summary.travellers),
                str(summary.documents),
                str(summary.duplicates),
                str(summary.quarantined + summary.already_quarantined),
            )
            issues.extend(f"{path.name}: {issue}" for issue in summary.issues)
            progress.advance(task)
    console.print(table)
    for issue in issues:
        console.print(f"[yellow]issue[/yellow] {issue}")


@travellers_app.command("lost-stolen")
def lost_stolen(
    path: Annotated[Path, typer.Argument(help="CSV: number, issuing_state, reported_on, status")],
) -> None:
    """Replace the agency's list of lost and stolen travel documents."""
    agency = get_settings().agency
    _, factory = open_database()
    try:
        with session_scope(factory) as session:
            count = service.load_lost_stolen(session=session, agency=agency, path=path)
            audit.record(
                db_session=session,
                actor=_actor(),
                agency=agency,
                action="load",
                resource="lost_stolen_documents",
                resource_id=path.name,
                detail={"documents": count},
            )
    except ConfigError as error:
        fail(str(error))
    console.print(f"{count} lost or stolen documents on the agency's list")


@travellers_app.command("read-mrz")
def read_mrz_command(
    text: Annotated[str, typer.Argument(help="The MRZ lines, separated by newlines or '\\n', or a file")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON")] = None,
) -> None:
    """Parse and check a machine-readable zone."""
    source = Path(text)
    raw = source.read_text(encoding="utf-8") if len(text) < 256 and source.is_file() else text
    try:
        result = read_mrz(raw.replace("\\n", "\n"))
    except MrzError as error:
        fail(str(error))
    data = result.as_dict()
    if json_out is not None:
        json_out.write_text(json.dumps(data, indent=2), encoding="utf-8")
    table = Table(title=f"{result.format} {'valid' if result.valid else 'INVALID'}")
    table.add_column("field")
    table.add_column("value")
    for key, value in data.items():
        if key != "lines":
            table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    console.print(table)
    if not result.valid:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(travellers_app, name="travellers")
