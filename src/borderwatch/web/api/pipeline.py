"""Where a declaration queued on the pipeline is (``BORDERWATCH_PIPELINE=nats``): the job endpoint and its
server-sent events."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, StreamingResponse
from nats.errors import Error as NatsError
from pydantic import BaseModel, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.ingest.schemas import Declaration
from borderwatch.pipeline.dead import dead_letters_now, lrn_of, requeue_now
from borderwatch.pipeline.effects import progress
from borderwatch.pipeline.messages import canonical
from borderwatch.pipeline.topology import Topology
from borderwatch.web.deps import AppState, Guard, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError

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


class QueuedOut(BaseModel):
    lrn: str
    status: Literal["queued"] = "queued"
    key: str = Field(description="the declaration's content key: its id on the pipeline")
    duplicate: bool = Field(description="the same declaration was queued before; this copy was dropped")
    progress: str = Field(
        description="the job endpoint: where the declaration is (queued, stored, scored, done)"
    )
    events: str = Field(description="the same as server-sent events, until done")
    result: str = Field(description="where to read the declaration with its score and lane once done")


class QueuedBatchOut(BaseModel):
    items: list[QueuedOut]
    queued: int
    duplicates: int


def enqueue(*, guard: Guard, state: AppState, declarations: Sequence[Declaration]) -> QueuedBatchOut:
    """Publishes ``declarations`` to the agency's pipeline instead of storing and scoring them in the request
    (``Settings.pipeline == "nats"``); the workers store, score and lane them."""
    topology = Topology(prefix=state.settings.pipeline_prefix, agency=guard.agency)
    try:
        published = state.publisher().publish(topology, [canonical(d) for d in declarations])
    except (OSError, TimeoutError, NatsError) as error:
        raise ApiError(503, "the pipeline (NATS) is unavailable; try again shortly") from error
    keys, dropped = published.keys or [], published.dropped or []
    lrns = [d.lrn for d in declarations]
    guard.log(
        resource_id=lrns[0] if len(lrns) == 1 else None, detail={"lrns": lrns[:50], "queued": len(lrns)}
    )
    items = [
        QueuedOut(
            lrn=lrn,
            key=key,
            duplicate=duplicate,
            progress=f"/api/pipeline/declarations/{key}",
            events=f"/api/pipeline/declarations/{key}/events",
            result=f"/api/declarations/{lrn}",
        )
        for lrn, key, duplicate in zip(lrns, keys, dropped, strict=True)
    ]
    return QueuedBatchOut(items=items, queued=len(items) - sum(dropped), duplicates=sum(dropped))


def queued_response(
    *, guard: Guard, state: AppState, declarations: Sequence[Declaration], one: bool
) -> JSONResponse:
    """202 with :class:`QueuedOut` (one declaration) or :class:`QueuedBatchOut`."""
    batch = enqueue(guard=guard, state=state, declarations=declarations)
    body = batch.items[0] if one else batch
    return JSONResponse(status_code=202, content=body.model_dump(mode="json"))


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


class DeadLetterOut(BaseModel):
    sequence: int = Field(description="its number in the agency's dead-letter stream: what re-queue names")
    stage: str = Field(description="the stage that gave up on it (ingest, score)")
    subject: str = Field(description="where it was published, and where re-queueing publishes it again")
    error: str = Field(description="why it failed, naming the record and field when it could")
    lrn: str | None = Field(description="the declaration's LRN, when its body names one")
    deliveries: int
    time: datetime | None = Field(description="when it was dead-lettered")


class DeadLettersOut(BaseModel):
    items: list[DeadLetterOut]


class RequeuedOut(BaseModel):
    sequence: int
    requeued: Literal[True] = True
    subject: str


def _topology(guard: Guard, state: AppState) -> Topology:
    return Topology(prefix=state.settings.pipeline_prefix, agency=guard.agency)


def dead_letter_list(*, guard: Guard, state: AppState, limit: int = 200) -> list[DeadLetterOut]:
    """The agency's dead letters, oldest first; 503 when NATS does not answer. Audited as a read."""
    try:
        letters = dead_letters_now(state.settings.nats_url, _topology(guard, state), limit=limit)
    except (OSError, TimeoutError, NatsError) as error:
        raise ApiError(503, "the pipeline (NATS) is unavailable; try again shortly") from error
    guard.log(detail={"dead_letters": len(letters)})
    return [
        DeadLetterOut(
            sequence=letter.sequence,
            stage=letter.stage,
            subject=letter.subject,
            error=letter.error,
            lrn=lrn_of(letter),
            deliveries=letter.deliveries,
            time=letter.time,
        )
        for letter in letters
    ]


def requeue_dead_letter(*, guard: Guard, state: AppState, sequence: int) -> RequeuedOut:
    """Publish dead letter ``sequence`` again to where it came from (after the fix) and delete it; 404 when
    the agency has no such dead letter. Audited with its error and LRN."""
    try:
        letter = requeue_now(state.settings.nats_url, _topology(guard, state), sequence=sequence)
    except (OSError, TimeoutError, NatsError) as error:
        raise ApiError(503, "the pipeline (NATS) is unavailable; try again shortly") from error
    if letter is None:
        raise guard.not_found("dead letter")
    guard.log(
        resource_id=f"dead {sequence}",
        detail={"requeued": True, "subject": letter.subject, "error": letter.error, "lrn": lrn_of(letter)},
    )
    return RequeuedOut(sequence=sequence, subject=letter.subject)


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
