"""Request dependencies: the database session, who is asking, and the guard that asks the policy.

Every endpoint that touches data takes a :class:`Guard` from :func:`require`; the guard calls
:func:`borderwatch.access.policy.decide` (the one place authorisation is decided) and writes the audit log.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.access import audit
from borderwatch.access.policy import (
    Action,
    Decision,
    Principal,
    Resource,
    decide,
    decide_public,
    readable_agency,
)
from borderwatch.access.service import authenticate_password, authenticate_token, resolve_session
from borderwatch.core.cache import Cache
from borderwatch.core.errors import NotFoundError
from borderwatch.core.settings import Settings
from borderwatch.ledger.writer import WriterPool
from borderwatch.pipeline.publish import Publisher
from borderwatch.web.errors import ApiError, LoginRequiredError, not_found

SESSION_COOKIE = "bw_session"
IDENTITY_STATE = "borderwatch_identity"
"""Key of ``scope["state"]`` where ``web.limits.BodyGuard`` leaves the identity it checked."""
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    cache: Cache = field(default_factory=lambda: Cache(ttl_seconds=60.0))
    ledger: WriterPool | None = None
    """The ledger's appending threads (one per agency's log): every append of the app goes through them."""
    _publisher: list[Publisher] = field(default_factory=list)
    _publisher_lock: threading.Lock = field(default_factory=threading.Lock)

    def publisher(self) -> Publisher:
        """The app's one connection to the pipeline (``Settings.pipeline == "nats"``), made at first use."""
        with self._publisher_lock:
            if not self._publisher:
                self._publisher.append(Publisher(self.settings.nats_url))
            return self._publisher[0]

    def close_publisher(self) -> None:
        with self._publisher_lock:
            while self._publisher:
                self._publisher.pop().close()


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.borderwatch
    return state


State = Annotated[AppState, Depends(app_state)]


def db_session(state: State) -> Iterator[Session]:
    """One session per request, committed when the endpoint returns normally."""
    session = state.factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# "function" scope commits before the response leaves: otherwise a browser that follows a redirect at once
# (after log-in, after recording an outcome) could arrive before the write it depends on is committed.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


@dataclass(frozen=True, slots=True)
class Identity:
    principal: Principal
    csrf_token: str | None
    """The session's CSRF token when the request came with a session cookie; None for API tokens."""


def identify(request: Request, db: Session) -> Identity | None:
    """Who sent ``request``: a bearer token or a session cookie; None if neither is valid.

    A request with a body was already identified before its body was read (``web.limits.BodyGuard``): that
    identity is reused rather than looked up twice."""
    checked = request.scope.get("state", {}).get(IDENTITY_STATE)
    if isinstance(checked, Identity):
        return checked
    header = request.headers.get("authorization")
    if header:
        principal = authorization_principal(header, db, basic=False)
        return Identity(principal, None) if principal else None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = resolve_session(db_session=db, secret=cookie)
    return Identity(found[0], found[1]) if found else None


def authorization_principal(header: str, db: Session, *, basic: bool) -> Principal | None:
    """Who an ``Authorization`` header names: ``Bearer <API token>``, or where ``basic`` (the TAXII server,
    whose partners' clients speak HTTP Basic) ``Basic`` with a user name and either an API token of that
    user or the user's password. None when it names nobody. The one parser of credentials in headers."""
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return None
    if scheme.lower() == "bearer":
        return authenticate_token(db_session=db, token=credentials)
    if not basic or scheme.lower() != "basic":
        return None
    return _basic_principal(credentials, db)


def _basic_principal(credentials: str, db: Session) -> Principal | None:
    try:
        username, _, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not username or not secret:
        return None
    principal = authenticate_token(db_session=db, token=secret)
    if principal is not None:
        return principal if principal.username == username else None
    return authenticate_password(db_session=db, username=username, password=secret)


def csrf_ok(identity: Identity, supplied: str | None) -> bool:
    if identity.csrf_token is None:  # bearer tokens are not sent automatically by browsers
        return True
    return supplied is not None and hmac.compare_digest(identity.csrf_token, supplied)


def api_identity(request: Request, db: DbSession) -> Identity:
    identity = identify(request, db)
    if identity is None:
        raise ApiError(401, "authentication required: send 'Authorization: Bearer <token>' or log in")
    if request.method not in SAFE_METHODS and not csrf_ok(identity, request.headers.get(CSRF_HEADER)):
        raise ApiError(403, f"missing or wrong {CSRF_HEADER} header for a session request", code="csrf")
    return identity


def ui_identity(request: Request, db: DbSession) -> Identity:
    """Like :func:`api_identity` for pages: no session sends the browser to the login page.

    Unsafe methods are checked against the CSRF token by the page handlers (form field or htmx header).
    """
    identity = identify(request, db)
    if identity is None:
        raise LoginRequiredError
    return identity


ApiIdentity = Annotated[Identity, Depends(api_identity)]
UiIdentity = Annotated[Identity, Depends(ui_identity)]


