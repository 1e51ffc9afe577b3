"""``borderwatch vehicles cameras|ingest|hotlist|alerts|quarantine|read-plate|analyse``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from borderwatch.cli.common import (
    AgencySession,
    agency_session,
    console,
    each_file,
    err_console,
    load_file,
    print_table,
    show_quarantine,
)
from borderwatch.core.errors import ConfigError, NotFoundError
from borderwatch.vehicles import PlateError, service

vehicles_app = typer.Typer(
    help="Plate reads (ANPR), vehicle hotlists, alerts and patterns.", no_args_is_help=True
)


@vehicles_app.command("cameras")
def load_cameras(
    path: Annotated[
        Path, typer.Argument(help="CSV: camera_id, crossing, lane, direction, latitude, longitude")
    ],
) -> None:
    """Add or update the agency's ANPR cameras and their locations."""
    count = load_file(
        path,
        lambda c: service.load_cameras(session=c.session, agency=c.agency, path=path),
        resource="vehicle_camera",
        counted="cameras",
        failures=(ConfigError,),
    )
    console.print(f"{count} camera(s) loaded from {path.name}")


@vehicles_app.command("ingest")
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV or JSON Lines files of plate reads")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or jsonl (default: detect)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the summaries as JSON")] = None,
) -> None:
    """Store plate reads, checked against the hotlists as stored; report counts, quarantine, alerts."""

    def store(command: AgencySession, path: Path) -> service.ReadSummary:
        summary = service.ingest_reads(session=command.session, agency=command.agency, path=path, fmt=fmt)
        counts = {"reads": summary.reads, "quarantined": summary.quarantined, "alerts": summary.alerts}
        command.audit("ingest", "plate_reads", path.name, counts)
        return summary

    stored = each_file(files, store, failures=(ConfigError,))
    print_table(
        "Plate reads ingested",
        ("file", "reads", "duplicates", "quarantined", "alerts"),
        [
            (
                path.name,
                str(summary.reads),
                str(summary.duplicates),
                str(summary.quarantined + summary.already_quarantined),
                str(summary.alerts),
            )
            for path, summary in zip(files, stored, strict=True)
        ],
        right=("reads", "duplicates", "quarantined", "alerts"),
    )
    summaries = [summary.as_dict() for summary in stored]
    for summary_dict in summaries:
        for problem in summary_dict["problems"]:
            console.print(f"[yellow]quarantined[/yellow] {summary_dict['source']}: {problem}")
    if json_out is not None:
        json_out.write_text(json.dumps(summaries, indent=2), encoding="utf-8")


hotlist_app = typer.Typer(
    help="Vehicle hotlists: national, partner, seizure, sanctions.", no_args_is_help=True
)
vehicles_app.add_typer(hotlist_app, name="hotlist")


@hotlist_app.command("load")
def hotlist_load(
    list_name: Annotated[str, typer.Argument(help="national, partner, seizure or sanctions")],
    path: Annotated[Path, typer.Argument(help="CSV: plate, country, reason, reference")],
) -> None:
    """Replace one hotlist from a CSV."""
    with agency_session(ConfigError) as command:
        count = service.load_hotlist(
            session=command.session, agency=command.agency, list_name=list_name, path=path
        )
        command.audit("update", "vehicle_hotlist", list_name, {"plates": count, "file": path.name})
    console.print(f"{count} plate(s) on the {list_name} hotlist")


@hotlist_app.command("add")
def hotlist_add(
    list_name: Annotated[str, typer.Argument(help="national, partner, seizure or sanctions")],
    plate: Annotated[str, typer.Argument(help="The plate as written")],
    reason: Annotated[str, typer.Option(help="Why it is listed")] = "listed",
    country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-2")] = None,
    reference: Annotated[str | None, typer.Option(help="Case, report or owner reference")] = None,
) -> None:
    """Put one plate on a hotlist."""
    with agency_session(ConfigError, PlateError) as command:
        row = service.add_to_hotlist(
            session=command.session,
            agency=command.agency,
            list_name=list_name,
            plate=plate,
            country=country,
            reason=reason,
            reference=reference,
        )
        command.audit("create", "vehicle_hotlist", row.plate, {"list": list_name, "reason": reason})
        listed = row.plate
    console.print(f"{listed} added to the {list_name} hotlist")


