"""``borderwatch travellers ingest|lost-stolen|read-mrz|check|read-document``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from borderwatch.cli.common import (
    AgencySession,
    agency_session,
    console,
    each_file,
    fail,
    load_file,
    print_table,
    show_quarantine,
)
from borderwatch.core.errors import ConfigError, IngestError, NotFoundError
from borderwatch.travellers import MrzError, read_mrz, service

travellers_app = typer.Typer(
    help="Passenger and crew lists, travel documents and traveller risk.", no_args_is_help=True
)


@travellers_app.command("ingest")
def ingest(
    files: Annotated[list[Path], typer.Argument(help="PAXLST interchanges, CSV or JSON Lines lists")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="paxlst, csv or jsonl (default: detect)")
    ] = None,
) -> None:
    """Store passenger and crew lists; report counts, quarantine and envelope issues (UNT counts...)."""

    def store(command: AgencySession, path: Path) -> service.TravellerIngestSummary:
        summary = service.ingest_travellers(
            session=command.session, path=path, agency=command.agency, fmt=fmt
        )
        counts = {"travellers": summary.travellers, "quarantined": summary.quarantined}
        command.audit("ingest", "traveller_list", path.name, counts)
        return summary

    stored = each_file(files, store, failures=(ConfigError,))
    columns = ("file", "movements", "travellers", "documents", "duplicates", "quarantined")
    print_table(
        "Traveller lists ingested",
        columns,
        [
            (
                path.name,
                str(summary.movements),
                str(summary.travellers),
                str(summary.documents),
                str(summary.duplicates),
                str(summary.quarantined + summary.already_quarantined),
            )
            for path, summary in zip(files, stored, strict=True)
        ],
        right=columns[1:],
    )
    for path, summary in zip(files, stored, strict=True):
        for issue in summary.issues:
            console.print(f"[yellow]issue[/yellow] {path.name}: {issue}")


quarantine_app = typer.Typer(help="Traveller records that failed validation.", no_args_is_help=True)
travellers_app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    all_records: Annotated[bool, typer.Option("--all", help="Released records too")] = False,
) -> None:
    """Quarantined travellers, messages and interchanges, with the segment or field at fault."""
    show_quarantine(
        lambda c, status: service.list_quarantine(session=c.session, agency=c.agency, status=status),
        all_records=all_records,
        resource="traveller_quarantine",
        title="quarantined traveller record(s)",
        columns=("id", "source", "record", "reason", "status"),
        cells=lambda r: (str(r.id), r.source_file, r.record, r.reason, r.status),
    )


@quarantine_app.command("release")
def quarantine_release(
    record_id: Annotated[int, typer.Argument(help="The quarantined record's id")],
    raw_file: Annotated[
        Path | None, typer.Option("--raw-file", help="The corrected record (default: as quarantined)")
    ] = None,
) -> None:
    """Read a quarantined record again (corrected) and store it; it stays quarantined if it still fails."""
    raw = raw_file.read_text(encoding="utf-8") if raw_file else None
    with agency_session(IngestError, NotFoundError) as command:
        summary = service.release_quarantined(
            session=command.session, agency=command.agency, record_id=record_id, raw=raw
        )
        command.audit("update", "traveller_quarantine", str(record_id), {"travellers": summary.travellers})
    console.print(f"released: {summary.travellers} traveller(s), {summary.documents} document(s) stored")


@travellers_app.command("lost-stolen")
def lost_stolen(
    path: Annotated[Path, typer.Argument(help="CSV: number, issuing_state, reported_on, status")],
) -> None:
    """Replace the agency's list of lost and stolen travel documents."""
    count = load_file(
        path,
        lambda c: service.load_lost_stolen(session=c.session, agency=c.agency, path=path),
        action="load",
        resource="lost_stolen_documents",
        counted="documents",
        failures=(ConfigError,),
    )
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


