"""Inspection cases: list, read, assign, and record the outcome (``web.services.cases``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.inspections import service as inspections
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES
from borderwatch.web.schemas import Paginated
from borderwatch.web.services.cases import (
    CaseId,
    CaseOut,
    CaseStatus,
    OutcomeIn,
    ReadableCase,
    assign_to,
    case_out,
    record_case_outcome,
)
from borderwatch.web.services.records import CaseSummary, case_summary

router = APIRouter(tags=["cases"], responses=ERROR_RESPONSES)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    officer: str = Field(min_length=1, max_length=64)


@router.get("/cases", summary="Inspection cases of my agency")
def list_cases(
    *,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.CASE))],
    paging: Paging,
    status: CaseStatus | None = None,
    officer: Annotated[str | None, Query(max_length=64)] = None,
) -> Paginated[CaseSummary]:
    rows = inspections.list_cases(
        session=guard.db,
        status=status,
        officer=officer,
        agency=guard.agency,
        limit=paging.limit,
        offset=paging.offset,
    )
    total = inspections.count_cases(session=guard.db, status=status, officer=officer, agency=guard.agency)
    guard.log(detail={"status": status, "officer": officer})
    return Paginated[CaseSummary](
        items=[case_summary(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/cases/{case_id}", summary="A case with its status history and findings")
def get_case(case: ReadableCase) -> CaseOut:
    return case_out(case)


@router.post("/cases/{case_id}/assign", summary="Assign a case to an officer")
def assign_case(
    case_id: CaseId, body: AssignIn, guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.CASE))]
) -> CaseOut:
    return case_out(assign_to(guard=guard, case_id=case_id, officer=body.officer))


@router.post("/cases/{case_id}/outcome", status_code=201, summary="Record what the inspection found")
def record_outcome(
    case_id: CaseId,
    body: OutcomeIn,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.OUTCOME))],
    state: State,
) -> CaseOut:
    return record_case_outcome(guard=guard, case_id=case_id, body=body, state=state)
