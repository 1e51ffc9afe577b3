"""Issue #22, defect 7: logins back off per account and per address, lock after repeated failures until an
admin unlocks (API and CLI), and failures are audited under the targeted account's agency."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from borderwatch.access import audit
from borderwatch.access import login as logins
from borderwatch.access import service as access
from borderwatch.access.models import LoginThrottleRow, UserRow
from borderwatch.cli.main import app as cli
from borderwatch.core.settings import Settings, get_settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from tests.integration.api_support import PASSWORD, World, assert_error, build_world, client_for

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _try(engine: Engine, username: str, password: str, at: datetime, address: str = "10.0.0.1") -> str:
    """What a login attempt got: 'ok', 'credentials' or 'throttled:<seconds>' (committed like the web's)."""
    with session_scope(session_factory(engine)) as session:
        try:
            logins.log_in(db_session=session, username=username, password=password, address=address, now=at)
        except logins.LoginRefusedError as refused:
            return refused.reason + (f":{refused.retry_after}" if refused.retry_after else "")
    return "ok"


def test_account_backs_off_then_locks_until_an_admin_unlocks(engine: Engine) -> None:
    with session_scope(session_factory(engine)) as session:
        access.add_user(db_session=session, username="kim", role="inspector", agency="a", password=PASSWORD)
    at = T0
    seen = [_try(engine, "kim", "wrong password", at) for _ in range(3)]
    assert seen == ["credentials"] * 3  # three free failures
    assert _try(engine, "kim", PASSWORD, at) == "throttled:1"  # even the right password must wait
    waits = []
    for _ in range(6):  # failures 4..9, each after the wait the one before imposed
        wait = int(_try(engine, "kim", "wrong password", at).split(":")[1])
        waits.append(wait)
        at += timedelta(seconds=wait)
        assert _try(engine, "kim", "wrong password", at) == "credentials"
    assert waits == [1, 2, 4, 8, 16, 32]  # back-off doubles
    at += timedelta(seconds=64)
    assert _try(engine, "kim", "wrong password", at) == "credentials"  # the tenth: locked
    with session_scope(session_factory(engine)) as session:
        assert access.get_user(db_session=session, username="kim").locked_at is not None
    # locked: the right password is refused, hours later, with the same answer as a wrong one
    assert _try(engine, "kim", PASSWORD, at + timedelta(hours=5), address="10.0.0.2") == "credentials"
    with session_scope(session_factory(engine)) as session:
        logins.unlock(db_session=session, username="kim")
        with pytest.raises(access.AccessError, match="not locked"):
            logins.unlock(db_session=session, username="kim")
    assert _try(engine, "kim", PASSWORD, at + timedelta(hours=5), address="10.0.0.2") == "ok"
    with session_scope(session_factory(engine)) as session:
        # every failure is in agency a's log, for a's admins
        rows, total = audit.search(db_session=session, agency="a", resource="session", denied_only=True)
        assert total == 3 + 1 + 6 + 6 + 1 + 1
        assert {r.actor for r in rows} == {"kim"}
        reasons = [str((r.detail or {}).get("reason")) for r in rows]
        assert any("locked after 10 failures" in r for r in reasons) and "throttled" in reasons
        # the successful login restarted the account's count
        assert session.get(LoginThrottleRow, "account:kim") is None


def test_address_backs_off_across_usernames_and_unknown_names_count(engine: Engine) -> None:
    for i in range(10):
        assert _try(engine, f"guess{i}", "password guess", T0, address="192.0.2.7") == "credentials"
    assert _try(engine, "guess99", "password guess", T0, address="192.0.2.7").startswith("throttled")
    assert _try(engine, "guess99", "password guess", T0, address="192.0.2.8") == "credentials"
    # an address idle for the window starts again
    later = T0 + logins.ADDRESS_WINDOW + timedelta(seconds=1)
    assert _try(engine, "guess98", "password guess", later, address="192.0.2.7") == "credentials"
    with session_scope(session_factory(engine)) as session:
        assert session.get(LoginThrottleRow, "address:192.0.2.7").failures == 1  # type: ignore[union-attr]
        unknown = audit.search(db_session=session, actor="guess0", denied_only=True)[0]
        assert unknown[0].agency is None and (unknown[0].detail or {}).get("address") == "192.0.2.7"
        assert session.scalar(select(UserRow).where(UserRow.username == "guess0")) is None


def _login(client: object, username: str, password: str) -> object:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/api/me"},
        follow_redirects=False,
    )


@pytest.fixture
def world(settings: Settings) -> World:
    return build_world(settings, with_password=("supervisor_a",))


def test_workspace_login_is_throttled_and_admins_see_and_unlock(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from httpx2 import Response

    engine = make_engine(world.settings.database_url)
    with session_scope(session_factory(engine)) as session:
        # as if eight failures had just happened: the next attempt must wait 32 s
        session.add(
            LoginThrottleRow(key="account:supervisor_a", failures=8, last_failure_at=datetime.now(UTC))
        )
    with client_for(world.settings) as client:
        refused = _login(client, "supervisor_a", PASSWORD)
        assert isinstance(refused, Response)
        assert refused.headers["location"] == "/login?error=throttled"
        assert 0 < int(refused.headers["retry-after"]) <= 32
        assert "Too many failed attempts" in client.get("/login?error=throttled").text
        assert_error(client.get("/api/me"), 401)
        # a's admin sees the refused attempts on a's account; b's admin does not
        seen = client.get(
            "/api/audit?resource=session&denied_only=true", headers=world.auth("admin_a")
        ).json()
        assert seen["total"] == 1 and seen["items"][0]["actor"] == "supervisor_a"
        other = client.get("/api/audit?resource=session", headers=world.auth("admin_b")).json()
        assert other["total"] == 0
        with session_scope(session_factory(engine)) as session:
            user = access.get_user(db_session=session, username="supervisor_a")
            user.locked_at = datetime.now(UTC)
        users = client.get("/api/users", headers=world.auth("admin_a")).json()["items"]
        assert {u["username"]: u["locked"] for u in users}["supervisor_a"] is True
        assert_error(client.post("/api/users/supervisor_a/unlock", headers=world.auth("supervisor_b")), 403)
        assert_error(client.post("/api/users/supervisor_a/unlock", headers=world.auth("admin_b")), 404)
        unlocked = client.post("/api/users/supervisor_a/unlock", headers=world.auth("admin_a"))
        assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
        assert_error(client.post("/api/users/supervisor_a/unlock", headers=world.auth("admin_a")), 409)
        logged_in = _login(client, "supervisor_a", PASSWORD)
        assert isinstance(logged_in, Response) and logged_in.headers["location"] == "/api/me"
    # the CLI unlocks too
    with session_scope(session_factory(engine)) as session:
        access.get_user(db_session=session, username="supervisor_a").locked_at = datetime.now(UTC)
    engine.dispose()
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", world.settings.database_url)
    get_settings.cache_clear()
    try:
        listed = CliRunner().invoke(cli, ["users", "list"])
        assert "since" in listed.output
        assert CliRunner().invoke(cli, ["users", "unlock", "supervisor_a"]).exit_code == 0
        assert CliRunner().invoke(cli, ["users", "unlock", "supervisor_a"]).exit_code == 2
        assert CliRunner().invoke(cli, ["users", "unlock", "ghost"]).exit_code == 2
    finally:
        get_settings.cache_clear()
