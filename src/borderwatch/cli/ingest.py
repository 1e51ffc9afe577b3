"""① ``borderwatch ingest``, ``schema`` and ``quarantine list/show/release``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.cli.common import acting_user, audit_cli, console, err_console, fail, open_database
from borderwatch.core.cache import Cache
from borderwatch.core.errors import BorderwatchError, ConfigError, IngestError
from borderwatch.core.settings import get_settings
from borderwatch.ingest.mapping import ColumnMapping, load_mapping
from borderwatch.ingest.schemas import Declaration, Outcome
from borderwatch.ingest.service import (
    FORMATS,
    IngestSummary,
    get_quarantined,
    ingest_file,
    list_quarantine,
    release_quarantined,
)

# Files smaller than this finish before a progress bar would be worth drawing.
PROGRESS_MIN_BYTES = 2_000_000

quarantine_app = typer.Typer(
    help="See, fix and re-submit records that failed validation.", no_args_is_help=True
)


def _summary_table(summaries: list[IngestSummary], total: IngestSummary) -> Table:
    table = Table(title="ingest summary")
    manifests = any(s.manifest_messages for s in summaries)
    names = ["file", "read", "stored", "amended", "duplicates", "quarantined", "outcomes"]
    for name in [*names, "manifest lines"] if manifests else names:
        table.add_column(name, justify="left" if name == "file" else "right")
    for s in [*summaries, total] if len(summaries) > 1 else summaries:
        quarantined = f"{s.quarantined}" + (
            f" (+{s.already_quarantined} known)" if s.already_quarantined else ""
        )
        cells = [
            Path(s.source).name if s is not total else "total",
            f"{s.read:,}",
            f"{s.stored:,}",
            f"{s.amended:,}",
            f"{s.duplicates:,}",
            quarantined,
            f"{s.outcomes:,}",
        ]
        table.add_row(*cells, *([f"{s.manifest_lines:,}"] if manifests else []))
    return table


def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="KCS-layout CSV, mapped CSV, JSON Lines or EDIFACT (CUSDEC, CUSCAR, IFTMCS) files."
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")] = "auto",
    mapping_file: Annotated[
        Path | None, typer.Option("--mapping", help="YAML column mapping for an agency's own CSV export.")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Agency owning the records (default: settings).")] = None,
    select: Annotated[
        bool,
        typer.Option(
            help="Screen, score and give a lane (and a case) to every stored declaration at once; "
            "--no-select for a backfill of past declarations."
        ),
    ] = True,
) -> None:
    """Validate and store declarations; bad records go to quarantine, the rest of each file is stored.
    Each stored or amended declaration is then selected (screened, scored with the active model, given a
    lane and, if red or yellow, a case)."""
    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    mapping: ColumnMapping | None = None
    if mapping_file is not None:
        try:
            mapping = load_mapping(mapping_file)
        except ConfigError as error:
            fail(f"{error}.")
    settings = get_settings()
    engine, factory = open_database(settings)
    summaries: list[IngestSummary] = []
    errors: list[str] = []
    for path in files:
        size = path.stat().st_size if path.is_file() else 0
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err_console,
                disable=size < PROGRESS_MIN_BYTES,
                transient=True,
            ) as progress:
                task = progress.add_task(path.name, total=size)
                summaries.append(
                    ingest_file(
                        engine=engine,
                        path=path,
                        fmt=fmt,
                        mapping=mapping,
                        agency=agency or settings.agency,
                        batch_size=settings.ingest_batch_size,
                        on_progress=lambda done, task=task: progress.advance(task, done),  # type: ignore[misc]
                    )
                )
        except BorderwatchError as error:
            errors.append(str(error))
    if not summaries:
        fail(f"{errors[0]}." if len(errors) == 1 else f"no file could be read ({'; '.join(errors)}).")
    for message in errors:
        err_console.print(f"[yellow]skipped:[/] {message}.")
    total = IngestSummary(source="total")
    for summary in summaries:
        total.add(summary)
    console.print(_summary_table(summaries, total))
    if total.reasons:
        console.print("top quarantine reasons:")
        for reason, count in total.reasons.most_common(5):
            console.print(f"  {count:>7,}  {reason}")
        console.print("see them with: borderwatch quarantine list")
    if select and total.lrns:
        select_stored(engine=engine, factory=factory, lrns=total.lrns, agency=agency or settings.agency)


def select_stored(*, engine: Engine, factory: sessionmaker[Session], lrns: list[str], agency: str) -> None:
    """Select what was just stored (``inspections.flows``) and print the lanes it got."""
    from borderwatch.inspections.flows import select_arrivals_in_slices
    from borderwatch.pipeline.selection import agency_selection

    settings = get_settings()
    with factory.begin() as session:
        audit_cli(
            session,
            action="create",
            resource="declaration",
            agency=agency,
            detail={"stored_or_amended": len(set(lrns)), "lrns": lrns[:50]},
        )
    try:
        selected = select_arrivals_in_slices(
            engine=engine,
            factory=factory,
            lrns=lrns,
            agency=agency,
            selection=agency_selection(
                settings=settings, engine=engine, agency=agency, cache=Cache(ttl_seconds=3600.0)
            ),
            actor=acting_user(),
        )
    except BorderwatchError as error:
        fail(f"stored, but not selected: {error}.")
    lanes = ", ".join(f"{count:,} {lane}" for lane, count in selected.lanes.items())
    model = f"model {selected.model_version}" if selected.model_version else "no active model"
    console.print(
        f"selected {len(set(lrns)):,} declarations ({model}): {lanes}; {selected.hits} screening hits"
    )
    if selected.note:
        console.print(f"[yellow]{selected.note}[/]")


def schema(
    outcome: Annotated[bool, typer.Option("--outcome", help="The schema of outcome lines instead.")] = False,
) -> None:
    """Print the JSON Schema of a JSON Lines declaration (or outcome) record."""
    model = Outcome if outcome else Declaration
    console.print_json(json.dumps(model.model_json_schema()))


@quarantine_app.command("list")
def quarantine_list(
    status: Annotated[str, typer.Option(help="open, released, or all.")] = "open",
    source: Annotated[
        str | None, typer.Option(help="Only records from files whose name contains this.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Quarantined records, oldest first."""
    engine, _ = open_database()
    rows = list_quarantine(
        engine=engine, status=None if status == "all" else status, source=source, limit=limit
    )
    table = Table(title=f"quarantine ({status})")
    for name in ("id", "file", "line", "record", "field", "reason", "status"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            str(row.id),
            Path(row.source_file).name,
            str(row.line or ""),
            row.record_key or "",
            row.field or "",
            row.reason,
            row.status,
        )
    console.print(table)


