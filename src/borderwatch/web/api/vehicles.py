"""Plate reads over HTTP (until the NATS pipeline carries them): the same path a pipeline worker calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.vehicles import service
from borderwatch.web.deps import Guard, require
from borderwatch.web.errors import ERROR_RESPONSES

router = APIRouter(tags=["vehicles"], responses=ERROR_RESPONSES)


class ReadsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reads: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=5000,
        description="camera_id, read_at (ISO 8601), plate, country, confidence, direction, lane, image",
    )


class ReadsOut(BaseModel):
    stored: int
    duplicates: int
    quarantined: int
    alerts: int
    problems: list[str]


@router.post(
    "/vehicles/reads", summary="Store plate reads and check them against the hotlists", status_code=201
)
def post_reads(
    body: ReadsIn, guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.VEHICLE))]
) -> ReadsOut:
    summary = service.process_reads(
        session=guard.db, agency=guard.agency, records=body.reads, source=f"http:{guard.principal.username}"
    )
    guard.log(detail={"reads": summary.reads, "quarantined": summary.quarantined, "alerts": summary.alerts})
    guard.db.commit()
    return ReadsOut(
        stored=summary.reads,
        duplicates=summary.duplicates,
        quarantined=summary.quarantined + summary.already_quarantined,
        alerts=summary.alerts,
        problems=summary.problems,
    )
