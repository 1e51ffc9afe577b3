"""``borderwatch watchlist load|list|show``, ``borderwatch screen`` and ``borderwatch screen-decide``."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from borderwatch.cli.common import acting_user, console, fail, open_database
from borderwatch.core.errors import ConfigError, NotFoundError
from borderwatch.core.settings import get_settings
from borderwatch.db.session import session_scope
from borderwatch.screening import service
from borderwatch.screening.matcher import DEFAULT_THRESHOLD, Query
from borderwatch.screening.parsers import group_list_files
from borderwatch.screening.rescreen import DEFAULT_DAYS, RescreenReport, list_alerts, rescreen_changes

watchlist_app = typer.Typer(help="Import and inspect sanctions and watchlists.", no_args_is_help=True)


@watchlist_app.command("load")
def load(
    files: Annotated[
        list[Path],
        typer.Argument(help="List files: OFAC sdn/alt/add CSV (any order), UN XML, BIS .txt, FtM .json, CSV"),
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="ofac, un, bis, ftm or csv (default: detect)")
    ] = None,
    list_name: Annotated[str | None, typer.Option("--list", help="List name (FtM and CSV lists)")] = None,
    rescreen_days: Annotated[
        int,
        typer.Option(
            min=0,
            help="Re-screen the parties of this agency's declarations of the last N days against the added "
            "and changed entries (0: do not)",
        ),
    ] = DEFAULT_DAYS,
) -> None:
    """Load list files as new versions; report what was added, changed and removed, and the new hits of
    known parties against what changed."""
    engine, factory = open_database()
    settings = get_settings()
    rescreens: list[RescreenReport] = []
    table = Table(title="Watchlists loaded")
    for column in ("list", "version", "entries", "added", "changed", "removed"):
        table.add_column(column, justify="left" if column == "list" else "right")
    try:
        groups = group_list_files(files, fmt=fmt)
    except ConfigError as error:
        fail(f"{error}; nothing was loaded.")
    for group_fmt, paths in groups:
        try:
            with session_scope(factory) as session:
                reports = service.load_watchlist_files(
                    session=session, paths=paths, fmt=group_fmt, list_name=list_name
                )
                if rescreen_days:
                    rescreens.append(
                        rescreen_changes(
                            engine=engine,
                            session=session,
                            reports=reports,
                            agency=settings.agency,
                            actor=acting_user(),
                            days=rescreen_days,
                        )
                    )
        except ConfigError as error:
            fail(f"{error}; the previous version stays active.")
        for report in reports:
            table.add_row(
                report.list_name,
                str(report.version_id),
                f"{report.entries:,}",
                f"{len(report.added):,}",
                f"{len(report.changed):,}",
                f"{len(report.removed):,}",
            )
    console.print(table)
    for rescreen in rescreens:
        console.print(
            f"re-screened {rescreen.parties:,} known parties against {rescreen.entries:,} added or changed "
            f"entries in {rescreen.seconds:.2f} s: {len(rescreen.alerts):,} new alert(s)"
        )
        for alert in rescreen.alerts:
            console.print(
                f"  alert {alert.id}: {alert.role} {alert.party_name!r} (declaration {alert.lrn}) "
                f"~ {alert.entity_id} {alert.score:.2f}: {alert.explanation}"
            )


@watchlist_app.command("alerts")
def alerts(limit: Annotated[int, typer.Option(min=1)] = 50) -> None:
    """The hits re-screening raised on list updates, newest first (this agency's)."""
    _, factory = open_database()
    with session_scope(factory) as session:
        rows = list_alerts(session=session, agency=get_settings().agency, limit=limit)
        table = Table(title="Screening alerts from list updates")
        for column in ("alert", "raised", "party", "declaration", "entity", "score", "explanation"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                str(row.id),
                f"{row.created_at:%Y-%m-%d %H:%M}",
                f"{row.role}: {row.party_name}",
                row.lrn,
                row.entity_id,
                f"{row.score:.2f}",
                row.explanation,
            )
    console.print(table if rows else "no alerts")


@watchlist_app.command("list")
def list_lists(
    all_versions: Annotated[bool, typer.Option("--all", help="Show superseded versions too")] = False,
) -> None:
    """The stored lists and their versions."""
    _, factory = open_database()
    with session_scope(factory) as session:
        versions = service.list_versions(session=session, active_only=not all_versions)
        table = Table(title="Watchlist versions")
        for column in (
            "list",
            "version",
            "active",
            "format",
            "entries",
            "added",
            "changed",
            "removed",
            "loaded",
        ):
            table.add_column(column)
        for v in versions:
            table.add_row(
                v.list_name,
                str(v.id),
                "yes" if v.is_active else "",
                v.fmt,
                f"{v.entry_count:,}",
                str(v.added),
                str(v.changed),
                str(v.removed),
                f"{v.loaded_at:%Y-%m-%d %H:%M}" if v.loaded_at else "",
            )
    console.print(table)


@watchlist_app.command("show")
def show(entity_id: Annotated[str, typer.Argument(help="Entry id, e.g. ofac:36 or un:6907993")]) -> None:
    """One listed entry with its aliases, dates of birth, nationalities, identifiers and addresses."""
    _, factory = open_database()
    with session_scope(factory) as session:
        try:
            entry = service.get_entry(session=session, entity_id=entity_id)
        except NotFoundError as error:
            fail(str(error))
    table = Table(title=f"{entry.entity_id}: {entry.name}", show_header=False)
    table.add_row("list", entry.list_name)
    table.add_row("kind", entry.kind)
    table.add_row("programmes", ", ".join(entry.programmes))
    table.add_row("aliases", "\n".join(f"{a.name}{' (weak)' if a.weak else ''}" for a in entry.aliases))
    table.add_row("dates of birth", ", ".join(entry.dobs))
    table.add_row("nationalities", ", ".join(entry.nationalities))
    table.add_row(
        "identifiers", "\n".join(f"{i.type} {i.value} {i.country or ''}" for i in entry.identifiers)
    )
    table.add_row("addresses", "\n".join(a.text for a in entry.addresses))
    console.print(table)


def _read_queries(path: Path) -> list[Query]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "full_name" not in (reader.fieldnames or []):
                raise ConfigError(path=str(path), reason="missing column full_name")
            return [
                Query(
                    name=row["full_name"] or "",
                    kind=row.get("kind") or None,
                    date_of_birth=row.get("date_of_birth") or None,
                    nationality=row.get("nationality") or None,
                    identifiers=tuple(
                        i.strip() for i in (row.get("identifiers") or "").split(";") if i.strip()
                    ),
                    address=row.get("address") or None,
                )
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ConfigError(path=str(path), reason=f"cannot be read ({error})") from error


def screen(  # noqa: PLR0917 - Typer maps parameters to options
    name: Annotated[str | None, typer.Argument(help="A name to screen")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="CSV: full_name[, date_of_birth, nationality, kind, identifiers (;-separated), address]",
        ),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here")] = None,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0)] = DEFAULT_THRESHOLD,
    kind: Annotated[str | None, typer.Option(help="person, organization, vessel...")] = None,
    dob: Annotated[str | None, typer.Option("--dob", help="Date or year of birth")] = None,
    nationality: Annotated[str | None, typer.Option(help="Country code or name")] = None,
    identifier: Annotated[
        list[str] | None,
        typer.Option(
            "--identifier",
            help="An identifier, typed (IMO 9187629, tax:7705037207, aircraft:EP-MMH) or not; repeatable",
        ),
    ] = None,
    address: Annotated[str | None, typer.Option(help="The party's address")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 5,
) -> None:
    """Screen one name, or every row of --file, against the active watchlists."""
    if (name is None) == (file is None):
        fail("give either a NAME or --file QUERIES.csv.")
    try:
        queries = (
            _read_queries(file)
            if file is not None
            else [
                Query(
                    name=name or "",
                    kind=kind,
                    date_of_birth=dob,
                    nationality=nationality,
                    identifiers=tuple(identifier or ()),
                    address=address,
                )
            ]
        )
    except ConfigError as error:
        fail(str(error))
    _, factory = open_database()
    with session_scope(factory) as session:
        matcher = service.build_matcher(session=session)
        suppressed = service.suppressed_pairs(session=session, agency=get_settings().agency)
    if matcher.name_count == 0:
        fail("no watchlist is loaded; run `borderwatch watchlist load FILE` first.")
    results = []
    with Progress(console=console, transient=True, disable=len(queries) < 100) as progress:
        task = progress.add_task("screening", total=len(queries))
        for start in range(0, len(queries), 500):
            chunk = queries[start : start + 500]
            results.extend(
                service.screen_queries(
                    matcher=matcher, queries=chunk, suppressed=suppressed, threshold=threshold, limit=limit
                )
            )
            progress.advance(task, len(chunk))
    if json_out is not None:
        payload = {
            "results": [
                {"row": row, "matches": [m.as_dict() for m in matches]} for row, matches in enumerate(results)
            ]
        }
        json_out.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if file is not None:
        hit_rows = sum(1 for matches in results if matches)
        console.print(f"{len(queries):,} queries screened, {hit_rows:,} with matches above {threshold:.2f}.")
        return
    table = Table(title=f"Screening {name!r} (threshold {threshold:.2f})")
    for column in ("score", "entity", "list", "listed name", "matched name", "explanation"):
        table.add_column(column)
    for match in results[0]:
        table.add_row(
            f"{match.score:.2f}",
            match.entity_id,
            match.list_name,
            match.name,
            match.matched_name,
            match.explanation,
        )
    console.print(table if results[0] else "no match above the threshold")


def decide(
    entity_id: Annotated[str, typer.Argument(help="The listed entry of the hit")],
    name: Annotated[str, typer.Option("--name", help="The screened name of the hit")],
    analyst: Annotated[str, typer.Option(help="Who decides")],
    not_match: Annotated[
        bool, typer.Option("--not-match/--match", help="Rule the hit out (default) or confirm it")
    ] = True,
    note: Annotated[str | None, typer.Option(help="Why")] = None,
    party_id: Annotated[str | None, typer.Option(help="The party the name belongs to")] = None,
) -> None:
    """Record an analyst's decision on a hit; a not-match suppresses the same hit next time, in the screenings
    of this agency (BORDERWATCH_AGENCY) only."""
    _, factory = open_database()
    with session_scope(factory) as session:
        row = service.record_decision(
            session=session,
            agency=get_settings().agency,
            query_name=name,
            entity_id=entity_id,
            decision=service.NOT_MATCH if not_match else service.MATCH,
            analyst=analyst,
            note=note,
            party_id=party_id,
        )
        console.print(f"decision {row.id}: {name!r} vs {entity_id} is {row.decision}.")


def register(app: typer.Typer) -> None:
    app.add_typer(watchlist_app, name="watchlist")
    app.command("screen")(screen)
    app.command("screen-decide")(decide)
