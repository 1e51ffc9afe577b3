"""Workspace pages: log in and out, then the analyst's and inspector's screens."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from borderwatch.access import login as logins
from borderwatch.access import service as access
from borderwatch.access.policy import Role
from borderwatch.web.deps import SESSION_COOKIE, DbSession, UiIdentity, identify
from borderwatch.web.ui.common import check_csrf, render, set_cookie

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "bw_login_csrf"
TRAINING_ONLY = frozenset({Role.TRAINEE, Role.INSTRUCTOR})


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never an absolute URL or a scheme-relative '//host'.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/worklist"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), error=error)
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
def login(
    *,
    request: Request,
    db: DbSession,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)],
    next: Annotated[str | None, Form(max_length=512)] = None,
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return RedirectResponse("/login?error=expired", status_code=303)
    try:
        principal = logins.log_in(
            db_session=db,
            username=username,
            password=password,
            address=request.client.host if request.client else None,
        )
    except logins.LoginRefusedError as refused:
        # The refusal and its audit entry are committed: the failure must count.
        response = RedirectResponse(f"/login?error={refused.reason}", status_code=303)
        if refused.retry_after:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    secret, _csrf = access.open_session(db_session=db, principal=principal)
    target = _safe_next(next)
    if target == "/worklist" and principal.role in TRAINING_ONLY:
        target = "/training"  # a trainee or instructor has no worklist: their landing page is training
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        response, request, SESSION_COOKIE, secret, max_age=int(access.SESSION_LIFETIME.total_seconds())
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, identity: UiIdentity, db: DbSession) -> Response:
    await check_csrf(request, identity)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        access.close_session(db_session=db, secret=secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, db: DbSession) -> Response:
    identity = identify(request, db)
    if identity is None:
        target = "/login"
    else:
        target = "/training" if identity.principal.role in TRAINING_ONLY else "/worklist"
    return RedirectResponse(target, status_code=303)
