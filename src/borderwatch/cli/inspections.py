"""⑤ ``borderwatch cases list/show/assign/record``: inspection cases from selection to finding."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from borderwatch.cli.common import console, fail, open_database
from borderwatch.core.errors import BorderwatchError
from borderwatch.core.settings import get_settings

cases_app = typer.Typer(help="Inspection cases: assign, record findings.", no_args_is_help=True)


@cases_app.command("list")
def list_command(
    *,
    status: Annotated[str | None, typer.Option(help="open, assigned or closed")] = None,
    officer: Annotated[str | None, typer.Option(help="only this officer's cases")] = None,
) -> None:
    """Lists inspection cases."""
    from borderwatch.inspections.service import list_cases

    settings = get_settings()
    _, factory = open_database(settings)
    with factory() as session:
        rows = list_cases(session=session, status=status, officer=officer, agency=settings.agency)
    table = Table(title=f"inspection cases ({len(rows)})")
    for column in ("id", "lrn", "lane", "status", "officer"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row.id), row.lrn, row.lane, row.status, row.officer or "")
    console.print(table)


@cases_app.command("show")
def show_command(case_id: Annotated[int, typer.Argument()]) -> None:
    """A case with its status history and finding."""
    from borderwatch.inspections.service import get_case

    _, factory = open_database(get_settings())
    try:
        with factory() as session:
            case = get_case(session=session, case_id=case_id)
            console.print(
                f"case {case.id}: {case.lrn} ({case.lane} lane), {case.status}, {case.officer or '-'}"
            )
            for entry in case.history:
                console.print(
                    f"  {entry.at:%Y-%m-%d %H:%M} {entry.status:<9} {entry.actor}: {entry.note or ''}"
                )
            for finding in case.findings:
                console.print(
                    f"  finding: {finding.result}, goods {finding.goods or '-'}, duty recovered "
                    f"{finding.duty_recovered or 0:g}, {len(finding.evidence)} evidence file(s)"
                )
    except BorderwatchError as error:
        fail(str(error))


@cases_app.command("assign")
def assign_command(
    case_id: Annotated[int, typer.Argument()],
    *,
    officer: Annotated[str, typer.Option(help="officer who will inspect")],
    actor: Annotated[str, typer.Option("--by", help="who assigns")] = "supervisor",
) -> None:
    """Assigns a case to an officer."""
    from borderwatch.inspections.service import assign_case

    _, factory = open_database(get_settings())
    try:
        with factory.begin() as session:
            case = assign_case(session=session, case_id=case_id, officer=officer, actor=actor)
            console.print(f"case {case.id} assigned to {case.officer}")
    except BorderwatchError as error:
        fail(str(error))


@cases_app.command("record")
def record_command(
    case_id: Annotated[int, typer.Argument()],
    *,
    result: Annotated[str, typer.Option(help="no_finding, irregularity or seizure")],
    officer: Annotated[str, typer.Option(help="officer who inspected")],
    on: Annotated[str | None, typer.Option(help="inspection date YYYY-MM-DD (default today)")] = None,
    goods: Annotated[str | None, typer.Option(help="goods found or seized")] = None,
    quantity: Annotated[float | None, typer.Option()] = None,
    unit: Annotated[str | None, typer.Option(help="quantity unit")] = None,
    concealment: Annotated[str | None, typer.Option(help="concealment method")] = None,
    duty: Annotated[float | None, typer.Option(help="duty recovered")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    evidence: Annotated[list[Path], typer.Option(help="evidence file to fingerprint (SHA-256); repeat")] = [],  # noqa: B006 - Typer needs a literal default for a repeatable option
) -> None:
    """Closes a case with its finding; the finding becomes the declaration's outcome label."""
    from borderwatch.inspections.service import fingerprint, record_outcome

    when = date.today()
    if on is not None:
        try:
            when = date.fromisoformat(on)
        except ValueError:
            fail(f"--on must be a date as YYYY-MM-DD, not {on!r}")
    for path in evidence:
        if not path.is_file():
            fail(f"evidence file {path} does not exist")
    _, factory = open_database(get_settings())
    try:
        with factory.begin() as session:
            outcome = record_outcome(
                session=session,
                case_id=case_id,
                result=result,
                officer=officer,
                recorded_on=when,
                goods=goods,
                quantity=quantity,
                quantity_unit=unit,
                concealment=concealment,
                duty_recovered=duty,
                notes=notes,
                evidence=[fingerprint(path) for path in evidence],
            )
            console.print(f"case {case_id} closed: {result}; outcome {outcome.id} for {outcome.lrn}")
    except BorderwatchError as error:
        fail(str(error))


@cases_app.command("answer")
def answer_command(
    lrns: Annotated[list[str], typer.Argument(help="the declarations to answer on")],
    *,
    fmt: Annotated[str, typer.Option("--format", help="cusres (UN/EDIFACT) or json")] = "cusres",
    out: Annotated[Path | None, typer.Option(help="write here instead of printing")] = None,
    recipient: Annotated[
        str, typer.Option(help="UNB recipient: the trader's or port system's id")
    ] = "TRADER",
) -> None:
    """Answers on declarations (lane, basis, reasons, case result) as CUSRES messages or JSON."""
    from datetime import UTC, datetime

    from borderwatch.ingest.edifact.cusres import write_cusres
    from borderwatch.inspections.answers import answers

    if fmt not in {"cusres", "json"}:
        fail(f"--format must be cusres or json, not {fmt!r}")
    settings = get_settings()
    _, factory = open_database(settings)
    with factory() as session:
        found = answers(session=session, agency=settings.agency, lrns=lrns)
    missing = sorted(set(lrns) - {a.lrn for a in found})
    if not found:
        fail(f"no lane decision for {', '.join(missing)}")
    now = datetime.now(UTC)
    if fmt == "json":
        text = "\n".join(a.model_dump_json() for a in found) + "\n"
    else:
        text = write_cusres(
            found,
            sender=settings.agency[:35],
            recipient=recipient[:35],
            reference=now.strftime("%y%m%d%H%M%S"),
            prepared_at=now,
        )
    if out is None:
        console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
    else:
        out.write_text(text, encoding="utf-8" if "UNOY" in text[:64] or fmt == "json" else "latin-1")
        console.print(f"{len(found)} answer(s) written to {out}")
    for lrn in missing:
        console.print(f"[yellow]no lane decision for {lrn}[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
