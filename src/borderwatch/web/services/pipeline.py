"""Queueing declarations on the pipeline (``BORDERWATCH_PIPELINE=nats``) instead of storing and scoring
them in the request: what the submission endpoints answer then; the agency's dead letters and re-queueing
one (the API and the page alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from fastapi.responses import JSONResponse
from nats.errors import Error as NatsError
from pydantic import BaseModel, Field

from borderwatch.ingest.schemas import Declaration
from borderwatch.pipeline.dead import dead_letters_now, lrn_of, requeue_now
from borderwatch.pipeline.messages import canonical
from borderwatch.pipeline.topology import Topology
from borderwatch.web.deps import AppState, Guard
from borderwatch.web.errors import ApiError


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


class DeadLetterOut(BaseModel):
    sequence: int = Field(description="its number in the agency's dead-letter stream: what re-queue names")
    stage: str = Field(description="the stage that gave up on it (ingest, score)")
    subject: str = Field(description="where it was published, and where re-queueing publishes it again")
    error: str = Field(description="why it failed, naming the record and field when it could")
    lrn: str | None = Field(description="the declaration's LRN, when its body names one")
    deliveries: int
    time: datetime | None = Field(description="when it was dead-lettered")


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