class Guard:
    """The policy's decision for one request, with the audit trail it leaves."""

    def __init__(
        self,
        *,
        db: Session,
        factory: sessionmaker[Session],
        principal: Principal,
        action: Action,
        resource: Resource,
    ) -> None:
        self.db = db
        self.factory = factory
        self.principal = principal
        self.action = action
        self.resource = resource

    @property
    def agency(self) -> str:
        return self.principal.agency

    def check_role(self) -> None:
        decision = decide(self.principal, self.action, self.resource)
        if not decision.allowed:
            self._deny(None, decision.reason)
            raise ApiError(403, f"forbidden: {decision.reason}")

    def record(
        self,
        *,
        record_agency: str | None,
        resource_id: str | None,
        detail: dict[str, Any] | None = None,
        action: Action | None = None,
        noun: str | None = None,
    ) -> None:
        """Allow access to one record of ``record_agency`` or raise (404 for another agency's record, the
        same answer as :meth:`not_found` gives for a record that is not there; ``noun`` names the record in
        it, by default the guard's resource)."""
        action = action or self.action
        decision = decide(self.principal, action, self.resource, record_agency=record_agency)
        self.apply(decision, resource_id=resource_id, detail=detail, noun=noun, action=action)

    def fetch(
        self,
        load: Callable[[], T],
        *,
        agency_of: Callable[[T], str],
        resource_id: str,
        noun: str | None = None,
        detail: dict[str, Any] | Callable[[T], dict[str, Any]] | None = None,
        action: Action | None = None,
    ) -> T:
        """The one fetch of a record: ``load`` it (its ``NotFoundError`` is the one 404), allow it by
        :meth:`record` (another agency's record is the same 404) and audit the access with ``detail`` (or
        what it makes of the record)."""
        try:
            row = load()
        except NotFoundError:
            raise self.not_found(noun) from None
        self.record(
            record_agency=agency_of(row),
            resource_id=resource_id,
            detail=detail(row) if callable(detail) else detail,
            action=action,
            noun=noun,
        )
        return row

    def apply(
        self,
        decision: Decision,
        *,
        resource_id: str | None,
        detail: dict[str, Any] | None = None,
        noun: str | None = None,
        action: Action | None = None,
    ) -> None:
        """Allow or refuse one record by ``decision``, taken by one of the policy's own functions for records
        that rule 2 alone does not cover (e.g. ``decide_training_result``); audited as :meth:`record` is."""
        action = action or self.action
        if not decision.allowed:
            self._deny(resource_id, decision.reason, action=action)
            if decision.hide:
                raise self.not_found(noun)
            raise ApiError(403, f"forbidden: {decision.reason}")
        audit.record_for(
            db_session=self.db,
            principal=self.principal,
            action=action,
            resource=self.resource,
            resource_id=resource_id,
            detail=detail,
        )

    def scope(self, resource: Resource | None = None, action: Action = Action.READ) -> str:
        """The agency whose ``resource`` records (default: the guard's) a query may return, by the policy."""
        resource = resource or self.resource
        agency = readable_agency(self.principal, action, resource)
        if agency is None:
            reason = f"role {self.principal.role} may not {action} {resource} records"
            self._deny(None, reason, action=action)
            raise ApiError(403, f"forbidden: {reason}")
        return agency

    def not_found(self, noun: str | None = None) -> ApiError:
        """The error for a record that is not there: the same as for another agency's record."""
        return not_found(noun or str(self.resource))

    def log(self, *, resource_id: str | None = None, detail: dict[str, Any] | None = None) -> None:
        """Audit an allowed access that is not about one stored record (a list, a query, a new record)."""
        audit.record_for(
            db_session=self.db,
            principal=self.principal,
            action=self.action,
            resource=self.resource,
            resource_id=resource_id,
            detail=detail,
        )

    def _deny(self, resource_id: str | None, reason: str, action: Action | None = None) -> None:
        # Denials are written in their own transaction: the request's own one is rolled back.
        with self.factory() as session:
            audit.record_for(
                db_session=session,
                principal=self.principal,
                action=action or self.action,
                resource=self.resource,
                resource_id=resource_id,
                allowed=False,
                detail={"reason": reason},
            )
            session.commit()


def require(action: Action, resource: Resource, *, page: bool = False) -> Callable[..., Guard]:
    """A dependency: the caller's role must hold ``action`` on ``resource``; returns the guard for records.

    ``page``: for workspace pages, where no session redirects to the login page and the page handler checks
    the CSRF token of a form (:func:`ui_identity`); otherwise the API's rules (:func:`api_identity`)."""
    identified = ui_identity if page else api_identity

    # the identity dependency is chosen here, at run time: a default, not an Annotated type
    def dependency(db: DbSession, state: State, identity: Identity = Depends(identified)) -> Guard:
        guard = Guard(
            db=db, factory=state.factory, principal=identity.principal, action=action, resource=resource
        )
        guard.check_role()
        return guard

    return dependency


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


def page(
    limit: Annotated[int, Query(ge=1, le=500, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


Paging = Annotated[Page, Depends(page)]


def public(action: Action, resource: Resource) -> Callable[..., None]:
    """A dependency for what the policy makes public by design (``PUBLIC_READ``): no account is asked for.
    These reads are not audited: there is no one to name, and the data is public."""

    def dependency() -> None:
        decision = decide_public(action, resource)
        if not decision.allowed:
            raise ApiError(401, f"authentication required: {decision.reason}")

    return dependency
