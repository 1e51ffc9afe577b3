"""⑤ ``borderwatch cases list/show/assign/record``: inspection cases from selection to finding."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from borderwatch.cli.common import audit_cli, console, fail, open_database, require_user
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
    officer: Annotated[str, typer.Option(help="the borderwatch user who will inspect")],
) -> None:
    """Assigns a case to an officer (an active user who may record outcomes), as the acting user
    (``borderwatch --as USER``); audited."""
    from borderwatch.inspections.service import assign_case, get_case

    settings = get_settings()
    _, factory = open_database(settings)
    try:
        with factory.begin() as session:
            actor = require_user(session, agency=settings.agency)
            require_officer(session, officer, agency=settings.agency)
            if get_case(session=session, case_id=case_id).agency != settings.agency:
                fail(f"no inspection case {case_id}")
            case = assign_case(session=session, case_id=case_id, officer=officer, actor=actor)
            audit_cli(
                session,
                action="update",
                resource="case",
                agency=settings.agency,
                resource_id=str(case_id),
                detail={"officer": officer},
            )
            console.print(f"case {case.id} assigned to {case.officer}")
    except BorderwatchError as error:
        fail(str(error))


def require_officer(session: Session, officer: str, *, agency: str) -> None:
    """Officers are users: ``officer`` must be an active user of ``agency`` whom the policy lets record
    an inspection's outcome; exit 2 naming them otherwise."""
    from borderwatch.access.policy import Action, Resource, decide
    from borderwatch.access.service import active_user_of, principal_of

    user = active_user_of(db_session=session, username=officer, agency=agency)
    if user is None or not decide(principal_of(user, via="cli"), Action.CREATE, Resource.OUTCOME).allowed:
        fail(f"{officer!r} is not an active officer of agency {agency!r} (borderwatch users list)")


@cases_app.command("record")
def record_command(
    case_id: Annotated[int, typer.Argument()],
    *,
    result: Annotated[str, typer.Option(help="no_finding, irregularity or seizure")],
    officer: Annotated[
        str | None, typer.Option(help="the user who inspected (default: the acting user, --as)")
    ] = None,
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
    settings = get_settings()
    _, factory = open_database(settings)
    try:
        with factory.begin() as session:
            inspector = officer or require_user(session, agency=settings.agency)
            require_officer(session, inspector, agency=settings.agency)
            outcome = record_outcome(
                session=session,
                case_id=case_id,
                result=result,
                officer=inspector,
                recorded_on=when,
                goods=goods,
                quantity=quantity,
                quantity_unit=unit,
                concealment=concealment,
                duty_recovered=duty,
                notes=notes,
                evidence=[fingerprint(path) for path in evidence],
            )
            audit_cli(
                session,
                action="create",
                resource="outcome",
                agency=settings.agency,
                resource_id=str(case_id),
                detail={"lrn": outcome.lrn, "result": result, "officer": inspector},
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

    from borderwatch.access.policy import Action, Resource
    from borderwatch.inspections.answers import answers, as_cusres

    if fmt not in {"cusres", "json"}:
        fail(f"--format must be cusres or json, not {fmt!r}")
    settings = get_settings()
    _, factory = open_database(settings)
    with factory.begin() as session:
        found = answers(session=session, agency=settings.agency, lrns=lrns)
        for answer in found:  # who took which decision out of borderwatch, as CUSRES or JSON
            audit_cli(
                session,
                agency=settings.agency,
                action=Action.READ,
                resource=Resource.LANE,
                resource_id=answer.lrn,
                detail={"answer": fmt},
            )
    missing = sorted(set(lrns) - {a.lrn for a in found})
    if not found:
        fail(f"no lane decision for {', '.join(missing)}")
    if fmt == "json":
        text, charset = "\n".join(a.model_dump_json() for a in found) + "\n", "utf-8"
    else:
        text, charset = as_cusres(found, sender=settings.agency, recipient=recipient, at=datetime.now(UTC))
    if out is None:
        console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
    else:
        out.write_text(text, encoding=charset)
        console.print(f"{len(found)} answer(s) written to {out}")
    for lrn in missing:
        console.print(f"[yellow]no lane decision for {lrn}[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
