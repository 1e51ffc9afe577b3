"""The TAXII 2.1 server at ``/taxii2/``: discovery, the API root, collections, objects, versions, manifest,
status, in the ``application/taxii+json;version=2.1`` media type with the spec's error bodies.

A partner authenticates with an API token (``Authorization: Bearer``) or HTTP Basic (user name and password,
or user name and API token). What it may see is decided by the access policy through ``intel.store``; every
request (and every denial) is in the audit log, with the ids of the objects a partner read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from borderwatch.access import audit
from borderwatch.access.policy import Action, Principal, Resource
from borderwatch.core.errors import NotFoundError
from borderwatch.intel import store
from borderwatch.web.deps import IDENTITY_STATE, DbSession, Identity, State, authorization_principal

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
API_ROOT = "api"
_MEDIA = re.compile(r"^\s*([^;\s]+)\s*(;.*)?$")

router = APIRouter(prefix="/taxii2", include_in_schema=False)


class TaxiiError(Exception):
    def __init__(self, status: int, title: str, description: str, *, headers: dict[str, str] | None = None):
        self.status = status
        self.title = title
        self.description = description
        self.headers = headers or {}
        super().__init__(description)


def taxii_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return Response(content=content, status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers)


def error_response(error: TaxiiError) -> Response:
    return taxii_response(
        {
            "title": error.title,
            "description": error.description,
            "http_status": str(error.status),
            "error_code": error.title.lower().replace(" ", "-"),
        },
        error.status,
        headers=error.headers,
    )


def _media_ok(header: str | None, *, wildcard: bool) -> bool:
    """Whether a header lists TAXII 2.1 (``application/taxii+json``, version 2.1 or unversioned)."""
    if header is None or not header.strip():
        return wildcard
    for item in header.split(","):
        found = _MEDIA.match(item)
        if found is None:
            continue
        media = found.group(1).lower()
        params = (found.group(2) or "").replace(" ", "").lower()
        if wildcard and media in {"*/*", "application/*"}:
            return True
        if media == "application/taxii+json":
            versions = re.findall(r"version=([^;]+)", params)
            if not versions or versions[0] == "2.1":
                return True
    return False


def principal_of(request: Request, db: Session) -> Principal:
    """The partner sending ``request``: a bearer token, or Basic with a password or an API token (already
    checked by ``web.limits.BodyGuard`` when the request carries a body)."""
    checked = request.scope.get("state", {}).get(IDENTITY_STATE)
    principal = checked.principal if isinstance(checked, Identity) else None
    if principal is None:
        principal = authorization_principal(request.headers.get("authorization", ""), db, basic=True)
    if principal is None:
        raise unauthorized()
    return principal


def unauthorized() -> TaxiiError:
    return TaxiiError(
        401,
        "Unauthorized",
        "authentication required: an API token as 'Authorization: Bearer' or HTTP Basic",
        headers={"WWW-Authenticate": 'Basic realm="borderwatch TAXII"'},
    )


class Call:
    """One TAXII request: who asks, its database session, and its audit trail."""

    def __init__(self, *, request: Request, db: Session, factory: sessionmaker[Session], settings: Any):
        self.request = request
        self.db = db
        self.factory = factory
        self.settings = settings
        self.principal = principal_of(request, db)
        if not _media_ok(request.headers.get("accept"), wildcard=True):
            raise TaxiiError(406, "Not Acceptable", f"this server answers in {TAXII_MEDIA_TYPE} only")

    def audit(self, action: Action, resource_id: str | None, detail: dict[str, Any] | None = None) -> None:
        audit.record_for(
            db_session=self.db,
            principal=self.principal,
            action=action,
            resource=Resource.INTEL,
            resource_id=resource_id,
            detail=detail,
        )

    def deny(self, action: Action, resource_id: str | None, reason: str) -> None:
        with self.factory() as session:
            audit.record_for(
                db_session=session,
                principal=self.principal,
                action=action,
                resource=Resource.INTEL,
                resource_id=resource_id,
                allowed=False,
                detail={"reason": reason},
            )
            session.commit()

    def collection(self, api_root: str, collection_id: str, action: Action) -> store.Collection:
        _root(api_root)
        try:
            return store.collection_for(
                session=self.db, principal=self.principal, collection_id=collection_id, action=action
            )
        except (NotFoundError, store.IntelError) as error:
            self.deny(action, collection_id, str(error))
            raise


def _call(request: Request, db: DbSession, state: State) -> Call:
    return Call(request=request, db=db, factory=state.factory, settings=state.settings)


TaxiiCall = Annotated[Call, Depends(_call)]


def _root(api_root: str) -> None:
    if api_root != API_ROOT:
        raise TaxiiError(404, "Not Found", f"no API root {api_root!r}")


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except NotFoundError as error:
        raise TaxiiError(404, "Not Found", str(error)) from None
    except store.IntelError as error:
        titles = {400: "Bad Request", 403: "Forbidden", 413: "Payload Too Large", 422: "Unprocessable Entity"}
        raise TaxiiError(error.status, titles.get(error.status, "Error"), str(error)) from None


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params.items())


def _page_headers(page: store.Page) -> dict[str, str]:
    headers: dict[str, str] = {}
    if page.first_added:
        headers["X-TAXII-Date-Added-First"] = page.first_added
    if page.last_added:
        headers["X-TAXII-Date-Added-Last"] = page.last_added
    return headers


@router.get("/")
def discovery(call: TaxiiCall) -> Response:
    base = str(call.request.base_url).rstrip("/")
    call.audit(Action.READ, "discovery")
    return taxii_response(
        {
            "title": "borderwatch TAXII 2.1",
            "description": "Customs intelligence shared between agencies (STIX 2.1, TLP 2.0).",
            "contact": call.principal.agency,
            "default": f"{base}/taxii2/{API_ROOT}/",
            "api_roots": [f"{base}/taxii2/{API_ROOT}/"],
        }
    )


@router.get("/{api_root}/")
def api_root_information(api_root: str, call: TaxiiCall) -> Response:
    _root(api_root)
    return taxii_response(
        {
            "title": "borderwatch intelligence",
            "description": "Collections of customs seizures, targeting indicators and sightings.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": call.settings.intel_max_content_length,
        }
    )


@router.get("/{api_root}/status/{status_id}/")
def status(api_root: str, status_id: str, call: TaxiiCall) -> Response:
    _root(api_root)
    with _errors():
        return taxii_response(
            store.get_status(session=call.db, principal=call.principal, status_id=status_id)
        )


@router.get("/{api_root}/collections/")
def collections(api_root: str, call: TaxiiCall) -> Response:
    _root(api_root)
    visible = store.visible_collections(session=call.db, principal=call.principal)
    call.audit(Action.READ, "collections", {"count": len(visible)})
    if not visible:
        return taxii_response({})
    return taxii_response({"collections": [c.resource(call.principal.agency) for c in visible]})


@router.get("/{api_root}/collections/{collection_id}/")
def collection(api_root: str, collection_id: str, call: TaxiiCall) -> Response:
    with _errors():
        found = call.collection(api_root, collection_id, Action.READ)
    call.audit(Action.READ, collection_id)
    return taxii_response(found.resource(call.principal.agency))


def _read(
    call: TaxiiCall, api_root: str, collection_id: str, fetch: Callable[[store.Collection, store.Query], Any]
) -> Response:
    with _errors():
        found = call.collection(api_root, collection_id, Action.READ)
        query = store.parse_query(_params(call.request))
        body, page = fetch(found, query)
    detail: dict[str, Any] = {"count": len(page.rows), "path": call.request.url.path}
    if call.principal.agency != found.access.owner:
        detail["objects"] = [row.stix_id for row in page.rows]
    call.audit(Action.READ, collection_id, detail)
    return taxii_response(body, headers=_page_headers(page))


def _stored(call: TaxiiCall, read: Callable[..., Any]) -> Callable[[store.Collection, store.Query], Any]:
    """A read of the store (objects or manifest) as the caller, for :func:`_read`."""
    return lambda c, q: read(session=call.db, principal=call.principal, collection=c, query=q)


@router.get("/{api_root}/collections/{collection_id}/objects/")
def get_objects(api_root: str, collection_id: str, call: TaxiiCall) -> Response:
    return _read(call, api_root, collection_id, _stored(call, store.get_objects))


@router.get("/{api_root}/collections/{collection_id}/manifest/")
def get_manifest(api_root: str, collection_id: str, call: TaxiiCall) -> Response:
    return _read(call, api_root, collection_id, _stored(call, store.get_manifest))


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def get_object(api_root: str, collection_id: str, object_id: str, call: TaxiiCall) -> Response:
    def fetch(found: store.Collection, query: store.Query) -> tuple[bytes, store.Page]:
        query = store.Query(
            ids=(object_id,),
            versions=query.versions,
            spec_versions=query.spec_versions,
            added_after=query.added_after,
            limit=query.limit,
            next=query.next,
        )
        body, page = store.get_objects(
            session=call.db, principal=call.principal, collection=found, query=query
        )
        if not page.rows and not call.request.query_params:
            raise NotFoundError(f"no object {object_id!r}")
        return body, page

    return _read(call, api_root, collection_id, fetch)


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/")
def get_versions(api_root: str, collection_id: str, object_id: str, call: TaxiiCall) -> Response:
    def fetch(found: store.Collection, query: store.Query) -> tuple[dict[str, Any], store.Page]:
        resource, page = store.get_versions(
            session=call.db, principal=call.principal, collection=found, object_id=object_id, query=query
        )
        if not page.rows and not call.request.query_params:
            raise NotFoundError(f"no object {object_id!r}")
        return resource, page

    return _read(call, api_root, collection_id, fetch)


@router.delete("/{api_root}/collections/{collection_id}/objects/{object_id}/")
def delete_object(api_root: str, collection_id: str, object_id: str, call: TaxiiCall) -> Response:
    with _errors():
        found = call.collection(api_root, collection_id, Action.DELETE)
        query = store.parse_query(_params(call.request), default_versions=("all",))
        try:
            removed = store.delete_object(
                session=call.db, principal=call.principal, collection=found, object_id=object_id, query=query
            )
        except store.ForbiddenError as error:
            call.deny(Action.DELETE, object_id, str(error))
            raise
    call.audit(Action.DELETE, collection_id, {"object": object_id, "versions": removed})
    return Response(status_code=200, media_type=TAXII_MEDIA_TYPE)


@router.post("/{api_root}/collections/{collection_id}/objects/")
async def add_objects(api_root: str, collection_id: str, call: TaxiiCall) -> Response:
    request = call.request
    if not _media_ok(request.headers.get("content-type"), wildcard=False):
        raise TaxiiError(415, "Unsupported Media Type", f"send the envelope as {TAXII_MEDIA_TYPE}")
    limit = int(call.settings.intel_max_content_length)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TaxiiError(
            413, "Payload Too Large", f"the envelope has {declared} bytes, over the limit of {limit}"
        )
    try:
        body = await request.body()
    except StarletteHTTPException as error:  # a chunked body over the cap (web.limits)
        raise TaxiiError(413, "Payload Too Large", str(error.detail)) from None

    def work() -> dict[str, Any]:
        with _errors():
            found = call.collection(api_root, collection_id, Action.CREATE)
            envelope = store.read_envelope(body, max_length=limit)
            report = store.add_objects(
                session=call.db,
                collection=found,
                objects=envelope.objects,
                texts=envelope.texts,
                provenance=store.Provenance(
                    source_agency=call.principal.agency,
                    source=f"taxii:{call.principal.username}",
                    released=call.principal.agency != found.access.owner,
                ),
            )
        call.audit(
            Action.CREATE,
            collection_id,
            {"status": report.id, "stored": len(report.successes), "failed": len(report.failures)},
        )
        return report.resource()

    return taxii_response(await run_in_threadpool(work), 202)


def install(app: Any) -> None:
    """Mount the TAXII server and answer its errors in the TAXII error format."""

    async def handle(_request: Request, error: Exception) -> Response:
        assert isinstance(error, TaxiiError)
        return error_response(error)

    app.include_router(router)
    app.add_exception_handler(TaxiiError, handle)


__all__ = ["API_ROOT", "TAXII_MEDIA_TYPE", "install", "router"]
