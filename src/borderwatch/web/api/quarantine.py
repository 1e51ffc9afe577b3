"""Quarantine review: the records that failed validation, and their release (corrected) into the store,
after which they are selected like any arriving declaration (lane and case at once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.core.clock import UtcDateTime
from borderwatch.core.errors import BorderwatchError, IngestError
from borderwatch.ingest.service import get_quarantined, list_quarantine
from borderwatch.inspections.flows import release_and_select_flow
from borderwatch.pipeline.selection import agency_selection
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError

router = APIRouter(tags=["quarantine"], responses=ERROR_RESPONSES)


class QuarantinedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_file: str
    line: int | None
    record_key: str | None
    field: str | None
    reason: str
    raw: str
    reader: str
    status: str
    created_at: UtcDateTime
    resolved_at: datetime | None


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str | None = Field(default=None, description="the corrected value of the field it was refused for")
    changes: dict[str, str] = Field(
        default_factory=dict, description="NAME: VALUE, a CSV column or a dotted JSON path (items.0.hs_code)"
    )
    raw: str | None = Field(default=None, description="the whole corrected line")


class ReleaseOut(BaseModel):
    id: int
    lrns: list[str]
    stored: int
    amended: int
    lane: str | None = Field(description="the lane the released declaration was given at once")
    model_version: str | None
    note: str | None


@router.get("/quarantine", summary="Quarantined records of my agency, oldest first")
def quarantine_list(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))],
    state: State,
    paging: Paging,
    status: Annotated[Literal["open", "released", "all"], Query()] = "open",
) -> list[QuarantinedOut]:
    rows = list_quarantine(
        engine=state.engine,
        status=None if status == "all" else status,
        agency=guard.agency,
        limit=paging.limit,
        offset=paging.offset,
    )
    guard.log(detail={"status": status, "returned": len(rows)})
    return [QuarantinedOut.model_validate(r) for r in rows]


def _owned(guard: Guard, state: State, record_id: int) -> None:
    try:
        row = get_quarantined(engine=state.engine, record_id=record_id)
    except BorderwatchError:
        raise guard.not_found() from None
    guard.record(record_agency=row.agency, resource_id=str(record_id))


# an id the integer column can hold (beyond 2**63 SQLite's driver raised OverflowError: a 500)
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the quarantined record's id")]


@router.get("/quarantine/{record_id}", summary="One quarantined record with its raw text")
def quarantine_show(
    record_id: RecordId,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))],
    state: State,
) -> QuarantinedOut:
    _owned(guard, state, record_id)
    return QuarantinedOut.model_validate(get_quarantined(engine=state.engine, record_id=record_id))


@router.post(
    "/quarantine/{record_id}/release",
    summary="Re-validate a quarantined record with corrections, store it and give it a lane",
)
def quarantine_release(
    record_id: RecordId,
    body: ReleaseIn,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.DECLARATION))],
    state: State,
) -> ReleaseOut:
    _owned(guard, state, record_id)
    try:
        summary, result = release_and_select_flow(
            engine=state.engine,
            session=guard.db,
            record_id=record_id,
            selection=agency_selection(
                settings=state.settings, engine=state.engine, agency=guard.agency, cache=state.cache
            ),
            actor=guard.principal.username,
            raw=body.raw,
            value=body.value,
            changes=body.changes,
        )
    except IngestError as error:
        raise ApiError(422, f"still refused: {error}", field=error.field) from None
    except BorderwatchError as error:
        raise ApiError(409, str(error)) from None
    lanes = result.decisions["lane"].to_list()
    return ReleaseOut(
        id=record_id,
        lrns=summary.lrns,
        stored=summary.stored,
        amended=summary.amended,
        lane=lanes[0] if lanes else None,
        model_version=result.model_version,
        note=result.note,
    )
