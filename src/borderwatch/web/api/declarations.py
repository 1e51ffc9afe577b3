"""Declarations: read one with its score, reasons, lane, outcomes and cases; the worklist."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from borderwatch.access.policy import Action, Resource
from borderwatch.web.api import records
from borderwatch.web.deps import Guard, Paging, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated

router = APIRouter(tags=["declarations"], responses=ERROR_RESPONSES)

Lrn = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/declarations/{lrn}", summary="A declaration with its score, reasons, lane, outcomes and cases")
def get_declaration(
    lrn: Lrn, guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))]
) -> records.DeclarationOut:
    row = records.current_declaration(db_session=guard.db, lrn=lrn, agency=guard.agency)
    if row is None:
        raise ApiError(404, f"no declaration {lrn!r}")
    guard.record(record_agency=row.agency, resource_id=lrn)
    return records.declaration_out(db_session=guard.db, row=row)


@router.get("/worklist", summary="Red and yellow declarations of my agency, riskiest first")
def worklist(
    *,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.WORKLIST))],
    paging: Paging,
    lane: Annotated[Literal["red", "yellow"] | None, Query(description="only this lane")] = None,
    office: Annotated[str | None, Query(max_length=32)] = None,
    since: date | None = None,
    until: date | None = None,
    open_only: Annotated[bool, Query(description="hide declarations whose case is closed")] = False,
) -> Paginated[records.WorklistItem]:
    items, total = records.worklist(
        db_session=guard.db,
        agency=guard.agency,
        lanes=(lane,) if lane else ("red", "yellow"),
        office=office,
        since=since,
        until=until,
        open_only=open_only,
        limit=paging.limit,
        offset=paging.offset,
    )
    guard.log(detail={"lane": lane, "office": office, "returned": len(items)})
    return Paginated[records.WorklistItem](items=items, total=total, limit=paging.limit, offset=paging.offset)
