"""The TAXII 2.1 store: collections, the objects in them (every version), manifests, status resources.

Every function takes the principal asking and lets :mod:`borderwatch.access.policy` decide: a collection an
agency may not read is reported as absent (:class:`NotFoundError`), and each object is shown only where
:func:`~borderwatch.access.policy.decide_intel_read` allows it (TLP, sharing group, named recipients). The
``next`` token is the row id of the last object returned: the filter is applied again on every page, so a
token carries no right to anything.

Objects are stored as the JSON text they arrived in and served byte for byte (pages are assembled from the
stored text, never re-serialised).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from borderwatch.access.policy import (
    TLP,
    Action,
    CollectionAccess,
    Decision,
    Marking,
    Principal,
    decide_collection,
    decide_intel_read,
)
from borderwatch.core.errors import BorderwatchError, NotFoundError
from borderwatch.intel.models import (
    IntelCollectionAccessRow,
    IntelCollectionRow,
    IntelObjectRow,
    IntelStatusRow,
    SharingGroupMemberRow,
)
from borderwatch.intel.tlp import LEVEL_OF_ID, strictest
from borderwatch.intel.validate import (
    InvalidObject,
    canonical_timestamp,
    check_object,
    display_timestamp,
    markings_of,
    parse_timestamp,
)

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
# Core inserts: the ORM's bulk path costs more than SQLite's own work.
_OBJECTS: Table = IntelObjectRow.__table__  # type: ignore[assignment]
MAX_PAGE = 1000
_CHUNK = 500
INGEST_CHECKPOINT_PAGES = 10_000


class IntelError(BorderwatchError):
    """A TAXII request the server cannot process: ``status`` is its HTTP status (400, 403, 413, 422)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


class ForbiddenError(IntelError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=403)


# --- collections --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Collection:
    id: str
    title: str
    description: str | None
    alias: str | None
    default_tlp: TLP
    access: CollectionAccess

    def resource(self, agency: str) -> dict[str, Any]:
        """The TAXII collection resource as ``agency`` sees it."""
        body: dict[str, Any] = {"id": self.id, "title": self.title}
        if self.description:
            body["description"] = self.description
        if self.alias:
            body["alias"] = self.alias
        body["can_read"] = agency == self.access.owner or agency in self.access.readers
        body["can_write"] = agency == self.access.owner or agency in self.access.writers
        body["media_types"] = [STIX_MEDIA_TYPE]
        return body


def _collections(session: Session, ids: Sequence[str] | None = None) -> list[Collection]:
    query = select(IntelCollectionRow).order_by(IntelCollectionRow.created_at, IntelCollectionRow.id)
    if ids is not None:
        query = query.where(IntelCollectionRow.id.in_(list(ids)))
    rows = session.scalars(query).all()
    access: dict[str, list[IntelCollectionAccessRow]] = {row.id: [] for row in rows}
    if rows:
        for grant in session.scalars(
            select(IntelCollectionAccessRow).where(IntelCollectionAccessRow.collection_id.in_(list(access)))
        ):
            access[grant.collection_id].append(grant)
    return [
        Collection(
            id=row.id,
            title=row.title,
            description=row.description,
            alias=row.alias,
            default_tlp=TLP(row.default_tlp),
            access=CollectionAccess(
                owner=row.agency,
                readers=frozenset(g.agency for g in access[row.id] if g.can_read),
                writers=frozenset(g.agency for g in access[row.id] if g.can_write),
            ),
        )
        for row in rows
    ]


def add_collection(
    *,
    session: Session,
    agency: str,
    title: str,
    readers: Iterable[str] = (),
    writers: Iterable[str] = (),
    description: str | None = None,
    alias: str | None = None,
    default_tlp: TLP = TLP.AMBER,
    collection_id: str | None = None,
) -> Collection:
    """A new collection owned by ``agency``; ``readers`` and ``writers`` are the partner agencies' rights."""
    if not title.strip():
        raise IntelError("a collection needs a title")
    row = IntelCollectionRow(
        id=collection_id or str(uuid.uuid4()),
        agency=agency,
        title=title.strip(),
        description=description,
        alias=alias,
        default_tlp=default_tlp.value,
    )
    session.add(row)
    session.flush()
    readers, writers = set(readers) - {agency}, set(writers) - {agency}
    for partner in sorted(readers | writers):
        session.add(
            IntelCollectionAccessRow(
                collection_id=row.id,
                agency=partner,
                can_read=partner in readers,
                can_write=partner in writers,
            )
        )
    session.flush()
    return get_collection_of(session=session, agency=agency, collection_id=row.id)


