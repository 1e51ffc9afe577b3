"""Read models for declarations, lane decisions and cases: the shapes the API and the pages show.

Only reads of stored rows live here; every change goes through the owning stage's service.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from borderwatch.core.clock import UtcDateTime
from borderwatch.ingest.models import DeclarationRow, OutcomeRow
from borderwatch.inspections.models import CaseRow
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.scoring.registry import latest_scores


class RowOut(BaseModel):
    """A response read straight from an ORM row's attributes of the same names."""

    model_config = ConfigDict(from_attributes=True)


class ItemOut(RowOut):
    item_no: int
    hs_code: str
    description: str | None
    net_mass: float | None
    quantity: float | None
    customs_value: float
    currency: str
    tax_rate: float | None


class DecisionOut(BaseModel):
    lane: str
    basis: str
    score: float | None
    fraud_probability: float | None
    expected_duty: float | None
    reasons: list[str]
    control: bool
    aeo: bool
    policy_version: str
    model_version: str | None
    decided_by: str
    decided_at: UtcDateTime
    override_reason: str | None

    @classmethod
    def of(cls, row: LaneDecisionRow) -> DecisionOut:
        return cls(
            lane=row.lane,
            basis=row.basis,
            score=row.score,
            fraud_probability=row.fraud_probability,
            expected_duty=row.expected_duty,
            reasons=[str(r) for r in row.reasons or []],
            control=row.control,
            aeo=row.aeo,
            policy_version=row.policy_version,
            model_version=row.model_version,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            override_reason=row.override_reason,
        )


class OutcomeOut(RowOut):
    recorded_on: date
    fraud: bool
    critical_fraud: int
    duty_recovered: float | None
    findings: str | None
    source: str


class CaseSummary(BaseModel):
    id: int
    lrn: str
    lane: str
    status: str
    officer: str | None
    opened_at: UtcDateTime
    closed_at: UtcDateTime | None


class StoredScore(BaseModel):
    score: float
    fraud_probability: float
    forced_lane: str | None
    reasons: list[str]
    model_version: str


class DeclarationOut(BaseModel):
    lrn: str
    version: int
    agency: str
    declared_on: date
    office: str
    procedure: dict[str, str | None]
    transport: dict[str, Any]
    parties: dict[str, Any]
    items: list[ItemOut]
    documents: list[Any]
    decision: DecisionOut | None
    latest_score: StoredScore | None
    outcomes: list[OutcomeOut]
    cases: list[CaseSummary]


class WorklistItem(BaseModel):
    lrn: str
    declared_on: date
    office: str
    lane: str
    score: float | None
    expected_duty: float | None
    top_reasons: list[str]
    basis: str
    control: bool
    case_id: int | None
    case_status: str | None


def current_declaration(*, db_session: Session, lrn: str, agency: str) -> DeclarationRow | None:
    """The current version of ``lrn`` in ``agency`` (else of any agency, so the policy can refuse it)."""
    query = (
        select(DeclarationRow)
        .where(DeclarationRow.lrn == lrn, DeclarationRow.is_current)
        .options(selectinload(DeclarationRow.items))
    )
    rows = list(db_session.scalars(query))
    own = [r for r in rows if r.agency == agency]
    candidates = own or rows
    return candidates[0] if candidates else None


def current_decision(*, db_session: Session, lrn: str, agency: str) -> LaneDecisionRow | None:
    return db_session.scalars(
        select(LaneDecisionRow).where(
            LaneDecisionRow.lrn == lrn, LaneDecisionRow.agency == agency, LaneDecisionRow.is_current
        )
    ).first()


def cases_of(*, db_session: Session, lrn: str, agency: str) -> list[CaseRow]:
    return list(
        db_session.scalars(
            select(CaseRow).where(CaseRow.lrn == lrn, CaseRow.agency == agency).order_by(CaseRow.id)
        )
    )


