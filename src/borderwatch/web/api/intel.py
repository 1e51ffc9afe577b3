"""The agency's own shares over the API: what left, to which group or recipients, under which TLP, when and
by whom (``intel.sharing.list_shares``; the same list the Intelligence page shows). Reads are audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from borderwatch.access.policy import Action, Resource
from borderwatch.intel import sharing
from borderwatch.web.deps import Guard, require
from borderwatch.web.errors import ERROR_RESPONSES

router = APIRouter(tags=["intel"], responses=ERROR_RESPONSES)


class ShareOut(BaseModel):
    id: int
    kind: str
    record_id: str
    tlp: str
    group: str | None
    recipients: list[str]
    collection_id: str
    collection: str
    object_ids: list[str]
    decided_by: str
    role: str
    decided_at: datetime


@router.get("/intel/shares", summary="The agency's own shares, newest first")
def list_shares(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.INTEL))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ShareOut]:
    shares = sharing.list_shares(session=guard.db, agency=guard.agency, limit=limit)
    guard.log(resource_id="shares", detail={"count": len(shares), "shares": [s.id for s in shares]})
    return [
        ShareOut(
            id=s.id,
            kind=s.kind,
            record_id=s.record_id,
            tlp=s.tlp.value,
            group=s.group,
            recipients=list(s.recipients),
            collection_id=s.collection_id,
            collection=s.collection,
            object_ids=list(s.object_ids),
            decided_by=s.decided_by,
            role=s.role,
            decided_at=s.decided_at,
        )
        for s in shares
    ]
