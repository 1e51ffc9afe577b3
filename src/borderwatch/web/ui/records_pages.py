"""Pages over the agency's records: a trader's page, the quarantine (review and release), and for
supervisors and admins the users and the audit log. Reads come from ``web.services.records`` and the owning
stages' services; changes go through the same functions as the API and the CLI."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from borderwatch.access import audit
from borderwatch.access import service as access
from borderwatch.access.policy import Action, Resource, Role, decide
from borderwatch.access.schemas import AuditOut, UserIn, UserOut
from borderwatch.core.errors import BorderwatchError, IngestError
from borderwatch.ingest import service as ingest
from borderwatch.inspections.flows import release_and_select_flow
from borderwatch.pipeline.selection import agency_selection
from borderwatch.web.deps import Guard, State, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.services import records
from borderwatch.web.services.users import add_user, disable_user, unlock_user, user_for
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 100
PartyId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/traders/{party_id}", response_class=HTMLResponse)
def trader_page(
    party_id: PartyId,
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION, page=True))],
) -> Response:
    found = records.trader(db_session=guard.db, agency=guard.agency, party_id=party_id)
    if found is None:
        raise guard.not_found("trader")
    guard.log(resource_id=party_id, detail={"page": "trader"})
    return render(request, "trader.html", identity, t=found)


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION, page=True))],
    status: Annotated[str, Query(pattern="^(open|released|all)$")] = "open",
    released: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    rows = ingest.list_quarantine(
        engine=state.engine, status=None if status == "all" else status, agency=guard.agency, limit=200
    )
    guard.log(detail={"page": "quarantine", "status": status, "shown": len(rows)})
    may_release = decide(guard.principal, Action.CREATE, Resource.DECLARATION).allowed
    return render(
        request,
        "quarantine.html",
        identity,
        rows=rows,
        status=status,
        may_release=may_release,
        released=released,
    )


@router.post("/quarantine/{record_id}/release")
async def quarantine_release(
    record_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    identity: UiIdentity,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.DECLARATION, page=True))],
    value: Annotated[str, Form(max_length=10_000)] = "",
    raw: Annotated[str, Form(max_length=1_000_000)] = "",
) -> Response:
    """Re-validate a quarantined record of my agency, with the corrected field or line, and store it."""
    await check_csrf(request, identity)
    guard.fetch(
        lambda: ingest.get_quarantined(engine=state.engine, record_id=record_id),
        agency_of=lambda record: record.agency,
        resource_id=f"quarantine:{record_id}",
        noun="quarantined record",
    )
    try:
        # stored, then selected at once: lane and, if red or yellow, a case
        release_and_select_flow(
            engine=state.engine,
            session=guard.db,
            record_id=record_id,
            selection=agency_selection(
                settings=state.settings, engine=state.engine, agency=guard.agency, cache=state.cache
            ),
            actor=guard.principal.username,
            value=value or None,
            raw=raw or None,
        )
    except IngestError as error:
        raise ApiError(422, f"still rejected: {error}", field=error.field) from None
    except BorderwatchError as error:
        raise ApiError(409, str(error)) from None
    guard.db.commit()
    return RedirectResponse(f"/quarantine?released={record_id}", status_code=303)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.USER, page=True))],
    done: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    users = [UserOut.model_validate(u) for u in access.list_users(db_session=guard.db, agency=guard.agency)]
    guard.log(detail={"page": "users", "count": len(users)})
    may_manage = decide(guard.principal, Action.UPDATE, Resource.USER).allowed
    return render(
        request,
        "users.html",
        identity,
        users=users,
        roles=[r.value for r in Role],
        may_manage=may_manage,
        done=done,
    )


@router.post("/admin/users")
async def users_add(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.USER, page=True))],
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    await check_csrf(request, identity)
    try:
        body = UserIn.model_validate({"username": username, "role": role, "password": password or None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(422, f"{where}: {first['msg']}", field=where) from None
    add_user(body=body, guard=guard)
    guard.db.commit()
    return RedirectResponse(f"/admin/users?{urlencode({'done': f'{username} added'})}", status_code=303)


@router.post("/admin/users/{username}/{change}")
async def users_change(
    username: Annotated[str, Path(max_length=64)],
    change: Annotated[str, Path(pattern="^(disable|enable|unlock)$")],
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.USER, page=True))],
) -> Response:
    await check_csrf(request, identity)
    if change == "disable":
        disable_user(username=username, guard=guard)
    elif change == "unlock":
        unlock_user(username=username, guard=guard)
    else:
        user_for(guard, username, detail={"active": True})
        access.set_active(db_session=guard.db, username=username, active=True)
    guard.db.commit()
    said = {"disable": "disabled", "enable": "enabled", "unlock": "unlocked"}[change]
    return RedirectResponse(f"/admin/users?{urlencode({'done': f'{username} {said}'})}", status_code=303)


class AuditFilter(BaseModel):
    actor: str = Field(default="", max_length=64)
    resource: str = Field(default="", max_length=32)
    resource_id: str = Field(default="", max_length=128)
    denied_only: bool = False
    page: int = Field(default=1, ge=1, le=100_000)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    identity: UiIdentity,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.AUDIT, page=True))],
    f: Annotated[AuditFilter, Query()],
) -> Response:
    rows, total = audit.search(
        db_session=guard.db,
        agency=guard.agency,
        actor=f.actor or None,
        resource=f.resource or None,
        resource_id=f.resource_id or None,
        denied_only=f.denied_only,
        limit=AUDIT_PAGE,
        offset=(f.page - 1) * AUDIT_PAGE,
    )
    guard.log(detail={"page": "audit", "actor": f.actor or None, "resource": f.resource or None})
    return render(
        request,
        "audit.html",
        identity,
        entries=[AuditOut.model_validate(r) for r in rows],
        total=total,
        page=f.page,
        pages=max(1, -(-total // AUDIT_PAGE)),
        actor=f.actor,
        resource=f.resource,
        resource_id=f.resource_id,
        denied_only=f.denied_only,
        resources=[r.value for r in Resource],
    )
