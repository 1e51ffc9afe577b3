"""The screening review queue (an analyst confirms or dismisses each stored hit; no default verdict) and
the Models page (registered versions with their metrics, the active one, calibration and drift, promote and
roll back). Both call the API's functions (``web.api.screening``, ``web.api.models``): the same checks and
the same audit entries."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from borderwatch.access.policy import Action, Resource, decide
from borderwatch.feedback.monitor import monitor_report
from borderwatch.web.deps import Guard, Page, State, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.services.models import list_models, promote_model, rollback_model
from borderwatch.web.services.screening import ReviewIn, review_stored_hit, stored_hits
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)

QUEUE_PAGE = 50
HitStatus = Literal["open", "confirmed", "dismissed", "all"]


@router.get("/screening/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.SCREENING, page=True))],
    status: HitStatus = "open",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    decided: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    hits = stored_hits(
        guard=guard, paging=Page(limit=QUEUE_PAGE, offset=(page - 1) * QUEUE_PAGE), status=status, lrn=None
    )
    return render(
        request,
        "review.html",
        identity,
        hits=hits.items,
        total=hits.total,
        status=status,
        page=page,
        pages=max(1, -(-hits.total // QUEUE_PAGE)),
        may_decide=decide(guard.principal, Action.CREATE, Resource.SCREENING).allowed,
        decided=decided,
    )


@router.post("/screening/review/{hit_id}")
async def review_decide(
    hit_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.SCREENING, page=True))],
    verdict: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    await check_csrf(request, identity)
    try:
        body = ReviewIn.model_validate({"verdict": verdict, "note": note or None})
    except ValidationError:
        raise ApiError(
            422, "choose confirm or dismiss: there is no default verdict", field="verdict"
        ) from None
    row = review_stored_hit(hit_id=hit_id, body=body, guard=guard)
    guard.db.commit()
    return RedirectResponse(f"/screening/review?decided={row.id}+{row.status}", status_code=303)


@router.get("/models", response_class=HTMLResponse)
def models_page(
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MODEL, page=True))],
    done: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    models = list_models(guard=guard, paging=Page(limit=100, offset=0))
    report = monitor_report(engine=state.engine, session=guard.db, agency=guard.agency)
    return render(
        request,
        "models.html",
        identity,
        models=models.items,
        report=report,
        may_promote=decide(guard.principal, Action.UPDATE, Resource.MODEL).allowed,
        done=done,
    )


@router.post("/models/{version}/promote")
async def models_promote(
    version: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.MODEL, page=True))],
) -> Response:
    await check_csrf(request, identity)
    row = promote_model(version=version, guard=guard)
    guard.db.commit()
    return RedirectResponse(f"/models?done=promoted+{row.version}", status_code=303)


@router.post("/models/rollback")
async def models_rollback(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.MODEL, page=True))],
) -> Response:
    await check_csrf(request, identity)
    row = rollback_model(guard=guard)
    guard.db.commit()
    return RedirectResponse(f"/models?done=rolled+back+to+{row.version}", status_code=303)
