"""One error body for every failure, ``{"error": {"code", "message", "field"}}``; no 500 on bad input."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from borderwatch.core.errors import BorderwatchError, ConfigError, IngestError, NotFoundError
from borderwatch.web.ui.templating import TEMPLATES

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code.replace("_", " ")}
    for status, code in _CODES.items()
    if status in (400, 401, 403, 404, 409, 413, 422)
}


class ApiError(Exception):
    """An error an endpoint returns on purpose."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, code: str | None = None
    ) -> None:
        self.status = status
        self.message = message
        self.field = field
        self.code = code or _CODES.get(status, "error")
        super().__init__(message)


def not_found(noun: str) -> ApiError:
    """The one answer for a record that is not there and for one of another agency (or not yours to see):
    the same status and the same body, without the id, so that a caller cannot tell the two apart."""
    return ApiError(404, f"no {noun} with that id")


class LoginRequiredError(Exception):
    """A workspace page asked for without a session: the browser is sent to the login page."""


def error_response(
    status: int,
    message: str,
    *,
    field: str | None = None,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The one error body; ``headers`` are kept (a 405's ``Allow``), a 401 says how to authenticate."""
    body = ErrorBody(
        error=ErrorDetail(code=code or _CODES.get(status, "error"), message=message, field=field)
    )
    sent = dict(headers or {})
    if status == 401:
        sent["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body.model_dump(), status_code=status, headers=sent or None)


def _field_of(location: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def _wants_page(request: Request) -> bool:
    """Workspace pages (not the API) answer errors with a page a person can read; htmx requests with a
    fragment that the page swaps in where the answer was expected."""
    path = request.url.path
    if path.startswith(("/api", "/openapi", "/docs", "/redoc", "/static")):
        return False
    return "HX-Request" in request.headers or "text/html" in request.headers.get("accept", "")


def _error_page(request: Request, status: int, message: str) -> Response:
    template = "_error.html" if "HX-Request" in request.headers else "error.html"
    return TEMPLATES.TemplateResponse(
        request, template, {"status": status, "message": message, "user": None}, status_code=status
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the one error body."""

    async def api_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        if _wants_page(request):
            return _error_page(request, error.status, error.message)
        return error_response(error.status, error.message, field=error.field, code=error.code)

    async def validation(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems = error.errors()
        if not problems:
            return error_response(422, "the request is not valid")
        first = problems[0]
        field = _field_of(first.get("loc", ()))
        message = str(first.get("msg", "invalid value"))
        if field:
            message = f"{field}: {message}"
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        if _wants_page(request):
            return _error_page(request, 422, message)
        return error_response(422, message, field=field)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if _wants_page(request):
            page = _error_page(request, error.status_code, str(error.detail))
            page.headers.update(error.headers or {})
            return page
        return error_response(error.status_code, str(error.detail), headers=error.headers)

    async def domain_error(request: Request, error: Exception) -> Response:
        if isinstance(error, NotFoundError):
            status, field = 404, None
        elif isinstance(error, IngestError | ConfigError):
            status, field = 422, error.field
        else:
            status, field = 400, getattr(error, "field", None)
        if _wants_page(request):
            return _error_page(request, status, str(error))
        return error_response(status, str(error), field=field)

    async def login_required(request: Request, _error: Exception) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    async def unexpected(_request: Request, error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        return error_response(500, "internal error; it has been logged", code="internal")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(BorderwatchError, domain_error)
    app.add_exception_handler(LoginRequiredError, login_required)
    app.add_exception_handler(Exception, unexpected)
