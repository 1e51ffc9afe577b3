"""Read models for declarations, lane decisions and cases: the shapes the API and the pages show.

Only reads of stored rows live here; every change goes through the owning stage's service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, Text, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from borderwatch.core.clock import UtcDateTime
from borderwatch.ingest.models import DeclarationRow, GoodsItemRow, OutcomeRow
from borderwatch.inspections.models import CaseRow
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.scoring.registry import latest_scores
from borderwatch.web.deps import Guard

Lrn = Annotated[str, Path(min_length=1, max_length=64)]
"""A declaration's local reference number in a path."""


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
    fraud_probability: float | None
    expected_duty: float | None
    top_reasons: list[str]
    basis: str
    control: bool
    importer_id: str | None = None
    importer_name: str | None = None
    case_id: int | None
    case_status: str | None
    officer: str | None = None


WorklistSort = Literal["score", "date", "office", "lane", "lrn", "status", "officer", "probability"]
CaseFilter = Literal["", "none", "open", "assigned", "closed", "withdrawn"]


class WorklistFilter(BaseModel):
    """What a worklist shows: the search, the filters and the order (the API's and the page's query)."""

    model_config = ConfigDict(extra="ignore")

    q: str = Field(
        default="", max_length=64, description="LRN prefix, trader id or name, HS code prefix, or container"
    )
    lane: Literal["red", "yellow", "green", ""] = Field(default="", description="only this lane")
    office: str = Field(default="", max_length=32)
    since: date | None = None
    until: date | None = None
    min_score: float | None = Field(default=None, ge=0, le=100)
    officer: str = Field(default="", max_length=64, description="cases assigned to this user")
    status: CaseFilter = Field(default="", description="case status; 'none' for declarations without a case")
    open_only: bool = Field(default=False, description="hide declarations whose case is closed")
    mine: bool = Field(default=False, description="only the cases assigned to me")
    sort: WorklistSort = "score"
    order: Literal["asc", "desc"] = "desc"


_SORT_COLUMNS: dict[str, Any] = {
    "score": LaneDecisionRow.score,
    "probability": LaneDecisionRow.fraud_probability,
    "date": LaneDecisionRow.declared_on,
    "office": LaneDecisionRow.office,
    "lane": LaneDecisionRow.lane,
    "lrn": LaneDecisionRow.lrn,
    "status": CaseRow.status,
    "officer": CaseRow.officer,
}


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(query: Select[Any], text: str) -> Select[Any]:
    """LRN prefix, a trader's id (any role), a party's name, a container number, an HS code prefix."""
    text = text.strip()
    if not text:
        return query
    contains = _like(text)
    found = [
        func.lower(LaneDecisionRow.lrn).like(contains, escape="\\"),
        DeclarationRow.importer_id == text,
        DeclarationRow.declarant_id == text,
        DeclarationRow.seller_id == text,
        DeclarationRow.courier_id == text,
        func.lower(cast(DeclarationRow.parties, Text)).like(contains, escape="\\"),
        func.lower(DeclarationRow.container_ids).like(contains, escape="\\"),
    ]
    if text.isdigit():
        found.append(
            exists().where(
                GoodsItemRow.declaration_id == DeclarationRow.id, GoodsItemRow.hs_code.like(f"{text}%")
            )
        )
    return query.where(or_(*found))


