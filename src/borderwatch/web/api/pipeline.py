"""Where a declaration queued on the pipeline is (``BORDERWATCH_PIPELINE=nats``): the job endpoint and its
server-sent events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.pipeline.effects import progress
from borderwatch.web.deps import Guard, State, require
from borderwatch.web.errors import ERROR_RESPONSES
from borderwatch.web.services.pipeline import (
    DeadLetterOut,
    RequeuedOut,
    dead_letter_list,
    requeue_dead_letter,
)

router = APIRouter(tags=["pipeline"], responses=ERROR_RESPONSES)

Key = Annotated[
    str, Path(pattern=r"^[0-9a-f]{64}$", description="the declaration's key, as the submission answered")
]
POLL_SECONDS = 0.5
EVENTS_SECONDS = 120.0  # an event stream ends after this long; the client reconnects to go on


class ProgressOut(BaseModel):
    key: str
    status: Literal["queued", "stored", "scored", "done"] = Field(
        description="queued: not taken by a worker yet; stored; scored; done: scored and given a lane"
    )
    lrn: str | None
    result: str | None = Field(description="where to read the declaration with its score and lane")


def _progress(*, guard: Guard, key: str) -> ProgressOut:
    status, lrn = progress(session=guard.db, agency=guard.agency, key=key)
    return ProgressOut(key=key, status=status, lrn=lrn, result=f"/api/declarations/{lrn}" if lrn else None)


@router.get("/pipeline/declarations/{key}", summary="Where a queued declaration is in the pipeline")
def declaration_progress(
    key: Key, guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))]
) -> ProgressOut:
    found = _progress(guard=guard, key=key)
    guard.log(resource_id=found.lrn, detail={"pipeline_key": key, "status": found.status})
    return found


@router.get(
    "/pipeline/declarations/{key}/events",
    summary="Server-sent events: the declaration's status each time it changes, until done",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def declaration_events(
    key: Key, guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))], state: State
) -> StreamingResponse:
    guard.log(detail={"pipeline_key": key, "events": True})
    agency = guard.agency

    # The stream outlives the request's session (committed with the audit row when this returns): each
    # poll reads in a session of its own.
    def stream() -> Iterator[str]:
        deadline = time.monotonic() + EVENTS_SECONDS
        last = None
        while time.monotonic() < deadline:
            with state.factory() as session:
                status, lrn = progress(session=session, agency=agency, key=key)
            if status != last:
                last = status
                found = ProgressOut(
                    key=key, status=status, lrn=lrn, result=f"/api/declarations/{lrn}" if lrn else None
                )
                yield f"event: progress\ndata: {found.model_dump_json()}\n\n"
                if status == "done":
                    return
            time.sleep(POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream")


class DeadLettersOut(BaseModel):
    items: list[DeadLetterOut]


@router.get(
    "/pipeline/dead", summary="The agency's dead letters: messages that kept failing, with their error"
)
def dead_letters(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.PIPELINE))],
    state: State,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeadLettersOut:
    return DeadLettersOut(items=dead_letter_list(guard=guard, state=state, limit=limit))


@router.post(
    "/pipeline/dead/{sequence}/requeue",
    summary="Publish a dead letter again to where it came from (after the fix), and remove it",
)
def requeue(
    sequence: Annotated[int, Path(ge=1, le=2**63 - 1)],
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.PIPELINE))],
    state: State,
) -> RequeuedOut:
    return requeue_dead_letter(guard=guard, state=state, sequence=sequence)
