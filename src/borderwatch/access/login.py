"""Logging in with a password: back-off per account and per client address, a lock after repeated failures,
and an audit entry for every attempt, under the agency of the account it targeted.

- Each failure counts against the account (``account:NAME``, whether or not it exists, so the answer does not
  tell) and against the client address (``address:IP``).
- After ``ACCOUNT_FREE`` failures of an account (``ADDRESS_FREE`` of an address) each further attempt must
  wait ``2 ** (n - free)`` seconds after the last failure, up to ``MAX_WAIT``; an attempt that comes earlier
  is refused without checking the password (no argon2 work for a flood).
- ``LOCK_AFTER`` failures of an existing account lock it: even the right password is refused until an admin
  unlocks it (``borderwatch users unlock``, ``POST /api/users/{username}/unlock``).
- A success restarts the account's count; an address's count restarts once it has been idle
  ``ADDRESS_WINDOW``.

A locked account is answered like a wrong password, so that the answer does not tell which accounts exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from borderwatch.access import audit
from borderwatch.access.models import LoginThrottleRow, UserRow
from borderwatch.access.policy import Action, Principal, Resource
from borderwatch.access.service import AccessError, authenticate_password, get_user

ACCOUNT_FREE = 3
ADDRESS_FREE = 10
LOCK_AFTER = 10
MAX_WAIT = timedelta(minutes=15)
ADDRESS_WINDOW = timedelta(hours=1)


class LoginRefusedError(Exception):
    """Why a login was refused: ``credentials`` (wrong username or password, or a locked account) or
    ``throttled`` (too many failures: try again after ``retry_after`` seconds)."""

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(reason)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def backoff(failures: int, *, free: int) -> timedelta:
    """How long after the last failure the next attempt must wait, after ``failures`` failures."""
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 20)), MAX_WAIT)


def _keys(username: str, address: str | None) -> dict[str, int]:
    keys = {f"account:{username}"[:200]: ACCOUNT_FREE}
    if address:
        keys[f"address:{address}"[:200]] = ADDRESS_FREE
    return keys


def retry_after(*, db_session: Session, username: str, address: str | None, now: datetime) -> int:
    """Seconds the next attempt for ``username`` from ``address`` must still wait (0: it may go ahead)."""
    keys = _keys(username, address)
    wait = timedelta(0)
    for row in db_session.scalars(select(LoginThrottleRow).where(LoginThrottleRow.key.in_(list(keys)))):
        last = _utc(row.last_failure_at)
        if row.key.startswith("address:") and now - last > ADDRESS_WINDOW:
            continue
        wait = max(wait, last + backoff(row.failures, free=keys[row.key]) - now)
    return int(wait.total_seconds() + 0.999)


def _count_failure(db_session: Session, key: str, now: datetime) -> None:
    # One statement, so that concurrent failures all count.
    dialect = db_session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(LoginThrottleRow).values(key=key, failures=1, last_failure_at=now)
    failures: ColumnElement[int] = LoginThrottleRow.failures + 1
    if key.startswith("address:"):  # an address idle for ADDRESS_WINDOW starts again
        restart = LoginThrottleRow.last_failure_at < now - ADDRESS_WINDOW
        failures = case((restart, 1), else_=LoginThrottleRow.failures + 1)
    db_session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"], set_={"failures": failures, "last_failure_at": now}
        )
    )


def log_in(
    *, db_session: Session, username: str, password: str, address: str | None, now: datetime | None = None
) -> Principal:
    """The principal for a correct password of an active, unlocked user allowed to try now; otherwise
    raises :class:`LoginRefusedError`. Every attempt is audited (a refusal under the targeted account's
    agency, so that its admins see it); the caller commits the session, refused or not."""
    now = now or datetime.now(UTC)
    user = db_session.scalar(select(UserRow).where(UserRow.username == username))
    agency = user.agency if user is not None else None
    wait = retry_after(db_session=db_session, username=username, address=address, now=now)
    if wait > 0:
        _audit(db_session, username, agency, address, allowed=False, reason="throttled", retry_after=wait)
        raise LoginRefusedError("throttled", wait)
    principal = authenticate_password(db_session=db_session, username=username, password=password)
    if principal is not None and user is not None and user.locked_at is None:
        db_session.execute(
            delete(LoginThrottleRow).where(LoginThrottleRow.key == f"account:{username}"[:200])
        )
        _audit(db_session, username, agency, address, allowed=True, reason=None)
        return principal
    for key in _keys(username, address):
        _count_failure(db_session, key, now)
    reason = "locked account" if user is not None and user.locked_at is not None else "wrong password"
    if user is None:
        reason = "no such user"
    elif user.locked_at is None:
        failures = db_session.scalar(
            select(LoginThrottleRow.failures).where(LoginThrottleRow.key == f"account:{username}"[:200])
        )
        if (failures or 0) >= LOCK_AFTER:
            user.locked_at = now
            reason = f"wrong password; account locked after {failures} failures"
    _audit(db_session, username, agency, address, allowed=False, reason=reason)
    raise LoginRefusedError("credentials")


def _audit(
    db_session: Session,
    username: str,
    agency: str | None,
    address: str | None,
    *,
    allowed: bool,
    reason: str | None,
    retry_after: int | None = None,
) -> None:
    detail: dict[str, object] = {"address": address}
    if reason is not None:
        detail["reason"] = reason
    if retry_after is not None:
        detail["retry_after"] = retry_after
    audit.record(
        db_session=db_session,
        actor=username,
        agency=agency,
        action=Action.CREATE,
        resource=Resource.SESSION,
        allowed=allowed,
        detail=detail,
    )


def unlock(*, db_session: Session, username: str) -> UserRow:
    """Unlock a user locked after failed logins and restart their count (an admin's action)."""
    user = get_user(db_session=db_session, username=username)
    if user.locked_at is None:
        raise AccessError(f"user {username!r} is not locked", field="username")
    user.locked_at = None
    db_session.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key == f"account:{username}"[:200]))
    db_session.flush()
    return user