def get_collection_of(*, session: Session, agency: str, collection_id: str) -> Collection:
    """The collection owned by ``agency`` (for its own administration); NotFoundError otherwise."""
    found = _collections(session, [collection_id])
    if not found or found[0].access.owner != agency:
        raise NotFoundError(f"no collection {collection_id!r}")
    return found[0]


def owned_collections(*, session: Session, agency: str) -> list[Collection]:
    return [c for c in _collections(session) if c.access.owner == agency]


def remove_collection(*, session: Session, agency: str, collection_id: str) -> int:
    """Delete the collection owned by ``agency`` and every object in it; how many objects went."""
    get_collection_of(session=session, agency=agency, collection_id=collection_id)
    removed = session.execute(delete(IntelObjectRow).where(IntelObjectRow.collection_id == collection_id))
    session.execute(
        delete(IntelCollectionAccessRow).where(IntelCollectionAccessRow.collection_id == collection_id)
    )
    session.execute(delete(IntelCollectionRow).where(IntelCollectionRow.id == collection_id))
    session.flush()
    return int(removed.rowcount or 0)  # type: ignore[attr-defined]


def visible_collections(*, session: Session, principal: Principal) -> list[Collection]:
    """The collections ``principal``'s agency may read or write: the others are not listed."""
    return [
        c for c in _collections(session) if decide_collection(principal, Action.READ, c.access).hide is False
    ]


def collection_for(
    *, session: Session, principal: Principal, collection_id: str, action: Action
) -> Collection:
    """The collection if the policy lets ``principal`` ``action`` it: NotFoundError when its agency has no
    right to it at all (it is not revealed), ForbiddenError when it may not do that."""
    found = _collections(session, [collection_id])
    if not found:
        raise NotFoundError(f"no collection {collection_id!r}")
    decision = decide_collection(principal, action, found[0].access)
    if not decision.allowed:
        if decision.hide:
            raise NotFoundError(f"no collection {collection_id!r}")
        raise ForbiddenError(decision.reason)
    return found[0]


