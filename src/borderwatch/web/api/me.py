"""Who am I, users of my agency (admin), and the audit log (supervisor, admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from borderwatch.access import audit
from borderwatch.access import service as access
from borderwatch.access.policy import Action, Resource
from borderwatch.access.schemas import AuditOut, Me, UserIn, UserOut
from borderwatch.web.deps import ApiIdentity, Guard, Paging, require
from borderwatch.web.errors import ERROR_RESPONSES
from borderwatch.web.schemas import Paginated
from borderwatch.web.services import users as service

router = APIRouter(tags=["access"], responses=ERROR_RESPONSES)


@router.get("/me", summary="The authenticated user or system")
def me(identity: ApiIdentity) -> Me:
    p = identity.principal
    return Me(username=p.username, role=p.role, agency=p.agency, via=p.via)


@router.get("/users", summary="Users of my agency")
def list_users(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.USER))], paging: Paging
) -> Paginated[UserOut]:
    rows = access.list_users(db_session=guard.db, agency=guard.agency)
    guard.log(detail={"count": len(rows)})
    window = rows[paging.offset : paging.offset + paging.limit]
    return Paginated[UserOut](
        items=[UserOut.model_validate(r) for r in window],
        total=len(rows),
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/users", status_code=201, summary="Add a user to my agency")
def add_user(
    body: UserIn, guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.USER))]
) -> UserOut:
    return service.add_user(body=body, guard=guard)


@router.post("/users/{username}/disable", summary="Disable a user of my agency")
def disable_user(
    username: str, guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.USER))]
) -> UserOut:
    return service.disable_user(username=username, guard=guard)


@router.post("/users/{username}/unlock", summary="Unlock a user of my agency locked after failed logins")
def unlock_user(
    username: str, guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.USER))]
) -> UserOut:
    return service.unlock_user(username=username, guard=guard)


@router.get("/audit", summary="The audit log of my agency, newest first")
def audit_log(
    *,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.AUDIT))],
    paging: Paging,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    resource: Annotated[Resource | None, Query()] = None,
    resource_id: Annotated[str | None, Query(max_length=128)] = None,
    denied_only: bool = False,
    since: datetime | None = None,
) -> Paginated[AuditOut]:
    rows, total = audit.search(
        db_session=guard.db,
        agency=guard.agency,
        actor=actor,
        resource=resource,
        resource_id=resource_id,
        denied_only=denied_only,
        since=since,
        limit=paging.limit,
        offset=paging.offset,
    )
    guard.log(detail={"actor": actor, "resource": resource, "resource_id": resource_id})
    return Paginated[AuditOut](
        items=[AuditOut.model_validate(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
