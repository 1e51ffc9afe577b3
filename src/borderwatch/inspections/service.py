"""Inspection cases: opened for declarations sent to red/yellow, assigned, closed with a finding.

Closing a case writes the finding and an ``OutcomeRow`` (the label training uses), and links the case to it:
no finding → fraud 0; irregularity → fraud 1, critical 1; seizure → fraud 1, critical 2.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from borderwatch.core.errors import BorderwatchError, NotFoundError
from borderwatch.ingest.models import OutcomeRow
from borderwatch.inspections.models import CaseRow, CaseStatusRow, EvidenceRow, FindingRow

Result = Literal["no_finding", "irregularity", "seizure"]
RESULTS: tuple[Result, ...] = ("no_finding", "irregularity", "seizure")
_CRITICAL = {"no_finding": 0, "irregularity": 1, "seizure": 2}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class CaseError(BorderwatchError):
    """A case operation that is not allowed in the case's state, or bad finding details."""


@dataclass(frozen=True)
class Evidence:
    """A supporting document by name and SHA-256 fingerprint (use :func:`fingerprint` for a file)."""

    name: str
    sha256: str


def fingerprint(path: Path) -> Evidence:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return Evidence(name=path.name, sha256=digest.hexdigest())


def _log(session: Session, case: CaseRow, status: str, actor: str, note: str | None = None) -> None:
    case.status = status
    session.add(CaseStatusRow(case_id=case.id, status=status, actor=actor, note=note))


def _move_unless_closed(session: Session, case: CaseRow, status: str) -> bool:
    """Move ``case`` to ``status`` unless it is closed by now; whether it was moved.

    ``case`` was read earlier (the web reads it to check access first), and another request may have closed
    it since: closing it again would record a second finding and outcome (label), assigning it would reopen
    it. The UPDATE decides on the status as it writes: PostgreSQL's waits for a concurrent closing to commit
    and rereads the row, SQLite's waits for the write lock."""
    moved = session.connection().execute(
        update(CaseRow).where(CaseRow.id == case.id, CaseRow.status != "closed").values(status=status)
    )
    return moved.rowcount == 1


def open_cases(
    *,
    session: Session,
    decisions: pl.DataFrame,
    lanes: Sequence[str] = ("red", "yellow"),
    agency: str = "default",
) -> list[CaseRow]:
    """One open case per decision in ``lanes`` (frame with lrn, lane and optionally decision_id) that has no
    open or assigned case yet."""
    wanted = decisions.filter(pl.col("lane").is_in(list(lanes)))
    lrns = wanted["lrn"].to_list()
    existing = set(
        session.scalars(
            select(CaseRow.lrn).where(CaseRow.lrn.in_(lrns), CaseRow.status.in_(("open", "assigned")))
        )
    )
    created: list[CaseRow] = []
    for record in wanted.iter_rows(named=True):
        if record["lrn"] in existing:
            continue
        case = CaseRow(
            agency=agency, lrn=record["lrn"], decision_id=record.get("decision_id"), lane=record["lane"]
        )
        session.add(case)
        created.append(case)
    session.flush()
    for case in created:
        _log(session, case, "open", "system", f"{case.lane} lane")
    session.flush()
    return created


def get_case(*, session: Session, case_id: int) -> CaseRow:
    case = session.get(
        CaseRow, case_id, options=[selectinload(CaseRow.history), selectinload(CaseRow.findings)]
    )
    if case is None:
        raise NotFoundError(f"no inspection case {case_id}")
    return case


def list_cases(
    *, session: Session, status: str | None = None, officer: str | None = None, agency: str = "default"
) -> list[CaseRow]:
    query = select(CaseRow).where(CaseRow.agency == agency)
    if status:
        query = query.where(CaseRow.status == status)
    if officer:
        query = query.where(CaseRow.officer == officer)
    return list(session.scalars(query.order_by(CaseRow.id)))


def assign_case(*, session: Session, case_id: int, officer: str, actor: str) -> CaseRow:
    case = get_case(session=session, case_id=case_id)
    if case.status == "closed" or not _move_unless_closed(session, case, "assigned"):
        raise CaseError(f"case {case_id} is closed and cannot be reassigned")
    case.officer = officer
    _log(session, case, "assigned", actor, f"assigned to {officer}")
    session.flush()
    return case


def record_outcome(
    *,
    session: Session,
    case_id: int,
    result: str,
    officer: str,
    recorded_on: date,
    goods: str | None = None,
    quantity: float | None = None,
    quantity_unit: str | None = None,
    concealment: str | None = None,
    duty_recovered: float | None = None,
    notes: str | None = None,
    evidence: Sequence[Evidence] = (),
) -> OutcomeRow:
    """Closes the case with its finding and writes the outcome label; returns the outcome."""
    if result not in RESULTS:
        raise CaseError(f"unknown result {result!r}; use one of {', '.join(RESULTS)}")
    case = get_case(session=session, case_id=case_id)
    if case.status == "closed":
        raise CaseError(f"case {case_id} is already closed")
    if result == "seizure" and not goods:
        raise CaseError("a seizure must name the goods seized")
    if duty_recovered is not None and duty_recovered < 0:
        raise CaseError("duty recovered cannot be negative")
    for item in evidence:
        if not _SHA256.match(item.sha256):
            raise CaseError(f"evidence {item.name!r}: {item.sha256!r} is not a SHA-256 hex fingerprint")
    if not _move_unless_closed(session, case, "closed"):
        raise CaseError(f"case {case_id} is already closed")
    finding = FindingRow(
        case_id=case.id,
        result=result,
        goods=goods,
        quantity=quantity,
        quantity_unit=quantity_unit,
        concealment=concealment,
        duty_recovered=duty_recovered,
        notes=notes,
        recorded_by=officer,
        recorded_on=recorded_on,
    )
    session.add(finding)
    session.flush()
    session.add_all(EvidenceRow(finding_id=finding.id, name=e.name, sha256=e.sha256) for e in evidence)
    summary = "; ".join(
        part
        for part in (
            result.replace("_", " "),
            f"goods: {goods}" if goods else "",
            f"quantity: {quantity:g} {quantity_unit or ''}".strip() if quantity is not None else "",
            f"concealment: {concealment}" if concealment else "",
            notes or "",
        )
        if part
    )
    outcome = OutcomeRow(
        lrn=case.lrn,
        agency=case.agency,
        recorded_on=recorded_on,
        fraud=result != "no_finding",
        critical_fraud=_CRITICAL[result],
        duty_recovered=duty_recovered,
        findings=summary,
        source=f"case:{case.id}",
    )
    session.add(outcome)
    session.flush()
    case.outcome_id = outcome.id
    case.closed_at = datetime.now(UTC)
    if case.officer is None:
        case.officer = officer
    _log(session, case, "closed", officer, result)
    session.flush()
    return outcome
