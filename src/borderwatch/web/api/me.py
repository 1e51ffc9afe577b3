"""Who am I, users of my agency (admin), and the audit log (supervisor, admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from borderwatch.access import audit
from borderwatch.access import login as logins
from borderwatch.access import service as access
from borderwatch.access.policy import Action, Resource
from borderwatch.access.schemas import AuditOut, Me, UserIn, UserOut
from borderwatch.core.errors import NotFoundError
from borderwatch.web.deps import ApiIdentity, Guard, Paging, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated

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
    try:
        user = access.add_user(
            db_session=guard.db,
            username=body.username,
            role=body.role,
            agency=guard.agency,
            password=body.password,
        )
    except access.AccessError as error:
        status = 409 if "already exists" in str(error) else 422
        raise ApiError(status, str(error), field=error.field) from None
    guard.log(resource_id=user.username, detail={"role": user.role})
    return UserOut.model_validate(user)


@router.post("/users/{username}/disable", summary="Disable a user of my agency")
def disable_user(
    username: str, guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.USER))]
) -> UserOut:
    try:
        user = access.get_user(db_session=guard.db, username=username)
    except NotFoundError:
        raise guard.not_found() from None
    guard.record(record_agency=user.agency, resource_id=username, detail={"active": False})
    try:
        user = access.set_active(db_session=guard.db, username=username, active=False)
    except access.AccessError as error:
        raise ApiError(409, str(error), field=error.field) from None
    return UserOut.model_validate(user)


@router.post("/users/{username}/unlock", summary="Unlock a user of my agency locked after failed logins")
def unlock_user(
    username: str, guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.USER))]
) -> UserOut:
    try:
        user = access.get_user(db_session=guard.db, username=username)
    except NotFoundError:
        raise guard.not_found() from None
    guard.record(record_agency=user.agency, resource_id=username, detail={"unlocked": True})
    try:
        user = logins.unlock(db_session=guard.db, username=username)
    except access.AccessError as error:
        raise ApiError(409, str(error), field=error.field) from None
    return UserOut.model_validate(user)


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