def _worklist_query(
    *, agency: str, filters: WorklistFilter, me: str | None, declarations: bool = True
) -> Select[Any]:
    """The worklist's rows; without ``declarations`` (allowed only when ``filters.q`` is empty: the search
    reads the declaration) the query leaves out the join to the current declaration, which adds no row (one
    current version per LRN and agency) and only brings the importer's id and name."""
    if filters.q.strip() and not declarations:
        raise ValueError("the worklist's search reads the declarations")
    columns: list[Any] = [LaneDecisionRow, CaseRow]
    if declarations:
        columns += [DeclarationRow.importer_id, DeclarationRow.parties]
    query: Select[Any] = select(*columns).outerjoin(
        CaseRow,
        (CaseRow.decision_id == LaneDecisionRow.id) & (CaseRow.agency == LaneDecisionRow.agency),
    )
    if declarations:
        query = query.outerjoin(
            DeclarationRow,
            (DeclarationRow.lrn == LaneDecisionRow.lrn)
            & (DeclarationRow.agency == LaneDecisionRow.agency)
            & DeclarationRow.is_current,
        )
    query = query.where(LaneDecisionRow.agency == agency, LaneDecisionRow.is_current)
    lanes = (filters.lane,) if filters.lane else ("red", "yellow")
    query = query.where(LaneDecisionRow.lane.in_(lanes))
    conditions: list[tuple[object, Callable[[], ColumnElement[bool]]]] = [
        (filters.office, lambda: LaneDecisionRow.office == filters.office),
        (filters.since, lambda: LaneDecisionRow.declared_on >= filters.since),
        (filters.until, lambda: LaneDecisionRow.declared_on <= filters.until),
        (filters.min_score is not None, lambda: LaneDecisionRow.score >= filters.min_score),
        (filters.officer, lambda: CaseRow.officer == filters.officer),
        (filters.mine, lambda: CaseRow.officer == (me or "")),
        (filters.status == "none", lambda: CaseRow.id.is_(None)),
        (filters.status not in ("", "none"), lambda: CaseRow.status == filters.status),
        (filters.open_only, lambda: CaseRow.id.is_(None) | CaseRow.status.in_(("open", "assigned"))),
    ]
    for wanted, condition in conditions:
        if wanted:
            query = query.where(condition())
    return _search(query, filters.q)


def _ordered(query: Select[Any], filters: WorklistFilter) -> Select[Any]:
    column = _SORT_COLUMNS[filters.sort]
    first = column.desc().nulls_last() if filters.order == "desc" else column.asc().nulls_last()
    # ties (many declarations at the same score) in a stable order: probability, then date, then LRN
    return query.order_by(
        first,
        LaneDecisionRow.fraud_probability.desc().nulls_last(),
        LaneDecisionRow.declared_on.desc(),
        LaneDecisionRow.lrn,
    )


def _item(
    decision: LaneDecisionRow, case: CaseRow | None, importer: str | None, parties: Any
) -> WorklistItem:
    name = ((parties or {}).get("importer") or {}).get("name") if isinstance(parties, dict) else None
    return WorklistItem(
        lrn=decision.lrn,
        declared_on=decision.declared_on,
        office=decision.office,
        lane=decision.lane,
        score=decision.score,
        fraud_probability=decision.fraud_probability,
        expected_duty=decision.expected_duty,
        top_reasons=[str(r) for r in (decision.reasons or [])[:3]],
        basis=decision.basis,
        control=decision.control,
        importer_id=importer,
        importer_name=name if isinstance(name, str) else None,
        case_id=case.id if case else None,
        case_status=case.status if case else None,
        officer=case.officer if case else None,
    )


def worklist(
    *,
    db_session: Session,
    agency: str,
    filters: WorklistFilter,
    me: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[WorklistItem], int]:
    """Current red/yellow (or the filter's lane) decisions of ``agency`` with their case, in the filter's
    order; the count and the page are both computed by the database."""
    if filters.q.strip():
        query = _worklist_query(agency=agency, filters=filters, me=me)
        total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = db_session.execute(_ordered(query, filters).limit(limit).offset(offset))
        return [_item(*row) for row in rows], total
    # Without a search: count and page the decisions alone, then read the page's declarations by LRN.
    # On PostgreSQL declarations are partitioned by month (db.partitions) and an LRN names no month: joining
    # every decision of the range to them probes each month's index, a count of 10^4 decisions took 10^5.
    query = _worklist_query(agency=agency, filters=filters, me=me, declarations=False)
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = db_session.execute(_ordered(query, filters).limit(limit).offset(offset)).all()
    found = _importers(db_session, agency=agency, decisions=[decision for decision, _case in page])
    return [_item(decision, case, *found.get(decision.lrn, (None, None))) for decision, case in page], total


