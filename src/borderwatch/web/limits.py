"""What one HTTP client can make the server hold: body sizes, time to send headers and bodies, connections.

Two pieces, at the two levels where a request can be refused:

- :class:`BodyGuard`, an ASGI middleware, sees a request once its headers have arrived and before anything
  reads its body. A request that carries a body must be authenticated first (FastAPI reads and parses a body
  before it runs the dependencies that authenticate, so a stranger's 1 GiB body was read into memory before
  the 401); the body is capped per endpoint (:func:`body_cap`), refused at once from its Content-Length, or
  with a 413 as soon as a chunked body passes the cap; and a response sent before the body was read in full
  closes the connection, so the rest is never read.
- :class:`BoundedH11Protocol`, uvicorn's h11 protocol with two time-outs uvicorn lacks. uvicorn times out
  only idle keep-alive connections, and h11 has no clock: a client that opens a connection and sends its
  headers a byte at a time (slowloris) holds it for ever. A protocol subclass is the one place that sees bytes
  arrive before a request exists (an ASGI middleware only sees complete headers), so the header time-out
  lives there, with the body time-out beside it.

:func:`uvicorn_options` gathers these with uvicorn's own bounds (``limit_concurrency``, ``backlog``,
keep-alive) from the settings; ``borderwatch serve`` runs with them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from borderwatch.core.settings import Settings
from borderwatch.web.deps import IDENTITY_STATE, Identity, authorization_principal, identify
from borderwatch.web.errors import error_response
from borderwatch.web.taxii import TaxiiError, unauthorized
from borderwatch.web.taxii import error_response as taxii_error

# Endpoints that take a body from someone not yet signed in: the login form only.
PUBLIC_BODY_PATHS = frozenset({"/login"})
PUBLIC_BODY_BYTES = 16 << 10
UPLOAD_PATHS = frozenset({"/api/uploads", "/upload"})
BATCH_PATHS = frozenset({"/api/declarations/batch"})
CLOSE = (b"connection", b"close")
# TAXII bodies have their own cap and their partners authenticate with Bearer or HTTP Basic, refused in
# TAXII's error format (BodyGuard._taxii).
TAXII_PREFIX = "/taxii2/"


def body_cap(settings: Settings, path: str) -> int:
    """The largest body, in bytes, that a request to ``path`` may carry."""
    if path in UPLOAD_PATHS:
        return settings.http_max_upload_bytes
    if path in BATCH_PATHS:
        return settings.http_max_batch_bytes
    if path in PUBLIC_BODY_PATHS:
        return PUBLIC_BODY_BYTES
    return settings.http_max_json_bytes


def _size(cap: int) -> str:
    if cap >= 1 << 30 and cap % (1 << 30) == 0:
        return f"{cap >> 30} GiB"
    if cap >= 1 << 20:
        return f"{cap / (1 << 20):g} MiB"
    return f"{cap / 1024:g} KiB"


class BodyTooLargeError(HTTPException):
    """A chunked body passed its cap while it was read: the app's handlers answer it as a 413."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the request body is larger than {_size(cap)}, this endpoint's limit")


