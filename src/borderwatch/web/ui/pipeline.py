"""The pipeline's dead letters for supervisors (``/pipeline/dead``): each message that kept failing with its
error and time, and a re-queue button. Calls the API's functions (``web.api.pipeline``): the same checks and
the same audit entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from borderwatch.access.policy import Action, Resource, decide
from borderwatch.web.deps import Guard, State, UiIdentity, require
from borderwatch.web.services.pipeline import dead_letter_list, requeue_dead_letter
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/pipeline/dead", response_class=HTMLResponse)
def dead_page(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.PIPELINE, page=True))],
    state: State,
    requeued: int | None = None,
) -> Response:
    in_use = state.settings.pipeline == "nats"
    letters = dead_letter_list(guard=guard, state=state) if in_use else []
    return render(
        request,
        "pipeline_dead.html",
        identity,
        letters=letters,
        in_use=in_use,
        requeued=requeued,
        may_requeue=decide(guard.principal, Action.UPDATE, Resource.PIPELINE).allowed,
    )


@router.post("/pipeline/dead/{sequence}/requeue")
async def requeue_form(
    sequence: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.PIPELINE, page=True))],
    state: State,
) -> Response:
    await check_csrf(request, identity)
    # NATS is reached through a loop of its own (``pipeline.dead.requeue_now``): off this one
    await run_in_threadpool(requeue_dead_letter, guard=guard, state=state, sequence=sequence)
    guard.db.commit()
    return RedirectResponse(f"/pipeline/dead?requeued={sequence}", status_code=303)
