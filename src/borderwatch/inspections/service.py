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
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, selectinload

from borderwatch.core.errors import BorderwatchError, NotFoundError
from borderwatch.ingest.models import DeclarationRow, OutcomeRow
from borderwatch.inspections.models import CaseRow, CaseStatusRow, EvidenceRow, FindingRow
from borderwatch.lanes.models import LaneDecisionRow

Result = Literal["no_finding", "irregularity", "seizure"]
RESULTS: tuple[Result, ...] = ("no_finding", "irregularity", "seizure")
_CRITICAL = {"no_finding": 0, "irregularity": 1, "seizure": 2}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


ACTIVE = ("open", "assigned")  # statuses of a case still to be worked; "closed" and "withdrawn" are final


class CaseError(BorderwatchError):
    """A case operation that is not allowed, or bad finding details."""


class OutcomeDateError(CaseError):
    """An outcome dated before its declaration or in the future: time-safe training reads these dates."""


def check_outcome_date(
    *, session: Session, case: CaseRow, recorded_on: date, today: date | None = None
) -> None:
    """The one rule for an inspection's date, whoever records it (web, API, CLI): on or after the
    declaration's date and not after today. ``OutcomeDateError`` naming both dates otherwise."""
    today = today or date.today()
    if recorded_on > today:
        raise OutcomeDateError(f"the inspection date {recorded_on} is in the future (today is {today})")
    declared_on = _declared_on(session, case)
    if declared_on is not None and recorded_on < declared_on:
        raise OutcomeDateError(
            f"the inspection date {recorded_on} is before the declaration's date {declared_on} ({case.lrn})"
        )


def _declared_on(session: Session, case: CaseRow) -> date | None:
    if case.decision_id is not None:
        found = session.scalar(
            select(LaneDecisionRow.declared_on).where(LaneDecisionRow.id == case.decision_id)
        )
        if found is not None:
            return found
    return session.scalar(
        select(DeclarationRow.declared_on).where(
            DeclarationRow.lrn == case.lrn, DeclarationRow.agency == case.agency, DeclarationRow.is_current
        )
    )


class CaseStateError(CaseError):
    """The case is closed or withdrawn (by now): nothing more can be done to it."""


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
    """Move ``case`` to ``status`` unless it is closed or withdrawn by now; whether it was moved.

    Two officers (or an officer and a lane decision) acting on one case at once must not both succeed on
    it: closing it again would record a second finding and outcome (label), assigning it would reopen it.
    The UPDATE decides on the status as it writes: PostgreSQL's waits for a concurrent change to commit and
    rereads the row, SQLite's waits for the write lock."""
    moved = session.connection().execute(
        update(CaseRow).where(CaseRow.id == case.id, CaseRow.status.in_(ACTIVE)).values(status=status)
    )
    return moved.rowcount == 1


def _final_state_error(session: Session, case_id: int, doing: str) -> CaseStateError:
    """The error for a case found closed or withdrawn; its status is read afresh (the caller's copy may be
    older), without refreshing the caller's copy."""
    status = session.scalar(select(CaseRow.status).where(CaseRow.id == case_id))
    if status == "withdrawn":
        return CaseStateError(
            f"case {case_id} was withdrawn (its declaration no longer needs it): cannot {doing}"
        )
    return CaseStateError(f"case {case_id} is already closed: cannot {doing}")


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
            select(CaseRow.lrn).where(
                CaseRow.agency == agency, CaseRow.lrn.in_(lrns), CaseRow.status.in_(ACTIVE)
            )
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


def follow_decisions(
    *,
    session: Session,
    decisions: pl.DataFrame,
    actor: str,
    lanes: Sequence[str] = ("red", "yellow"),
    agency: str = "default",
) -> list[CaseRow]:
    """The open and assigned cases of the declarations in ``decisions`` (frame with lrn, lane, decision_id:
    their new current decisions) follow them; returns the cases changed.

    A re-run of the lane assignment or a supervisor's override replaces a declaration's decision. Its case
    then takes the new decision and lane (red ↔ yellow), or, when the new lane is not in ``lanes`` (green:
    released), is withdrawn: it leaves the work queues with no finding and no outcome, so nothing is learnt
    from an inspection that did not happen. Each change is written in the case's history."""
    by_lrn = {row["lrn"]: row for row in decisions.select("lrn", "lane", "decision_id").iter_rows(named=True)}
    cases = session.scalars(
        select(CaseRow).where(
            CaseRow.agency == agency, CaseRow.lrn.in_(list(by_lrn)), CaseRow.status.in_(ACTIVE)
        )
    ).all()
    changed: list[CaseRow] = []
    for case in cases:
        decision = by_lrn[case.lrn]
        if case.decision_id == decision["decision_id"]:
            continue
        following = decision["lane"] in lanes
        status = case.status if following else "withdrawn"
        # decided as it writes, like every case change: a case closed meanwhile keeps its finding
        moved = session.connection().execute(
            update(CaseRow)
            .where(CaseRow.id == case.id, CaseRow.status.in_(ACTIVE))
            .values(
                decision_id=decision["decision_id"],
                lane=decision["lane"] if following else case.lane,
                status=status,
            )
        )
        if moved.rowcount != 1:
            continue
        session.refresh(case)
        note = (
            f"follows decision {decision['decision_id']}: lane {decision['lane']}"
            if following
            else f"withdrawn by decision {decision['decision_id']}: lane {decision['lane']}"
        )
        _log(session, case, status, actor, note)
        changed.append(case)
    session.flush()
    return changed


def get_case(*, session: Session, case_id: int) -> CaseRow:
    case = session.get(
        CaseRow, case_id, options=[selectinload(CaseRow.history), selectinload(CaseRow.findings)]
    )
    if case is None:
        raise NotFoundError(f"no inspection case {case_id}")
    return case


def _cases_query(*, status: str | None, officer: str | None, agency: str) -> Select[CaseRow]:
    query = select(CaseRow).where(CaseRow.agency == agency)
    if status:
        query = query.where(CaseRow.status == status)
    if officer:
        query = query.where(CaseRow.officer == officer)
    return query


def list_cases(
    *,
    session: Session,
    status: str | None = None,
    officer: str | None = None,
    agency: str = "default",
    limit: int | None = None,
    offset: int = 0,
) -> list[CaseRow]:
    """Cases of ``agency`` by number; ``limit``/``offset`` page them in the database."""
    query = _cases_query(status=status, officer=officer, agency=agency).order_by(CaseRow.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def count_cases(
    *, session: Session, status: str | None = None, officer: str | None = None, agency: str = "default"
) -> int:
    query = _cases_query(status=status, officer=officer, agency=agency)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def assign_case(*, session: Session, case_id: int, officer: str, actor: str) -> CaseRow:
    case = get_case(session=session, case_id=case_id)
    if case.status not in ACTIVE or not _move_unless_closed(session, case, "assigned"):
        raise _final_state_error(session, case_id, "assign it")
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
    if case.status not in ACTIVE:
        raise _final_state_error(session, case_id, "record a finding")
    if result == "seizure" and not goods:
        raise CaseError("a seizure must name the goods seized")
    if duty_recovered is not None and duty_recovered < 0:
        raise CaseError("duty recovered cannot be negative")
    check_outcome_date(session=session, case=case, recorded_on=recorded_on)
    for item in evidence:
        if not _SHA256.match(item.sha256):
            raise CaseError(f"evidence {item.name!r}: {item.sha256!r} is not a SHA-256 hex fingerprint")
    if not _move_unless_closed(session, case, "closed"):
        raise _final_state_error(session, case_id, "record a finding")
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