# --- adding objects -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class StatusReport:
    """A TAXII status resource."""

    id: str
    request_timestamp: datetime
    successes: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def resource(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "status": "complete",
            "request_timestamp": _added_text(self.request_timestamp),
            "total_count": len(self.successes) + len(self.failures),
            "success_count": len(self.successes),
            "failure_count": len(self.failures),
            "pending_count": 0,
        }
        if self.successes:
            body["successes"] = self.successes
        if self.failures:
            body["failures"] = self.failures
        return body


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where objects come from, stored with each of them."""

    source_agency: str
    source: str | None = None
    tlp: TLP | None = None
    """overrides the objects' own markings (a share decision marks what it releases)"""
    released: bool = False
    decision_id: int | None = None
    group_id: int | None = None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Envelope:
    """The objects of a received TAXII envelope, and each object's JSON text exactly as it arrived."""

    objects: list[Any]
    texts: list[str] | None = None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Strict JSON: NaN and Infinity (which Python's parser takes) are refused, so what is served is JSON.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_GAP = re.compile(r"[ \t\n\r]*")


def read_envelope(body: bytes, *, max_length: int) -> Envelope:
    """The objects of a TAXII envelope; IntelError 413 when too large, 400 when it is not an envelope.

    Each object is parsed where it lies in the body and its text kept (stored and served as sent, never
    serialised again: that was a tenth of the ingest, bench/intel.py)."""
    if len(body) > max_length:
        raise IntelError(f"the envelope has {len(body)} bytes, over the limit of {max_length}", status=413)
    try:
        scanned = _scan_envelope(body.decode())
    except (UnicodeDecodeError, ValueError, IndexError):
        scanned = None
    if scanned is not None:
        return scanned
    try:  # not what the scanner takes: the whole parser says why (or takes it, texts serialised again)
        envelope = json.loads(body, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise IntelError(f"the request body is not JSON: {error}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise IntelError("the request body is not a TAXII envelope: it needs an 'objects' list")
    return Envelope(objects=envelope["objects"])


def _skip(text: str, at: int) -> int:
    """The position after the whitespace at ``at``."""
    found = _GAP.match(text, at)
    return found.end() if found is not None else at


def _scan_envelope(text: str) -> Envelope | None:  # noqa: PLR0911, PLR0912 - a branch per expected token
    """A JSON object whose ``objects`` is a list, each element's text kept; None for anything else (or a
    body that is not JSON: ValueError, IndexError)."""
    decode, end = _DECODER.raw_decode, len(text)
    at = _skip(text, 0)
    if text[at] != "{":
        return None
    at = _skip(text, at + 1)
    found: Envelope | None = None
    if text[at] == "}":
        at += 1
    else:
        while True:
            if text[at] != '"':
                return None
            key, at = decode(text, at)
            at = _skip(text, at)
            if text[at] != ":":
                return None
            at = _skip(text, at + 1)
            if key == "objects" and text[at] == "[":
                objects: list[Any] = []
                texts: list[str] = []
                at = _skip(text, at + 1)
                if text[at] == "]":
                    at += 1
                else:
                    while True:
                        began = at
                        value, at = decode(text, at)
                        objects.append(value)
                        texts.append(text[began:at])
                        at = _skip(text, at)
                        if text[at] == ",":
                            at = _skip(text, at + 1)
                            continue
                        if text[at] != "]":
                            return None
                        at += 1
                        break
                found = Envelope(objects=objects, texts=texts)
            else:
                _, at = decode(text, at)
                if key == "objects":  # a later "objects" wins, as in json.loads: not a list
                    found = None
            at = _skip(text, at)
            if text[at] == ",":
                at = _skip(text, at + 1)
                continue
            if text[at] != "}":
                return None
            at += 1
            break
    if _skip(text, at) != end:
        return None
    return found


def add_objects(
    *,
    session: Session,
    collection: Collection,
    objects: Sequence[Any],
    provenance: Provenance,
    now: datetime | None = None,
    texts: Sequence[str] | None = None,
) -> StatusReport:
    """Store the valid objects of an envelope and report each object's fate.

    An object already stored with the same id and version is a success (adding is idempotent); an invalid
    object, one with a marking the server does not know, or one whose TLP the sender may not send is a
    failure naming why. The valid objects of a mixed envelope are stored. ``texts``, when given, are the
    objects' JSON texts as received (stored as they are); otherwise each object is serialised."""
    now = now or datetime.now(UTC)
    report = StatusReport(id=str(uuid.uuid4()), request_timestamp=now)
    envelope_markings = dict.fromkeys(
        str(o.get("id")) for o in objects if isinstance(o, dict) and o.get("type") == "marking-definition"
    )
    # The objects of an envelope mostly carry the same markings: their level is decided once per set.
    marked: dict[tuple[str, ...], tuple[TLP | None, tuple[str, ...]]] = {}
    accepted: list[tuple[dict[str, Any], str, TLP, str | None, tuple[str, ...]]] = []
    pending_markings: set[str] = set()
    for position, obj in enumerate(objects):
        try:
            check_object(obj)
        except InvalidObject as error:
            report.failures.append(_failure(obj, str(error)))
            continue
        refs = tuple(markings_of(obj))
        marking = marked.get(refs)
        if marking is None:
            levels = [LEVEL_OF_ID[r] for r in refs if r in LEVEL_OF_ID]
            other = tuple(r for r in refs if r not in LEVEL_OF_ID and r not in envelope_markings)
            marking = marked[refs] = (strictest(levels), other)
            pending_markings.update(other)
        level = provenance.tlp or marking[0] or collection.default_tlp
        text = texts[position] if texts is not None else None
        accepted.append((obj, _version_of(obj, now), level, text, marking[1]))
    known = _stored_markings(session, collection.id, pending_markings) if pending_markings else set()
    sqlite = session.get_bind().dialect.name == "sqlite"
    added = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    recipients = json.dumps(list(provenance.recipients)) if provenance.recipients else None
    rows: list[list[Any]] = []
    for obj, version, level, text, other in accepted:
        unknown = [r for r in other if r not in known]
        if unknown:
            report.failures.append(_failure(obj, f"unknown marking {unknown[0]}", version))
            continue
        rows.append(
            [
                collection.id,
                obj["id"],
                obj["type"],
                obj.get("spec_version", "2.1"),
                version,
                True,
                added,
                provenance.source_agency,
                provenance.source,
                level.value,
                provenance.group_id,
                recipients,
                provenance.released,
                provenance.decision_id,
                text if text is not None else json.dumps(obj, separators=(",", ":"), ensure_ascii=False),
            ]
        )
    _store_rows(session, collection.id, rows, report)
    session.add(
        IntelStatusRow(
            id=report.id,
            collection_id=collection.id,
            agency=provenance.source_agency,
            request_timestamp=now,
            total_count=len(report.successes) + len(report.failures),
            successes=report.successes,
            failures=report.failures,
        )
    )
    session.flush()
    return report


def _version_of(obj: dict[str, Any], now: datetime) -> str:
    stamp = obj.get("modified") or obj.get("created")
    return canonical_timestamp(stamp) if stamp else now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _failure(obj: Any, message: str, version: str | None = None) -> dict[str, Any]:
    identifier = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else "unknown"
    detail: dict[str, Any] = {"id": identifier, "message": message}
    if version is None and isinstance(obj, dict):
        stamp = obj.get("modified") or obj.get("created")
        if isinstance(stamp, str):
            version = stamp
    if version is not None:
        detail["version"] = display_timestamp(version)
    return detail


def _stored_markings(session: Session, collection_id: str, refs: set[str]) -> set[str]:
    return set(
        session.scalars(
            select(IntelObjectRow.stix_id).where(
                IntelObjectRow.collection_id == collection_id, IntelObjectRow.stix_id.in_(sorted(refs))
            )
        )
    )


_OBJECT_COLUMNS = (
    "collection_id",
    "stix_id",
    "stix_type",
    "spec_version",
    "modified",
    "is_latest",
    "date_added",
    "source_agency",
    "source",
    "tlp",
    "group_id",
    "recipients",
    "released",
    "decision_id",
    "body",
)
# A row to insert is a list of the values of these columns, as the driver takes them (dates as SQLAlchemy
# writes them on each database, JSON as text).
_STIX_ID, _MODIFIED, _IS_LATEST = 1, 4, 5


def _store_rows(session: Session, collection_id: str, rows: list[list[Any]], report: StatusReport) -> None:
    if not rows:
        return
    ids = sorted({row[_STIX_ID] for row in rows})
    existing: dict[str, list[tuple[int, str, bool]]] = {}
    for start in range(0, len(ids), _CHUNK):
        for pk, stix_id, modified, latest in session.execute(
            select(
                IntelObjectRow.id, IntelObjectRow.stix_id, IntelObjectRow.modified, IntelObjectRow.is_latest
            ).where(
                IntelObjectRow.collection_id == collection_id,
                IntelObjectRow.stix_id.in_(ids[start : start + _CHUNK]),
            )
        ):
            existing.setdefault(stix_id, []).append((pk, modified, latest))
    fresh: list[list[Any]] = []
    seen: set[tuple[str, str]] = set()
    successes = report.successes
    for row in rows:
        stix_id, modified = row[_STIX_ID], row[_MODIFIED]
        key = (stix_id, modified)
        stored = existing.get(stix_id)
        if key in seen or (stored is not None and any(m == modified for _, m, _ in stored)):
            successes.append(
                {"id": stix_id, "version": display_timestamp(modified), "message": "already stored"}
            )
            continue
        seen.add(key)
        fresh.append(row)
        successes.append({"id": stix_id, "version": display_timestamp(modified)})
    if not fresh:
        return
    newest: dict[str, str] = {}
    for row in fresh:
        if row[_MODIFIED] > newest.get(row[_STIX_ID], ""):
            newest[row[_STIX_ID]] = row[_MODIFIED]
    demoted: list[int] = []
    for row in fresh:
        stix_id, modified = row[_STIX_ID], row[_MODIFIED]
        stored = existing.get(stix_id)
        if stored is None:  # the common case: a new object
            row[_IS_LATEST] = modified == newest[stix_id]
            continue
        row[_IS_LATEST] = modified == newest[stix_id] and modified > max(m for _, m, _ in stored)
        if row[_IS_LATEST]:
            demoted.extend(pk for pk, _, latest in stored if latest)
    _insert_objects(session.connection(), fresh)
    for start in range(0, len(demoted), _CHUNK):
        session.execute(
            update(IntelObjectRow)
            .where(IntelObjectRow.id.in_(demoted[start : start + _CHUNK]))
            .values(is_latest=False)
        )


def _insert_objects(connection: Connection, rows: list[list[Any]]) -> None:
    """The rows in one driver-level executemany: SQLAlchemy's per-row processing of the parameters (dates,
    JSON, booleans) cost as much as SQLite's insert itself (bench/intel.py, decision intel-0001)."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A checkpoint every ~40 MB of WAL on this connection rather than every 4 MB: an envelope dirties
        # about a thousand pages (an index keyed by random ids), so the default checkpointed (and synced)
        # on every commit; the commit took 24-36 ms instead of 39-42 for 1,000 objects (intel-0001).
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={INGEST_CHECKPOINT_PAGES}")
    mark = "?" if sqlite else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO intel_objects ({', '.join(_OBJECT_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_OBJECT_COLUMNS))})",
        [tuple(row) for row in rows],
    )


def get_status(*, session: Session, principal: Principal, status_id: str) -> dict[str, Any]:
    """A status resource, for the agency that posted the envelope only."""
    row = session.get(IntelStatusRow, status_id)
    if row is None or row.agency != principal.agency:
        raise NotFoundError(f"no status {status_id!r}")
    report = StatusReport(
        id=row.id,
        request_timestamp=_aware(row.request_timestamp),
        successes=list(row.successes),
        failures=list(row.failures),
    )
    return report.resource()


# --- reading objects ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """The filters of a TAXII objects, manifest or versions request."""

    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()
    added_after: datetime | None = None
    limit: int = MAX_PAGE
    next: str | None = None


def parse_query(params: dict[str, str], *, default_versions: tuple[str, ...] = ("last",)) -> Query:
    """The filters of a request's query parameters; IntelError 400 naming a malformed one."""

    def listed(name: str) -> tuple[str, ...]:
        value = params.get(name)
        return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()

    versions = listed("match[version]") or default_versions
    for version in versions:
        if version not in {"first", "last", "all"}:
            try:
                parse_timestamp(version)
            except ValueError:
                raise IntelError(
                    f"match[version]: {version!r} is not first, last, all or a timestamp"
                ) from None
    added_after = None
    if params.get("added_after"):
        try:
            added_after = parse_timestamp(params["added_after"])
        except ValueError as error:
            raise IntelError(f"added_after: {error}") from None
    limit = MAX_PAGE
    if params.get("limit"):
        try:
            limit = int(params["limit"])
        except ValueError:
            raise IntelError(f"limit: {params['limit']!r} is not a whole number") from None
        if limit <= 0:
            raise IntelError("limit must be positive")
        limit = min(limit, MAX_PAGE)
    token = params.get("next")
    if token is not None:
        _decode_next(token)
    return Query(
        ids=listed("match[id]"),
        types=listed("match[type]"),
        versions=versions,
        spec_versions=listed("match[spec_version]"),
        added_after=added_after,
        limit=limit,
        next=token,
    )


def _encode_next(pk: int) -> str:
    return base64.urlsafe_b64encode(f"bw1:{pk}".encode()).decode().rstrip("=")


def _decode_next(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "bw1":
            raise ValueError(token)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise IntelError(f"next: {token!r} is not a token this server gave") from None


_COLUMNS = (
    IntelObjectRow.id,
    IntelObjectRow.stix_id,
    IntelObjectRow.modified,
    IntelObjectRow.date_added,
    IntelObjectRow.source_agency,
    IntelObjectRow.tlp,
    IntelObjectRow.released,
    IntelObjectRow.group_id,
    IntelObjectRow.recipients,
    IntelObjectRow.spec_version,
)


def _select(collection_id: str, query: Query, *columns: Any) -> Select[Any]:
    statement: Select[Any] = select(*_COLUMNS, *columns).where(  # type: ignore[assignment]
        IntelObjectRow.collection_id == collection_id
    )
    if query.ids:
        statement = statement.where(IntelObjectRow.stix_id.in_(query.ids))
    if query.types:
        statement = statement.where(IntelObjectRow.stix_type.in_(query.types))
    if query.spec_versions:
        statement = statement.where(IntelObjectRow.spec_version.in_(query.spec_versions))
    if query.added_after is not None:
        statement = statement.where(IntelObjectRow.date_added > query.added_after)
    if "all" not in query.versions:
        conditions: list[Any] = []
        stamps = [canonical_timestamp(v) for v in query.versions if v not in {"first", "last"}]
        if "last" in query.versions:
            conditions.append(IntelObjectRow.is_latest.is_(True))
        if "first" in query.versions:
            first = (
                select(IntelObjectRow.stix_id, func.min(IntelObjectRow.modified).label("first"))
                .where(IntelObjectRow.collection_id == collection_id)
                .group_by(IntelObjectRow.stix_id)
                .subquery()
            )
            conditions.append(
                select(first.c.stix_id)
                .where(first.c.stix_id == IntelObjectRow.stix_id, first.c.first == IntelObjectRow.modified)
                .exists()
            )
        if stamps:
            conditions.append(IntelObjectRow.modified.in_(stamps))
        statement = statement.where(or_(*conditions))
    if query.next is not None:
        statement = statement.where(IntelObjectRow.id > _decode_next(query.next))
    return statement.order_by(IntelObjectRow.id)


class _Visibility:
    """The policy's answer per distinct marking of the rows of one request (few distinct markings)."""

    def __init__(self, session: Session, principal: Principal, collection: Collection) -> None:
        self.session = session
        self.agency = principal.agency
        self.owner = collection.access.owner
        self.answers: dict[tuple[Any, ...], Decision] = {}
        self.groups: dict[int, frozenset[str]] = {}

    def allows(self, row: Any) -> bool:
        recipients = tuple(row.recipients or ())
        key = (row.source_agency, row.tlp, row.released, row.group_id, recipients)
        decision = self.answers.get(key)
        if decision is None:
            marking = Marking(
                owner=self.owner,
                source=row.source_agency,
                tlp=TLP(row.tlp),
                released=bool(row.released),
                group_members=self._members(row.group_id),
                recipients=frozenset(recipients),
            )
            decision = decide_intel_read(self.agency, marking)
            self.answers[key] = decision
        return decision.allowed

    def _members(self, group_id: int | None) -> frozenset[str]:
        if group_id is None:
            return frozenset()
        if group_id not in self.groups:
            self.groups[group_id] = frozenset(
                self.session.scalars(
                    select(SharingGroupMemberRow.agency).where(SharingGroupMemberRow.group_id == group_id)
                )
            )
        return self.groups[group_id]


@dataclass(slots=True)
class Page:
    rows: list[Any]
    more: bool
    next: str | None

    @property
    def first_added(self) -> str | None:
        return _added_text(_aware(self.rows[0].date_added)) if self.rows else None

    @property
    def last_added(self) -> str | None:
        return _added_text(_aware(self.rows[-1].date_added)) if self.rows else None


def _page(
    session: Session, principal: Principal, collection: Collection, query: Query, *columns: Any
) -> Page:
    visibility = _Visibility(session, principal, collection)
    statement = _select(collection.id, query, *columns)
    wanted = query.limit + 1
    found: list[Any] = []
    after: int | None = None
    # Fetch in batches until a page and one more visible row are found: hidden rows cost a scan, never a leak.
    while len(found) < wanted:
        batch_statement = statement if after is None else statement.where(IntelObjectRow.id > after)
        batch = session.execute(batch_statement.limit(max(wanted - len(found), 64))).all()
        if not batch:
            break
        found.extend(row for row in batch if visibility.allows(row))
        after = batch[-1].id
    more = len(found) > query.limit
    rows = found[: query.limit]
    return Page(rows=rows, more=more, next=_encode_next(rows[-1].id) if more else None)


def get_objects(
    *, session: Session, principal: Principal, collection: Collection, query: Query
) -> tuple[bytes, Page]:
    """A TAXII envelope of the objects ``principal`` may see, as JSON bytes, and the page it came from."""
    page = _page(session, principal, collection, query, IntelObjectRow.body)
    if not page.rows:
        return b"{}", page
    head = b'{"more":' + (b"true" if page.more else b"false")
    if page.next:
        head += b',"next":"' + page.next.encode() + b'"'
    body = head + b',"objects":[' + ",".join(row.body for row in page.rows).encode() + b"]}"
    return body, page


def get_manifest(
    *, session: Session, principal: Principal, collection: Collection, query: Query
) -> tuple[dict[str, Any], Page]:
    page = _page(session, principal, collection, query)
    resource: dict[str, Any] = {}
    if page.rows:
        resource["more"] = page.more
        if page.next:
            resource["next"] = page.next
        resource["objects"] = [
            {
                "id": row.stix_id,
                "date_added": _added_text(_aware(row.date_added)),
                "version": display_timestamp(row.modified),
                "media_type": f"application/stix+json;version={row.spec_version}",
            }
            for row in page.rows
        ]
    return resource, page


def get_versions(
    *, session: Session, principal: Principal, collection: Collection, object_id: str, query: Query
) -> tuple[dict[str, Any], Page]:
    query = Query(
        ids=(object_id,),
        versions=("all",),
        spec_versions=query.spec_versions,
        added_after=query.added_after,
        limit=query.limit,
        next=query.next,
    )
    page = _page(session, principal, collection, query)
    resource: dict[str, Any] = {}
    if page.rows:
        resource["more"] = page.more
        if page.next:
            resource["next"] = page.next
        resource["versions"] = sorted((display_timestamp(row.modified) for row in page.rows), reverse=True)
    return resource, page


def delete_object(
    *, session: Session, principal: Principal, collection: Collection, object_id: str, query: Query
) -> int:
    """Delete the matching versions of one object; a partner deletes only what its agency sent."""
    query = Query(ids=(object_id,), versions=query.versions, spec_versions=query.spec_versions, limit=10**9)
    page = _page(session, principal, collection, query)
    mine = [row.id for row in page.rows if principal.agency in {collection.access.owner, row.source_agency}]
    if not page.rows:
        raise NotFoundError(f"no object {object_id!r}")
    if not mine:
        raise ForbiddenError("a partner may only delete the objects its agency sent")
    session.execute(delete(IntelObjectRow).where(IntelObjectRow.id.in_(mine)))
    # The newest remaining version becomes the latest again.
    remaining = session.execute(
        select(IntelObjectRow.id, IntelObjectRow.modified).where(
            IntelObjectRow.collection_id == collection.id, IntelObjectRow.stix_id == object_id
        )
    ).all()
    if remaining:
        best = max(remaining, key=lambda r: r.modified)
        session.execute(
            update(IntelObjectRow)
            .where(IntelObjectRow.collection_id == collection.id, IntelObjectRow.stix_id == object_id)
            .values(is_latest=IntelObjectRow.id == best.id)
        )
    session.flush()
    return len(mine)


def stored_objects(
    *, session: Session, collection_id: str, types: Sequence[str] = (), since_id: int = 0
) -> list[tuple[int, dict[str, Any], str, str]]:
    """(row id, object, source agency, source) of the latest versions in a collection, for local use by its
    owner (received indicators, parties, sightings)."""
    statement = select(
        IntelObjectRow.id, IntelObjectRow.body, IntelObjectRow.source_agency, IntelObjectRow.source
    ).where(
        IntelObjectRow.collection_id == collection_id,
        IntelObjectRow.is_latest.is_(True),
        IntelObjectRow.id > since_id,
    )
    if types:
        statement = statement.where(IntelObjectRow.stix_type.in_(list(types)))
    return [
        (pk, json.loads(body), agency, source or agency)
        for pk, body, agency, source in session.execute(statement.order_by(IntelObjectRow.id))
    ]


def object_counts(*, session: Session, collection_id: str) -> dict[str, int]:
    rows = session.execute(
        select(IntelObjectRow.tlp, func.count())
        .where(and_(IntelObjectRow.collection_id == collection_id, IntelObjectRow.is_latest.is_(True)))
        .group_by(IntelObjectRow.tlp)
    ).all()
    return {str(tlp): int(count) for tlp, count in rows}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _added_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