@vehicles_app.command("alerts")
def alerts(
    all_alerts: Annotated[bool, typer.Option("--all", help="Confirmed and dismissed alerts too")] = False,
    plate: Annotated[str | None, typer.Option(help="Only this plate")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 50,
) -> None:
    """The vehicle alert queue, newest first, with each alert's reason."""
    with agency_session() as command:
        rows = service.list_alerts(
            session=command.session,
            agency=command.agency,
            status=None if all_alerts else "open",
            plate=plate,
            limit=limit,
        )
        command.audit("read", "vehicle_alert", detail={"alerts": len(rows)})
        print_table(
            f"{len(rows)} vehicle alert(s)",
            ("id", "plate", "code", "points", "status", "evidence"),
            [
                (
                    str(row.id),
                    row.plate,
                    row.code,
                    f"{row.points:.2f}",
                    row.status,
                    ", ".join(f"{k}={v}" for k, v in list(row.evidence.items())[:5]),
                )
                for row in rows
            ],
        )


@vehicles_app.command("alert")
def alert_status(
    alert_id: Annotated[int, typer.Argument(help="The alert's id")],
    status: Annotated[str, typer.Argument(help="confirmed, dismissed or open")],
) -> None:
    """Confirm or dismiss an alert."""
    with agency_session(ConfigError, NotFoundError) as command:
        row = service.set_alert_status(
            session=command.session, agency=command.agency, alert_id=alert_id, status=status
        )
        command.audit("update", "vehicle_alert", str(alert_id), {"status": status, "plate": row.plate})
    console.print(f"alert {alert_id}: {status}")


quarantine_app = typer.Typer(help="Plate reads that failed validation.", no_args_is_help=True)
vehicles_app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    all_records: Annotated[bool, typer.Option("--all", help="Released records too")] = False,
) -> None:
    """Quarantined reads with the field at fault and why."""
    show_quarantine(
        lambda c, status: service.list_quarantine(session=c.session, agency=c.agency, status=status),
        all_records=all_records,
        resource="vehicle_quarantine",
        title="quarantined read(s)",
        columns=("id", "source", "record", "field", "reason"),
        cells=lambda r: (str(r.id), r.source_file, r.record, r.field or "", r.reason),
    )


@vehicles_app.command("declarations")
def load_declarations(
    path: Annotated[Path, typer.Argument(help="CSV: lrn, plate, country, crossing, declared_at")],
) -> None:
    """Load the vehicles declarations name (their means of transport) for the pattern detectors."""
    count = load_file(
        path,
        lambda c: service.load_declared_vehicles(session=c.session, agency=c.agency, path=path),
        resource="vehicle_declaration",
        counted="declarations",
        failures=(ConfigError,),
    )
    console.print(f"{count} declared vehicle(s) loaded from {path.name}")


@vehicles_app.command("owners")
def load_owners(
    path: Annotated[Path, typer.Argument(help="CSV: plate, country, owner_id, owner_name, sanctioned")],
) -> None:
    """Load who vehicles are registered to (linked into the trader network; a plate's owners are replaced)."""
    count = load_file(
        path,
        lambda c: service.load_owners(session=c.session, agency=c.agency, path=path),
        resource="vehicle_owner",
        counted="owners",
        failures=(ConfigError,),
    )
    console.print(f"{count} vehicle owner(s) loaded from {path.name}")


@vehicles_app.command("analyse")
def analyse(
    since: Annotated[datetime | None, typer.Option(help="First read time (UTC)")] = None,
    until: Annotated[datetime | None, typer.Option(help="Reads before this time (UTC)")] = None,
) -> None:
    """Find cloned plates, convoys, shuttles, undeclared crossings, transport mismatches; store alerts."""
    with agency_session() as command:
        summary = service.analyse(
            session=command.session,
            agency=command.agency,
            since=since.replace(tzinfo=UTC) if since and since.tzinfo is None else since,
            until=until.replace(tzinfo=UTC) if until and until.tzinfo is None else until,
        )
        counts = {"reads": summary.reads, "findings": summary.findings, "stored": summary.stored}
        command.audit("analyse", "plate_reads", detail=counts)
    print_table(
        f"{summary.reads:,} reads analysed in {summary.seconds:.1f} s",
        ("pattern", "findings"),
        [(code, str(count)) for code, count in sorted(summary.findings.items())],
        right=("findings",),
    )
    console.print(f"{summary.stored} new alert(s)")


@vehicles_app.command("generate")
def generate(
    folder: Annotated[
        Path, typer.Argument(help="Where to write cameras.csv, reads.csv, declared.csv, truth.json")
    ],
    reads: Annotated[int, typer.Option(help="About this many reads")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
) -> None:
    """Synthetic crossings with planted clones, convoys, shuttles, undeclared crossings and mismatches."""
    from borderwatch.synthetic import CrossingConfig, generate_crossings, write_crossings

    world = generate_crossings(CrossingConfig(reads=reads, seed=seed))
    paths = write_crossings(world, folder)
    where = paths["reads.csv"].parent
    console.print(f"{world.reads.height:,} reads, {world.declarations.height:,} declared vehicles in {where}")


@vehicles_app.command("read-plate")
def read_plate(
    images: Annotated[list[Path], typer.Argument(help="Plate images (PNG, JPEG...)")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the reads as JSON")] = None,
) -> None:
    """Read number plates from images offline (RapidOCR's PP-OCR models, per-country repair).

    Exit code 1 if an image could not be read or showed no plate; the other images are still read.
    """
    from borderwatch.vehicles.ocr import read_plates

    reads = read_plates(images)
    print_table(
        f"{sum(1 for r in reads if r.plate)} of {len(reads)} image(s) read",
        ("file", "plate", "country", "confidence", "repairs"),
        [
            (
                read.file,
                read.plate or "-",
                read.country or "-",
                f"{read.confidence:.2f}",
                " ".join(read.repairs) or (read.error or ""),
            )
            for read in reads
        ],
        right=("confidence",),
    )
    if json_out is not None:
        data = {
            "reads": [r.as_dict() for r in reads],
            "errors": [{"file": r.file, "error": r.error} for r in reads if r.error],
        }
        json_out.write_text(json.dumps(data, indent=2), encoding="utf-8")
    failed = [r for r in reads if not r.plate]
    for read in failed:
        err_console.print(f"[bold red]error:[/] {read.file}: {read.error}", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(vehicles_app, name="vehicles")