def _importers(
    db_session: Session, *, agency: str, decisions: list[LaneDecisionRow]
) -> dict[str, tuple[str | None, Any]]:
    """The importer id and parties of the current declaration of each decision's LRN. Looked for first on
    the decisions' own dates (on PostgreSQL that reads only their months' partitions), then, for an LRN whose
    current version has another date, on any date."""
    found: dict[str, tuple[str | None, Any]] = {}
    lrns = {decision.lrn for decision in decisions}
    for dated in (True, False):
        wanted = sorted(lrns - found.keys())
        if not wanted:
            break
        query = select(DeclarationRow.lrn, DeclarationRow.importer_id, DeclarationRow.parties).where(
            DeclarationRow.lrn.in_(wanted), DeclarationRow.agency == agency, DeclarationRow.is_current
        )
        if dated:
            query = query.where(DeclarationRow.declared_on.in_(sorted({d.declared_on for d in decisions})))
        found.update({lrn: (importer, parties) for lrn, importer, parties in db_session.execute(query)})
    return found


def worklist_rows(
    *, db_session: Session, agency: str, filters: WorklistFilter, me: str | None = None, cap: int = 100_000
) -> Iterator[WorklistItem]:
    """Every row of the worklist in order (at most ``cap``), read in batches: the CSV export."""
    query = _ordered(_worklist_query(agency=agency, filters=filters, me=me), filters).limit(cap)
    for row in db_session.execute(query.execution_options(yield_per=1000)):
        yield _item(*row)


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


def declaration_for(guard: Guard, lrn: str) -> DeclarationRow:
    """The current version of ``lrn``, if the caller may see it (else the one 404, the same for another
    agency's declaration), with the audit entry of the access: the one fetch of a declaration for the API
    and the pages."""
    row = current_declaration(db_session=guard.db, lrn=lrn, agency=guard.agency)
    if row is None:
        raise guard.not_found("declaration")
    guard.record(record_agency=row.agency, resource_id=lrn, noun="declaration")
    return row


def decision_for(guard: Guard, lrn: str, *, detail: dict[str, Any] | None = None) -> LaneDecisionRow:
    """The current lane decision on ``lrn`` in the caller's agency, if they may see it (else the one 404,
    without telling whether another agency has it), audited with ``detail``."""
    decision = current_decision(db_session=guard.db, lrn=lrn, agency=guard.agency)
    if decision is None:
        raise guard.not_found()
    guard.record(record_agency=decision.agency, resource_id=lrn, detail=detail)
    return decision


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


class TraderDeclaration(BaseModel):
    lrn: str
    declared_on: date
    office: str
    roles: list[str]
    lane: str | None
    score: float | None
    fraud_probability: float | None
    outcome: str | None
    duty_recovered: float | None


class TraderEvent(BaseModel):
    on: date
    kind: str
    lrn: str
    text: str


class TraderOut(BaseModel):
    party_id: str
    name: str | None
    country: str | None
    declarations: list[TraderDeclaration]
    total: int
    lanes: dict[str, int]
    inspected: int
    frauds: int
    duty_recovered: float
    timeline: list[TraderEvent]


_ROLE_COLUMNS = {
    "importer": DeclarationRow.importer_id,
    "declarant": DeclarationRow.declarant_id,
    "seller": DeclarationRow.seller_id,
    "courier": DeclarationRow.courier_id,
}


