"""What every workspace page needs: templates, the session cookie rules, and the CSRF check for forms."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from borderwatch.web.deps import CSRF_HEADER, Identity, csrf_ok
from borderwatch.web.errors import ApiError
from borderwatch.web.ui.templating import TEMPLATES


def cookie_secure(request: Request) -> bool:
    """Secure cookies everywhere except plain HTTP to a loopback address (``make serve`` on a laptop)."""
    if request.url.scheme == "https":
        return True
    host = request.url.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, secure=cookie_secure(request), samesite="lax", path="/"
    )


async def check_csrf(request: Request, identity: Identity) -> None:
    """Refuse an unsafe request whose CSRF token (form field or htmx header) does not match the session's."""
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get("csrf_token")
        supplied = value if isinstance(value, str) else None
    if not csrf_ok(identity, supplied):
        raise ApiError(403, "the form has expired or was not sent by this workspace; reload it", code="csrf")


def render(
    request: Request, template: str, identity: Identity | None, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.setdefault("user", identity.principal if identity else None)
    context.setdefault("csrf_token", identity.csrf_token if identity else None)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