@travellers_app.command("read-document")
def read_document_command(
    images: Annotated[list[Path], typer.Argument(help="Document page images (PNG, JPEG)")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the reads as JSON")] = None,
) -> None:
    """Read the MRZ of document images offline (PP-OCR ONNX models shipped in rapidocr-onnxruntime).

    The check digits are the gate: the exit code is 1 unless every image gives a valid MRZ.
    """
    from borderwatch.travellers.ocr import DocumentReadError, read_document

    reads = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reading", total=len(images))
        for path in images:
            try:
                reads.append(read_document(path))
            except DocumentReadError as error:
                fail(str(error))
            progress.advance(task)
    data = [read.as_dict() for read in reads]
    if json_out is not None:
        payload = data[0] if len(data) == 1 else data
        json_out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    table = Table(title="Documents read")
    for column in ("image", "format", "number", "name", "valid", "repairs", "seconds"):
        table.add_column(column)
    for read in reads:
        mrz = read.mrz
        table.add_row(
            read.source,
            mrz.format if mrz else "-",
            mrz.document_number if mrz else "-",
            mrz.name if mrz else "-",
            "yes" if read.valid else ("no: " + ", ".join(mrz.failed_checks) if mrz else "no MRZ found"),
            str(len(read.repairs)),
            f"{read.seconds:.2f}",
        )
    console.print(table)
    if not all(read.valid for read in reads):
        raise typer.Exit(1)


@travellers_app.command("verify-face")
def verify_face(
    document: Annotated[Path, typer.Argument(help="The document page or its photo")],
    live: Annotated[Path, typer.Argument(help="The live capture at the desk")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the decision as JSON")] = None,
) -> None:
    """Is the face on the document the face in the live capture? Offline; no face data is kept.

    Exit code 0 for the same person, 1 for different people, 2 when an image has no face.
    """
    from borderwatch.travellers.face import FaceError, load_image, verify

    try:
        decision = verify(load_image(document), load_image(live))
    except FaceError as error:
        fail(str(error))
    with agency_session() as command:
        decided = {"same_person": decision.same_person, "distance": round(decision.distance, 4)}
        command.audit("verify", "face", document.name, decided)
    if json_out is not None:
        json_out.write_text(json.dumps(decision.as_dict(), indent=2), encoding="utf-8")
    verdict = "same person" if decision.same_person else "different people"
    console.print(f"{verdict}: distance {decision.distance:.3f} (threshold {decision.threshold})")
    if not decision.same_person:
        raise typer.Exit(1)


@travellers_app.command("check")
def check(
    movement: Annotated[str, typer.Argument(help="Movement key (NUMBER/DAY/FROM-TO) or flight number")],
    hubs: Annotated[
        str, typer.Option("--hubs", help="Transit hubs of concern, comma-separated place codes")
    ] = "",
    capacity: Annotated[int, typer.Option("--capacity", help="Secondary inspections for this movement")] = 10,
    control_rate: Annotated[float, typer.Option("--control-rate", help="Random referral rate")] = 0.01,
    traders: Annotated[
        Path | None, typer.Option("--traders", help="CSV of traders under investigation")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write every assessment as JSON")] = None,
) -> None:
    """Check documents, screen against the watchlists, score and refer every traveller of a movement."""
    from borderwatch.travellers.risk import TravellerPolicy

    policy = TravellerPolicy(
        transit_hubs=tuple(h.strip().upper() for h in hubs.split(",") if h.strip()),
        referral_capacity=capacity,
        control_rate=control_rate,
    )
    with agency_session(ConfigError, NotFoundError) as command:
        contacts = service.read_traders_csv(traders) if traders else []
        row, assessments = service.check_movement(
            session=command.session, agency=command.agency, key=movement, policy=policy, traders=contacts
        )
        names = service.traveller_names(session=command.session, movement_id=row.id)
        referred = {"travellers": len(assessments), "referred": sum(a.referred for a in assessments)}
        command.audit("check", "traveller_movement", row.key, referred)
        key = row.key
    if json_out is not None:
        data = [
            {
                "traveller_id": a.key,
                "name": names.get(a.key),
                "score": a.score,
                "referred": a.referred,
                "basis": a.basis,
                "reasons": [r.as_dict() for r in a.reasons],
            }
            for a in assessments
        ]
        json_out.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    table = Table(title=f"{key}: {sum(a.referred for a in assessments)} of {len(assessments)} referred")
    for column in ("traveller", "name", "score", "referral", "reasons"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for a in sorted(assessments, key=lambda a: -a.score):
        if not a.reasons and not a.referred:
            continue
        table.add_row(
            a.key,
            names.get(a.key, ""),
            f"{a.score:.2f}",
            a.basis if a.referred else "-",
            ", ".join(r.code for r in a.reasons),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(travellers_app, name="travellers")