def trader(*, db_session: Session, agency: str, party_id: str, limit: int = 200) -> TraderOut | None:
    """A trader (any party id) in ``agency``: its declarations with lanes and outcomes, newest first, the
    counts over all of them (computed by the database), and a timeline; None if it declared nothing."""
    named = or_(*(column == party_id for column in _ROLE_COLUMNS.values()))
    mine = (DeclarationRow.agency == agency) & DeclarationRow.is_current & named
    total = db_session.scalar(select(func.count()).where(mine)) or 0
    if total == 0:
        return None
    decision = (LaneDecisionRow.lrn == DeclarationRow.lrn) & (LaneDecisionRow.agency == agency)
    lanes = dict(
        db_session.execute(
            select(LaneDecisionRow.lane, func.count())
            .join(DeclarationRow, decision & LaneDecisionRow.is_current)
            .where(mine)
            .group_by(LaneDecisionRow.lane)
        ).all()
    )
    rows = db_session.execute(
        select(DeclarationRow, LaneDecisionRow)
        .outerjoin(LaneDecisionRow, decision & LaneDecisionRow.is_current)
        .where(mine)
        .order_by(DeclarationRow.declared_on.desc(), DeclarationRow.lrn)
        .limit(limit)
    ).all()
    lrns = [d.lrn for d, _ in rows]
    outcomes = {
        o.lrn: o
        for o in db_session.scalars(
            select(OutcomeRow)
            .where(OutcomeRow.agency == agency, OutcomeRow.lrn.in_(lrns))
            .order_by(OutcomeRow.recorded_on, OutcomeRow.id)
        )
    }
    inspected, frauds, recovered = db_session.execute(
        select(
            func.count(OutcomeRow.id),
            func.coalesce(func.sum(case((OutcomeRow.fraud, 1), else_=0)), 0),
            func.coalesce(func.sum(OutcomeRow.duty_recovered), 0.0),
        ).where(
            OutcomeRow.agency == agency,
            OutcomeRow.lrn.in_(select(DeclarationRow.lrn).where(mine)),
        )
    ).one()
    party: dict[str, Any] = {}
    declarations: list[TraderDeclaration] = []
    timeline: list[TraderEvent] = []
    for declaration, lane in rows:
        roles = [
            role for role, column in _ROLE_COLUMNS.items() if getattr(declaration, column.key) == party_id
        ]
        if not party:
            found = (declaration.parties or {}).get(roles[0]) if roles else None
            party = found if isinstance(found, dict) else {}
        outcome = outcomes.get(declaration.lrn)
        declarations.append(
            TraderDeclaration(
                lrn=declaration.lrn,
                declared_on=declaration.declared_on,
                office=declaration.office,
                roles=roles,
                lane=lane.lane if lane else None,
                score=lane.score if lane else None,
                fraud_probability=lane.fraud_probability if lane else None,
                outcome=None if outcome is None else ("fraud" if outcome.fraud else "no fraud"),
                duty_recovered=outcome.duty_recovered if outcome else None,
            )
        )
        lane_text = f"{lane.lane} lane ({lane.basis})" if lane else "no lane yet"
        timeline.append(
            TraderEvent(on=declaration.declared_on, kind="declared", lrn=declaration.lrn, text=lane_text)
        )
        if outcome is not None:
            found_text = ("fraud found" if outcome.fraud else "nothing found") + (
                f": {outcome.findings}" if outcome.findings else ""
            )
            timeline.append(
                TraderEvent(on=outcome.recorded_on, kind="inspected", lrn=outcome.lrn, text=found_text)
            )
    timeline.sort(key=lambda e: (e.on, e.kind), reverse=True)
    return TraderOut(
        party_id=party_id,
        name=party.get("name") if isinstance(party.get("name"), str) else None,
        country=party.get("country") if isinstance(party.get("country"), str) else None,
        declarations=declarations,
        total=total,
        lanes={str(k): int(v) for k, v in lanes.items()},
        inspected=int(inspected),
        frauds=int(frauds),
        duty_recovered=float(recovered),
        timeline=timeline,
    )