class BodyGuard:
    """Authenticate before a body is read, cap bodies per endpoint, close connections left mid-body."""

    def __init__(self, app: ASGIApp, *, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.app = app
        self.settings = settings
        self.factory = factory

    def _identify(self, request: Request) -> Identity | None:
        with self.factory() as db:
            return identify(request, db)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        cap = body_cap(self.settings, path)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        try:
            declared = int(headers["content-length"]) if "content-length" in headers else None
        except ValueError:
            declared = None  # h11 refuses a malformed Content-Length before a request exists
        if not chunked and not declared:
            await self.app(scope, receive, send)
            return
        if path.startswith(TAXII_PREFIX):
            await self._taxii(scope, receive, send, declared)
            return
        if declared is not None and declared > cap:
            message = (
                f"the request body ({_size(declared)}) is larger than {_size(cap)}, this endpoint's limit"
            )
            await self._refuse(scope, receive, send, error_response(413, message, field="body"))
            return
        if path not in PUBLIC_BODY_PATHS:
            request = Request(scope)
            identity = await run_in_threadpool(self._identify, request)
            if identity is None:
                await self._refuse(scope, receive, send, self._unauthenticated(request))
                return
            scope.setdefault("state", {})[IDENTITY_STATE] = identity
        await self._guarded(scope, receive, send, cap)

    async def _taxii(self, scope: Scope, receive: Receive, send: Send, declared: int | None) -> None:
        """A TAXII request with a body: its own cap (``intel_max_content_length``), its partner authenticated
        (Bearer or HTTP Basic) before the body is read, refusals in TAXII's error format."""

        cap = self.settings.intel_max_content_length
        if declared is not None and declared > cap:
            message = f"the envelope has {declared} bytes, over the limit of {cap}"
            await self._refuse(
                scope, receive, send, taxii_error(TaxiiError(413, "Payload Too Large", message))
            )
            return
        request = Request(scope)
        identity = await run_in_threadpool(self._identify_partner, request)
        if identity is None:
            await self._refuse(scope, receive, send, taxii_error(unauthorized()))
            return
        scope.setdefault("state", {})[IDENTITY_STATE] = identity
        await self._guarded(scope, receive, send, cap)

    def _identify_partner(self, request: Request) -> Identity | None:
        with self.factory() as db:
            header = request.headers.get("authorization", "")
            principal = authorization_principal(header, db, basic=True)
            return Identity(principal, None) if principal else None

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        received = 0
        complete = False
        started = False

        async def counted() -> Message:
            nonlocal received, complete
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLargeError(cap)
                complete = not message.get("more_body", False)
            return message

        async def closing(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not complete:  # the rest of the body is not worth reading: close after this response
                    message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            await send(message)

        try:
            await self.app(scope, counted, closing)
        except BodyTooLargeError as error:  # raised where no exception handler caught it
            if started:
                raise
            await self._refuse(scope, receive, send, error_response(413, str(error.detail), field="body"))

    @staticmethod
    def _unauthenticated(request: Request) -> Response:
        path = request.url.path
        if not path.startswith("/api") and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"/login?next={path}", status_code=303)
        return error_response(401, "authentication required: send 'Authorization: Bearer <token>' or log in")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
        """Answer without reading the body, and close the connection after the answer."""
        response.headers["connection"] = "close"
        await response(scope, receive, send)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header time-out and a body time-out (see the module's docstring).

    - headers: from the first byte of a request (or the connection's opening) to the end of its headers,
      at most ``header_timeout`` seconds, however the bytes trickle in;
    - body: at most ``body_timeout`` seconds of silence while the body is being sent (not counted while the
      server itself has stopped reading because the application has not taken what arrived).

    A client that runs out of time gets a 408 if nothing was answered yet, and the connection is closed.
    Once a request is complete, the application takes the time it needs; between requests uvicorn's
    keep-alive time-out applies.
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        self._follow()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:  # waiting for the next request: uvicorn's keep-alive time-out
            self._cancel()
            self._phase = None
        else:  # a pipelined request was already buffered
            self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _follow(self) -> None:
        """Arm the time-out of the phase the client is in; called whenever bytes arrive."""
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._phase != "headers":  # a new request started: its clock starts now, not at each byte
                self._phase = "headers"
                self._arm(self.header_timeout)
        elif state is h11.SEND_BODY:
            self._phase = "body"
            self._arm(self.body_timeout)  # silence is what counts: every chunk restarts the clock
        else:
            self._phase = None
            self._cancel()

    def _arm(self, seconds: float) -> None:
        self._cancel()
        self._timer = self.loop.call_later(seconds, self._expired)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._phase == "body" and self.flow.read_paused:
            self._arm(self.body_timeout)  # the application is behind, not the client
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: 33\r\nconnection: close\r\n\r\nthe request was not sent in time\n"
            )
        self.transport.close()


def protocol_class(settings: Settings) -> type[BoundedH11Protocol]:
    """:class:`BoundedH11Protocol` with the settings' time-outs (uvicorn builds one per connection)."""
    return type(
        "ConfiguredH11Protocol",
        (BoundedH11Protocol,),
        {"header_timeout": settings.http_header_timeout, "body_timeout": settings.http_body_timeout},
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that bound what clients can hold."""
    return {
        "http": protocol_class(settings),
        "limit_concurrency": settings.http_limit_concurrency,
        "backlog": settings.http_backlog,
        "timeout_keep_alive": settings.http_keep_alive,
        "h11_max_incomplete_event_size": 16 << 10,  # request line and headers, as h11's default
    }
