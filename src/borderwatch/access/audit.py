"""The append-only audit log: who read or changed what, and whether it was allowed.

Append-only in three ways. This module only ever inserts. The database refuses UPDATE and DELETE on the
table (triggers; on SQLite also INSERT OR REPLACE over an existing row), and on PostgreSQL the application
runs as a role that may only INSERT and SELECT on it (migration ``rel_access_02``, README "Deploying on
PostgreSQL"). And the rows form a hash chain: each carries the SHA-256 of its own canonical serialisation,
which includes the hash of the row before it, so :func:`verify` finds the first row that was changed,
removed or forged, even by someone who could bypass the first two.

Entries are appended when the session commits (``before_commit``), one transaction at a time: on PostgreSQL
under a transaction-level advisory lock, on SQLite under the database's one write lock. Appending at commit
keeps that lock for the commit only, not for the whole request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event, func, insert, select
from sqlalchemy.orm import Session

from borderwatch.access.models import AuditRow
from borderwatch.access.policy import Action, Principal, Resource
from borderwatch.db.session import hold_append_lock

GENESIS = "0" * 64
"""The ``prev_hash`` of the first row."""

_PENDING = "borderwatch_audit_pending"
_LOCK_SCOPE = "audit_log"


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit entry as it is hashed: every column but ``row_hash``."""

    id: int
    at: datetime
    actor: str
    agency: str | None
    action: str
    resource: str
    resource_id: str | None
    allowed: bool
    detail: dict[str, Any] | None
    prev_hash: str


def _utc(moment: datetime) -> datetime:
    # SQLite returns naive datetimes (stored in UTC); PostgreSQL aware ones in the session's time zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def canonical(entry: Entry) -> bytes:
    """The bytes hashed for ``entry``: a JSON array in a fixed order, compact, keys sorted, UTF-8, the time
    in UTC to the microsecond. The same on SQLite and PostgreSQL for the same stored values; never change
    it, or every existing chain stops verifying."""
    return json.dumps(
        [
            entry.id,
            _utc(entry.at).isoformat(timespec="microseconds"),
            entry.actor,
            entry.agency,
            entry.action,
            entry.resource,
            entry.resource_id,
            bool(entry.allowed),
            entry.detail,
            entry.prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode()


def row_digest(entry: Entry) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def _clean(text: str | None) -> str | None:
    # PostgreSQL cannot store NUL in text; a failed login's username is whatever the form sent.
    return None if text is None else text.replace("\x00", "\ufffd")


def record(
    *,
    db_session: Session,
    actor: str,
    agency: str | None,
    action: Action | str,
    resource: Resource | str,
    resource_id: str | None = None,
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an entry when ``db_session`` commits (nothing is written if it rolls back)."""
    pending: list[dict[str, Any]] = db_session.info.setdefault(_PENDING, [])
    pending.append(
        {
            "at": datetime.now(UTC),
            "actor": _clean(actor) or "",
            "agency": _clean(agency),
            "action": str(action),
            "resource": str(resource),
            "resource_id": _clean(resource_id),
            "allowed": allowed,
            # stored as it reads back, so that the hash written is the hash verified
            "detail": None if detail is None else json.loads(json.dumps(detail, allow_nan=False)),
        }
    )


def record_for(
    *,
    db_session: Session,
    principal: Principal,
    action: Action,
    resource: Resource,
    resource_id: str | None = None,
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> None:
    record(
        db_session=db_session,
        actor=principal.username,
        agency=principal.agency,
        action=action,
        resource=resource,
        resource_id=resource_id,
        allowed=allowed,
        detail=detail,
    )


def _tail(connection: Connection) -> tuple[int, str]:
    last = connection.execute(
        select(AuditRow.id, AuditRow.row_hash).order_by(AuditRow.id.desc()).limit(1)
    ).first()
    if last is None:
        return 0, GENESIS
    return int(last[0]), str(last[1] or "")


def _append_pending(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    connection = session.connection()
    hold_append_lock(connection, scope=_LOCK_SCOPE)
    last_id, prev_hash = _tail(connection)
    rows = []
    for offset, values in enumerate(pending, start=1):
        entry = Entry(id=last_id + offset, prev_hash=prev_hash, **values)
        prev_hash = row_digest(entry)
        rows.append({**values, "id": entry.id, "prev_hash": entry.prev_hash, "row_hash": prev_hash})
    connection.execute(insert(AuditRow), rows)


def _forget_pending(session: Session, _previous: object | None = None) -> None:
    session.info.pop(_PENDING, None)


event.listen(Session, "before_commit", _append_pending)
event.listen(Session, "after_rollback", _forget_pending)


def search(
    *,
    db_session: Session,
    agency: str | None = None,
    actor: str | None = None,
    resource: str | None = None,
    resource_id: str | None = None,
    denied_only: bool = False,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[AuditRow], int]:
    """Entries matching every filter given, newest first, and how many match in all."""
    query = select(AuditRow)
    if agency is not None:
        query = query.where(AuditRow.agency == agency)
    if actor is not None:
        query = query.where(AuditRow.actor == actor)
    if resource is not None:
        query = query.where(AuditRow.resource == resource)
    if resource_id is not None:
        query = query.where(AuditRow.resource_id == resource_id)
    if denied_only:
        query = query.where(AuditRow.allowed.is_(False))
    if since is not None:
        query = query.where(AuditRow.at >= since)
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db_session.scalars(query.order_by(AuditRow.id.desc()).limit(limit).offset(offset)).all()
    return rows, total


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What :func:`verify` found: how many rows it checked and the first bad one, if any."""

    rows: int
    first_bad: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def entry_of(row: Any) -> Entry:
    """The hashed part of a stored row (an ``AuditRow`` or a result row with its columns)."""
    return Entry(
        id=int(row.id),
        at=row.at,
        actor=row.actor,
        agency=row.agency,
        action=row.action,
        resource=row.resource,
        resource_id=row.resource_id,
        allowed=bool(row.allowed),
        detail=row.detail,
        prev_hash=row.prev_hash or "",
    )


def verify(*, connection: Connection, batch: int = 5000) -> ChainReport:
    """Walk the whole log in id order and check every link: each row's hash is the hash of its content,
    and its ``prev_hash`` is the hash of the row before it (``GENESIS`` for the first). Returns the first row
    that fails, with the reason: changed after it was written, or a row before it removed or inserted."""
    expected_prev = GENESIS
    previous_id: int | None = None
    count = 0
    result = connection.execution_options(yield_per=batch).execute(
        select(AuditRow.__table__).order_by(AuditRow.id)
    )
    for row in result:
        count += 1
        entry = entry_of(row)
        if entry.prev_hash != expected_prev:
            after = "the start of the log" if previous_id is None else f"row {previous_id}"
            return ChainReport(
                count,
                entry.id,
                f"row {entry.id} does not follow {after}: a row between them was removed or inserted, "
                f"or {after} was changed",
            )
        digest = row_digest(entry)
        if row.row_hash != digest:
            return ChainReport(
                count, entry.id, f"row {entry.id} does not match its hash: it was changed or forged"
            )
        expected_prev = digest
        previous_id = entry.id
    return ChainReport(count)