def case_summary(row: CaseRow) -> CaseSummary:
    return CaseSummary(
        id=row.id,
        lrn=row.lrn,
        lane=row.lane,
        status=row.status,
        officer=row.officer,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
    )


def declaration_out(*, db_session: Session, row: DeclarationRow) -> DeclarationOut:
    decision = current_decision(db_session=db_session, lrn=row.lrn, agency=row.agency)
    outcomes = db_session.scalars(
        select(OutcomeRow)
        .where(OutcomeRow.lrn == row.lrn, OutcomeRow.agency == row.agency)
        .order_by(OutcomeRow.recorded_on, OutcomeRow.id)
    )
    return DeclarationOut(
        lrn=row.lrn,
        version=row.version,
        agency=row.agency,
        declared_on=row.declared_on,
        office=row.office,
        procedure={
            "process_type": row.process_type,
            "import_type": row.import_type,
            "import_use": row.import_use,
            "payment_type": row.payment_type,
        },
        transport={
            "mode": row.transport_mode,
            "departure_country": row.departure_country,
            "transit_countries": (row.transit_countries or "").split(),
            "origin_country": row.origin_country,
            "origin_indicator": row.origin_indicator,
            "means_id": row.means_id,
            "container_ids": (row.container_ids or "").split(),
        },
        parties=dict(row.parties or {}),
        items=[ItemOut.model_validate(i) for i in row.items],
        documents=list(row.documents or []),
        decision=DecisionOut.of(decision) if decision else None,
        latest_score=_latest_score(db_session=db_session, lrn=row.lrn, agency=row.agency),
        outcomes=[OutcomeOut.model_validate(o) for o in outcomes],
        cases=[case_summary(c) for c in cases_of(db_session=db_session, lrn=row.lrn, agency=row.agency)],
    )


def _latest_score(*, db_session: Session, lrn: str, agency: str) -> StoredScore | None:
    scores = latest_scores(session=db_session, agency=agency, lrns=[lrn])
    if scores.is_empty():
        return None
    row = scores.row(0, named=True)
    return StoredScore(
        score=row["score"],
        fraud_probability=row["fraud_probability"],
        forced_lane=row["forced_lane"],
        reasons=list(row["reasons"] or []),
        model_version=row["model_version"],
    )


def worklist(
    *,
    db_session: Session,
    agency: str,
    lanes: tuple[str, ...] = ("red", "yellow"),
    office: str | None = None,
    since: date | None = None,
    until: date | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[WorklistItem], int]:
    """Current red/yellow decisions of ``agency``, riskiest first, with their case (if any)."""
    query = select(LaneDecisionRow, CaseRow).outerjoin(
        CaseRow, (CaseRow.decision_id == LaneDecisionRow.id) & (CaseRow.agency == LaneDecisionRow.agency)
    )
    query = query.where(
        LaneDecisionRow.agency == agency, LaneDecisionRow.is_current, LaneDecisionRow.lane.in_(lanes)
    )
    if office:
        query = query.where(LaneDecisionRow.office == office)
    if since:
        query = query.where(LaneDecisionRow.declared_on >= since)
    if until:
        query = query.where(LaneDecisionRow.declared_on <= until)
    if open_only:
        query = query.where((CaseRow.id.is_(None)) | (CaseRow.status != "closed"))
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ordered = query.order_by(
        LaneDecisionRow.score.desc().nulls_last(), LaneDecisionRow.declared_on.desc(), LaneDecisionRow.lrn
    )
    items = [
        WorklistItem(
            lrn=decision.lrn,
            declared_on=decision.declared_on,
            office=decision.office,
            lane=decision.lane,
            score=decision.score,
            expected_duty=decision.expected_duty,
            top_reasons=[str(r) for r in (decision.reasons or [])[:3]],
            basis=decision.basis,
            control=decision.control,
            case_id=case.id if case else None,
            case_status=case.status if case else None,
        )
        for decision, case in db_session.execute(ordered.limit(limit).offset(offset))
    ]
    return items, total
