"""Inspection cases for the API and the workspace pages alike: the one fetch of a case (404 and audit), its
response shapes, assignment and the outcome form's work (through the inspections service)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from borderwatch.access import service as access
from borderwatch.access.models import UserRow
from borderwatch.access.policy import Action, Resource, decide
from borderwatch.inspections import service as inspections
from borderwatch.inspections.models import CaseRow
from borderwatch.ledger import service
from borderwatch.ledger.documents import register_evidence
from borderwatch.ledger.entries import LedgerError
from borderwatch.ledger.keys import KeyStore
from borderwatch.web.deps import AppState, Guard, require
from borderwatch.web.errors import ApiError
from borderwatch.web.services.records import CaseSummary, RowOut, case_summary

log = logging.getLogger(__name__)

CaseStatus = Literal["open", "assigned", "closed", "withdrawn"]
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the case number")]


class StatusOut(RowOut):
    status: str
    actor: str
    note: str | None


class FindingOut(RowOut):
    result: str
    goods: str | None
    quantity: float | None
    quantity_unit: str | None
    concealment: str | None
    duty_recovered: float | None
    notes: str | None
    recorded_by: str
    recorded_on: date


class CaseOut(CaseSummary):
    history: list[StatusOut]
    findings: list[FindingOut]


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class OutcomeIn(BaseModel):
    """What the inspection found. A seizure must name the goods."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    result: Literal["no_finding", "irregularity", "seizure"]
    recorded_on: date | None = Field(default=None, description="default: today")
    goods: str | None = Field(default=None, max_length=2000)
    quantity: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    quantity_unit: str | None = Field(default=None, max_length=16)
    concealment: str | None = Field(default=None, max_length=2000)
    duty_recovered: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    notes: str | None = Field(default=None, max_length=10_000)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=100)


def case_out(row: CaseRow) -> CaseOut:
    return CaseOut(
        **case_summary(row).model_dump(),
        history=[StatusOut.model_validate(h) for h in row.history],
        findings=[FindingOut.model_validate(f) for f in row.findings],
    )


def case_for(
    guard: Guard,
    case_id: int,
    action: Action | None = None,
    detail: Callable[[CaseRow], dict[str, Any]] | None = None,
) -> CaseRow:
    """The case, if the caller may see it (else the one 404, the same for another agency's case), with the
    audit entry of the access: the one fetch of a case for the API and the pages."""
    return guard.fetch(
        lambda: inspections.get_case(session=guard.db, case_id=case_id),
        agency_of=lambda row: row.agency,
        resource_id=str(case_id),
        noun="case",
        detail=detail,
        action=action,
    )


def readable_case(
    case_id: CaseId, guard: Annotated[Guard, Depends(require(Action.READ, Resource.CASE))]
) -> CaseRow:
    """A dependency: the case of the path, read by an API caller who may see it (audited)."""
    return case_for(guard, case_id)


ReadableCase = Annotated[CaseRow, Depends(readable_case)]


def may_inspect(user: UserRow) -> bool:
    """Whether ``user`` may record an inspection's outcome, by the one policy: who a case can go to."""
    return (
        user.active
        and decide(access.principal_of(user, via="session"), Action.CREATE, Resource.OUTCOME).allowed
    )


def assignable_officers(*, db_session: Session, agency: str) -> list[str]:
    """The usernames a case of ``agency`` can be assigned to."""
    return sorted(
        u.username for u in access.list_users(db_session=db_session, agency=agency) if may_inspect(u)
    )


def assign_to(*, guard: Guard, case_id: int, officer: str) -> CaseRow:
    """Shared by the API, the case page and the worklist's bulk assignment: the officer must be an active
    user of the agency who may record outcomes; the audit entry names the case."""
    case_for(guard, case_id)
    user = access.active_user_of(db_session=guard.db, username=officer, agency=guard.agency)
    if user is None or not may_inspect(user):
        raise ApiError(
            422,
            f"{officer!r} is not an active officer of your agency who may record outcomes",
            field="officer",
        )
    try:
        return inspections.assign_case(
            session=guard.db, case_id=case_id, officer=officer, actor=guard.principal.username
        )
    except inspections.CaseError as error:
        raise ApiError(409, str(error)) from None


def _register_evidence(
    state: AppState, db: Session, *, agency: str, case_id: int, evidence: list[EvidenceIn]
) -> None:
    if not evidence or state.ledger is None:
        return
    try:
        service.log_info(state.engine, agency=agency)
    except LedgerError:  # the agency keeps no ledger
        return
    # The outcome is committed first: the ledger's writer thread appends in its own transaction, and on
    # SQLite this request's would hold the one write lock until it ends.
    db.commit()
    try:
        register_evidence(
            KeyStore(state.settings.data_dir),
            state.ledger.writer(agency),
            agency=agency,
            case_id=case_id,
            evidence=[(e.name, e.sha256) for e in evidence],
        )
    except (LedgerError, TimeoutError) as error:  # the outcome stands; the evidence can be registered later
        log.warning("case %s: evidence not registered in the ledger: %s", case_id, error)


def record_case_outcome(*, guard: Guard, case_id: CaseId, body: OutcomeIn, state: AppState) -> CaseOut:
    """Shared by the API and the case form: the policy check, the inspections service, the audit entry;
    the evidence files are registered in the agency's document ledger when it keeps one."""
    row = case_for(
        guard,
        case_id,
        detail=lambda row: {"lrn": row.lrn, "result": body.result, "duty_recovered": body.duty_recovered},
    )
    try:
        inspections.record_outcome(
            session=guard.db,
            case_id=case_id,
            result=body.result,
            officer=guard.principal.username,
            recorded_on=body.recorded_on or date.today(),
            goods=body.goods,
            quantity=body.quantity,
            quantity_unit=body.quantity_unit,
            concealment=body.concealment,
            duty_recovered=body.duty_recovered,
            notes=body.notes,
            evidence=[inspections.Evidence(name=e.name, sha256=e.sha256) for e in body.evidence],
        )
    except inspections.CaseStateError as error:
        raise ApiError(409, str(error)) from None
    except inspections.OutcomeDateError as error:
        raise ApiError(422, str(error), field="recorded_on") from None
    except inspections.CaseError as error:
        raise ApiError(422, str(error), field="goods" if "goods" in str(error) else None) from None
    _register_evidence(state, guard.db, agency=row.agency, case_id=case_id, evidence=body.evidence)
    guard.db.expire(row)
    return case_out(inspections.get_case(session=guard.db, case_id=case_id))
