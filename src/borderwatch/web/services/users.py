"""Users of an agency for the API and the users page alike: the one fetch of a user (404 and audit),
adding, disabling and unlocking one (through the access stage)."""

from __future__ import annotations

from typing import Any

from borderwatch.access import login as logins
from borderwatch.access import service as access
from borderwatch.access.models import UserRow
from borderwatch.access.schemas import UserIn, UserOut
from borderwatch.web.deps import Guard
from borderwatch.web.errors import ApiError


def user_for(guard: Guard, username: str, *, detail: dict[str, Any] | None = None) -> UserRow:
    """The user, if the caller may see them (else the one 404), with the audit entry naming ``detail``."""
    return guard.fetch(
        lambda: access.get_user(db_session=guard.db, username=username),
        agency_of=lambda user: user.agency,
        resource_id=username,
        detail=detail,
    )


def add_user(*, body: UserIn, guard: Guard) -> UserOut:
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


def disable_user(*, username: str, guard: Guard) -> UserOut:
    user_for(guard, username, detail={"active": False})
    try:
        user = access.set_active(db_session=guard.db, username=username, active=False)
    except access.AccessError as error:
        raise ApiError(409, str(error), field=error.field) from None
    return UserOut.model_validate(user)


def unlock_user(*, username: str, guard: Guard) -> UserOut:
    user_for(guard, username, detail={"unlocked": True})
    try:
        user = logins.unlock(db_session=guard.db, username=username)
    except access.AccessError as error:
        raise ApiError(409, str(error), field=error.field) from None
    return UserOut.model_validate(user)
