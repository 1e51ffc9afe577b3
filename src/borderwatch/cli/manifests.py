"""② ``borderwatch manifests reconcile``: what the carriers' manifests say against the declarations."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from borderwatch.cli.common import console, fail, open_database, parse_date_option
from borderwatch.core.settings import get_settings

manifests_app = typer.Typer(
    help="Carriers' manifests (CUSCAR, IFTMCS) against declarations.", no_args_is_help=True
)


@manifests_app.command("reconcile")
def reconcile_command(
    *,
    since: Annotated[str, typer.Option(help="first arrival date, YYYY-MM-DD")],
    until: Annotated[str | None, typer.Option(help="last arrival date (default: since)")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="reconcile as known on this day (default: today)")
    ] = None,
    window: Annotated[int, typer.Option(help="days after arrival a consignment may stay undeclared")] = 7,
    json_out: Annotated[
        bool, typer.Option("--json", help="one JSON object a line instead of a table")
    ] = False,
) -> None:
    """Lists discrepancies: undeclared consignments and containers, weight gaps, HS conflicts, bad
    container numbers, full containers declared twice."""
    from borderwatch.features.reconcile import ReconcileConfig, stored_discrepancies

    first = parse_date_option(since, "--since")
    assert first is not None
    last = parse_date_option(until, "--until") or first
    known = parse_date_option(as_of, "--as-of") or date.today()
    if window < 0 or last < first:
        fail("--window must be 0 or more and --until on or after --since")
    settings = get_settings()
    engine, _ = open_database(settings)
    found = stored_discrepancies(
        engine,
        agency=settings.agency,
        since=first,
        until=last,
        as_of=known,
        config=ReconcileConfig(window_days=window),
    )
    if json_out:
        for line in found.write_ndjson().splitlines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"manifest discrepancies ({found.height})")
    for column in found.columns:
        table.add_column(column)
    for row in found.iter_rows():
        table.add_row(*["" if value is None else str(value) for value in row])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(manifests_app, name="manifests")