@quarantine_app.command("show")
def quarantine_show(record_id: Annotated[int, typer.Argument(help="Quarantine id (see list).")]) -> None:
    """One quarantined record with its raw text."""
    engine, _ = open_database()
    try:
        row = get_quarantined(engine=engine, record_id=record_id)
    except BorderwatchError as error:
        fail(f"{error}.")
    console.print(f"[bold]#{row.id}[/] {row.source_file}, line {row.line} ({row.reader}), {row.status}")
    console.print(f"record: {row.record_key or '-'}   field: {row.field or '-'}")
    console.print(f"reason: {row.reason}")
    console.print("raw:", style="bold")
    console.print(row.raw, markup=False, highlight=False, soft_wrap=True)


@quarantine_app.command("release")
def quarantine_release(
    record_id: Annotated[int, typer.Argument(help="Quarantine id (see list).")],
    value: Annotated[
        str | None, typer.Option(help="Corrected value of the field it was rejected for.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="NAME=VALUE: a CSV column, or a dotted JSON path (items.0.hs_code)."),
    ] = None,
    raw: Annotated[str | None, typer.Option(help="The whole corrected line.")] = None,
    raw_file: Annotated[
        Path | None, typer.Option(help="A file holding the whole corrected record (an EDIFACT message).")
    ] = None,
) -> None:
    """Re-validate a quarantined record, with corrections, and store it if it is now valid."""
    if raw_file is not None:
        if raw is not None:
            fail("--raw and --raw-file cannot both be given.")
        try:
            raw = raw_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            fail(f"cannot read {raw_file}: {error}.")
    changes: dict[str, str] = {}
    for item in set_ or []:
        name, sep, new = item.partition("=")
        if not sep or not name:
            fail(f"--set takes NAME=VALUE, not {item!r}.")
        changes[name.strip()] = new
    settings = get_settings()
    engine, factory = open_database(settings)
    try:
        agency = get_quarantined(engine=engine, record_id=record_id).agency
        summary = release_quarantined(
            engine=engine, record_id=record_id, raw=raw, value=value, changes=changes
        )
    except IngestError as error:
        fail(f"record still rejected: {error}.")
    except BorderwatchError as error:
        fail(f"{error}.")
    what = "stored as a new version" if summary.amended else "stored" if summary.stored else "already stored"
    console.print(f"released #{record_id}: {what}.")
    if summary.lrns:
        select_stored(engine=engine, factory=factory, lrns=summary.lrns, agency=agency)


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(schema)
    app.add_typer(quarantine_app, name="quarantine")
