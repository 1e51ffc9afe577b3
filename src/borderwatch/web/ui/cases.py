"""Case management in the browser: the case page (status history, findings and their evidence), assignment
to a real user, a supervisor's lane override with a reason, and the printable inspection order.

Every change goes through the functions the API uses (``web.services.cases.assign_to``,
``web.services.lanes.override_for``): the same checks, the same audit entries."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from borderwatch.access.policy import TLP, Action, Resource, decide, decide_share
from borderwatch.inspections.service import ACTIVE
from borderwatch.intel import exchange, sharing
from borderwatch.web.deps import Guard, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.services import records
from borderwatch.web.services.cases import CaseId, assign_to, assignable_officers, case_for, case_out
from borderwatch.web.services.lanes import OverrideIn, override_for
from borderwatch.web.ui.codes import QUANTITY_UNITS
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)

DONE = {
    "assigned": "Case assigned.",
    "lane": "Lane changed; the case follows the new lane.",
    "recorded": "Outcome recorded.",
    "shared": "Seizure shared: the decision, the objects and the audit entry are recorded.",
}


def _page(
    request: Request, identity: UiIdentity, guard: Guard, case_id: int, *, template: str, done: str | None
) -> Response:
    row = case_for(guard, case_id)
    case = case_out(row)
    declaration_row = records.current_declaration(db_session=guard.db, lrn=row.lrn, agency=guard.agency)
    declaration = (
        records.declaration_out(db_session=guard.db, row=declaration_row) if declaration_row else None
    )
    principal = guard.principal
    may_share = (
        case.status == "closed"
        and any(f.result == "seizure" for f in case.findings)
        and decide_share(principal, kind="seizure", tlp=TLP.CLEAR, agreement_kinds=None).allowed
    )
    return render(
        request,
        template,
        identity,
        case=case,
        d=declaration,
        active=case.status in ACTIVE,
        officers=assignable_officers(db_session=guard.db, agency=guard.agency),
        may_assign=decide(principal, Action.UPDATE, Resource.CASE).allowed,
        may_override=decide(principal, Action.UPDATE, Resource.LANE).allowed,
        may_record=decide(principal, Action.CREATE, Resource.OUTCOME).allowed,
        units=QUANTITY_UNITS,
        today=date.today().isoformat(),
        done=DONE.get(done or ""),
        may_share=may_share,
        tlps=list(TLP),
        share_collections=exchange.share_targets(session=guard.db, agency=guard.agency) if may_share else [],
        share_groups=sharing.list_groups(session=guard.db, agency=guard.agency) if may_share else [],
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: CaseId,
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.CASE, page=True))],
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    return _page(request, identity, guard, case_id, template="case.html", done=done)


@router.get("/cases/{case_id}/order", response_class=HTMLResponse)
def inspection_order(
    case_id: CaseId,
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.CASE, page=True))],
) -> Response:
    """The inspection order on paper: what to check, where, why, and lines to sign."""
    return _page(request, identity, guard, case_id, template="inspection_order.html", done=None)


@router.post("/cases/{case_id}/assign")
async def assign_form(
    case_id: CaseId,
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.CASE, page=True))],
    officer: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    await check_csrf(request, identity)
    if not officer:
        raise ApiError(422, "choose the officer to assign the case to", field="officer")
    assign_to(guard=guard, case_id=case_id, officer=officer)
    guard.db.commit()
    return RedirectResponse(f"/cases/{case_id}?done=assigned", status_code=303)


LaneGuard = Annotated[Guard, Depends(require(Action.UPDATE, Resource.LANE, page=True))]
LaneChoice = Annotated[Literal["red", "yellow", "green"], Form()]
LaneReason = Annotated[str, Form(max_length=2000)]


def _override(guard: Guard, lrn: str, lane: Literal["red", "yellow", "green"], reason: str) -> None:
    """The lane form's override, through the API's own (``web.services.lanes.override_for``)."""
    try:
        body = OverrideIn(lane=lane, reason=reason)
    except ValidationError:
        raise ApiError(
            422, "give the reason for the new lane (at least 3 characters)", field="reason"
        ) from None
    override_for(guard=guard, lrn=lrn, body=body)
    guard.db.commit()


@router.post("/cases/{case_id}/lane")
async def override_form(
    case_id: CaseId,
    request: Request,
    identity: UiIdentity,
    guard: LaneGuard,
    lane: LaneChoice,
    reason: LaneReason = "",
) -> Response:
    await check_csrf(request, identity)
    row = case_for(guard, case_id, Action.READ)
    _override(guard, row.lrn, lane, reason)
    return RedirectResponse(f"/cases/{case_id}?done=lane", status_code=303)


@router.post("/declarations/{lrn}/lane")
async def declaration_override_form(
    lrn: records.Lrn,
    request: Request,
    identity: UiIdentity,
    guard: LaneGuard,
    lane: LaneChoice,
    reason: LaneReason = "",
) -> Response:
    """A supervisor's lane for any decided declaration (green ones too: raising one opens a case)."""
    await check_csrf(request, identity)
    _override(guard, lrn, lane, reason)
    return RedirectResponse(f"/declarations/{lrn}?overridden={lane}#why", status_code=303)
