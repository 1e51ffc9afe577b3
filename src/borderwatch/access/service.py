"""Users, API tokens, browser sessions and agencies: plain functions with keyword-only arguments."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from borderwatch.access.models import AgencyRow, ApiTokenRow, UserRow, WebSessionRow
from borderwatch.access.policy import Principal, Role
from borderwatch.core.errors import BorderwatchError, NotFoundError

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
AGENCY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_PASSWORD = 10
SESSION_LIFETIME = timedelta(hours=8)
TOKEN_PREFIX = "bw_"

_hasher = PasswordHasher()


class AccessError(BorderwatchError):
    """A user, token or password that cannot be accepted; the message says why in one sentence."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


# zxcvbn's score: 3 is "safely unguessable: moderate protection from an offline slow-hash scenario"
# (about 10^8 guesses and more), what an argon2-hashed password needs.
MIN_STRENGTH = 3
_STRENGTH_CHARACTERS = 72  # zxcvbn refuses longer input; the first 72 characters decide the estimate


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn's own list of the 30,000 most common passwords (from leaked password sets), shipped in the
    # package: nothing is downloaded.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, *, user_inputs: Sequence[str] = ()) -> None:
    """Refuse (``AccessError`` on field ``password``) a password that is short, common, or easy to guess.

    Common: one of zxcvbn's 30,000 most common passwords, ignoring case. Easy to guess: zxcvbn's estimate
    below ``MIN_STRENGTH``, counting the ``user_inputs`` (username, agency) as known to an attacker."""
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"password must have at least {MIN_PASSWORD} characters", field="password")
    if password.lower() in _common_passwords():
        raise AccessError("password is one of the most common passwords; choose another", field="password")
    from zxcvbn import zxcvbn

    estimate = zxcvbn(password[:_STRENGTH_CHARACTERS], user_inputs=[u for u in user_inputs if u])
    if int(estimate["score"]) < MIN_STRENGTH:
        hint = estimate["feedback"].get("warning") or "add more words or characters that are hard to guess"
        raise AccessError(f"password is too easy to guess: {str(hint).rstrip('.')}", field="password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    """SHA-256 of a random secret (API token or session id): what the database keeps instead of it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def ensure_agency(*, db_session: Session, code: str, name: str | None = None) -> AgencyRow:
    if not AGENCY.match(code):
        raise AccessError(f"agency code {code!r} must be 1-64 letters, digits, '-' or '_'", field="agency")
    row = db_session.get(AgencyRow, code)
    if row is None:
        row = AgencyRow(code=code, name=name or code)
        db_session.add(row)
        db_session.flush()
    return row


def add_user(
    *, db_session: Session, username: str, role: Role | str, agency: str, password: str | None
) -> UserRow:
    """A new active user; ``password`` None makes a system account that can only use API tokens."""
    if not USERNAME.match(username):
        raise AccessError(f"username {username!r} must be 2-64 letters, digits or . _ @ -", field="username")
    try:
        role = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise AccessError(f"role {role!r} is not one of {roles}", field="role") from None
    if password is not None:
        check_password(password, user_inputs=(username, agency))
    if db_session.scalar(select(UserRow).where(UserRow.username == username)) is not None:
        raise AccessError(f"user {username!r} already exists", field="username")
    ensure_agency(db_session=db_session, code=agency)
    user = UserRow(
        username=username,
        role=role.value,
        agency=agency,
        password_hash=hash_password(password) if password is not None else None,
        active=True,
    )
    db_session.add(user)
    db_session.flush()
    return user


def get_user(*, db_session: Session, username: str) -> UserRow:
    user = db_session.scalar(select(UserRow).where(UserRow.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def list_users(*, db_session: Session, agency: str | None = None) -> Sequence[UserRow]:
    query = select(UserRow).order_by(UserRow.agency, UserRow.username)
    if agency is not None:
        query = query.where(UserRow.agency == agency)
    return db_session.scalars(query).all()


def set_active(*, db_session: Session, username: str, active: bool) -> UserRow:
    """Disable (or re-enable) a user; disabling also ends their browser sessions.

    Refuses (``AccessError``) to disable the last active administrator of an agency: nobody could then add,
    unlock or re-enable its users."""
    user = get_user(db_session=db_session, username=username)
    if not active and user.active and user.role == Role.ADMIN:
        others = db_session.scalar(
            select(func.count())
            .select_from(UserRow)
            .where(
                UserRow.agency == user.agency,
                UserRow.role == Role.ADMIN.value,
                UserRow.active.is_(True),
                UserRow.id != user.id,
            )
        )
        if not others:
            raise AccessError(
                f"{username!r} is the last active admin of agency {user.agency!r}; add or enable another "
                "admin first",
                field="username",
            )
    user.active = active
    if not active:
        for row in db_session.scalars(select(WebSessionRow).where(WebSessionRow.user_id == user.id)):
            db_session.delete(row)
    db_session.flush()
    return user


def active_user_of(*, db_session: Session, username: str, agency: str) -> UserRow | None:
    """The active user ``username`` of ``agency``; None when there is none (absent, disabled or another
    agency's: callers answer all three alike)."""
    return db_session.scalar(
        select(UserRow).where(
            UserRow.username == username, UserRow.agency == agency, UserRow.active.is_(True)
        )
    )


def ensure_admin(*, db_session: Session, username: str, password: str, agency: str) -> UserRow:
    """The first administrator (what the demo calls); an existing user of that name is left as it is."""
    existing = db_session.scalar(select(UserRow).where(UserRow.username == username))
    if existing is not None:
        return existing
    return add_user(
        db_session=db_session, username=username, role=Role.ADMIN, agency=agency, password=password
    )


def principal_of(user: UserRow, *, via: str) -> Principal:
    return Principal(
        user_id=user.id, username=user.username, role=Role(user.role), agency=user.agency, via=via
    )


def authenticate_password(*, db_session: Session, username: str, password: str) -> Principal | None:
    """The principal for a correct username and password of an active user, else None."""
    user = db_session.scalar(select(UserRow).where(UserRow.username == username))
    if user is None or not user.active or user.password_hash is None:
        # Spend the same time as a real check so that response time does not reveal which users exist.
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    return principal_of(user, via="session")


_DUMMY_HASH = _hasher.hash("not a password anyone has")


def create_token(
    *, db_session: Session, username: str, name: str, days: int | None = None
) -> tuple[ApiTokenRow, str]:
    """A new API token for ``username``: the row and the secret, which is shown once and never stored."""
    user = get_user(db_session=db_session, username=username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    row = ApiTokenRow(
        user_id=user.id, name=name, token_hash=digest(secret), prefix=secret[:8], expires_at=expires
    )
    db_session.add(row)
    db_session.flush()
    return row, secret


def authenticate_token(*, db_session: Session, token: str) -> Principal | None:
    row = db_session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest(token)))
    if row is None or row.revoked or _expired(row.expires_at):
        return None
    user = db_session.get(UserRow, row.user_id)
    if user is None or not user.active:
        return None
    return principal_of(user, via="token")


def revoke_token(*, db_session: Session, prefix: str) -> int:
    rows = db_session.scalars(select(ApiTokenRow).where(ApiTokenRow.prefix == prefix)).all()
    for row in rows:
        row.revoked = True
    db_session.flush()
    return len(rows)


def open_session(*, db_session: Session, principal: Principal) -> tuple[str, str]:
    """A new browser session: the cookie value (secret) and its CSRF token."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    db_session.add(
        WebSessionRow(
            session_hash=digest(secret),
            user_id=principal.user_id,
            csrf_token=csrf,
            expires_at=datetime.now(UTC) + SESSION_LIFETIME,
        )
    )
    db_session.flush()
    return secret, csrf


def resolve_session(*, db_session: Session, secret: str) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session cookie, else None."""
    row = db_session.scalar(select(WebSessionRow).where(WebSessionRow.session_hash == digest(secret)))
    if row is None or _expired(row.expires_at):
        return None
    user = db_session.get(UserRow, row.user_id)
    if user is None or not user.active:
        return None
    return principal_of(user, via="session"), row.csrf_token


def close_session(*, db_session: Session, secret: str) -> None:
    row = db_session.scalar(select(WebSessionRow).where(WebSessionRow.session_hash == digest(secret)))
    if row is not None:
        db_session.delete(row)
        db_session.flush()


def _expired(moment: datetime | None) -> bool:
    if moment is None:
        return False
    if moment.tzinfo is None:  # SQLite returns naive datetimes; they were stored in UTC
        moment = moment.replace(tzinfo=UTC)
    return moment <= datetime.now(UTC)
