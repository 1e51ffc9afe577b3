"""Authentication, users, sessions with CSRF, and the audit log through the API and the CLI."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from borderwatch.cli.main import app as cli
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine
from tests.integration.api_support import PASSWORD, World, assert_error, build_world, client_for


@pytest.fixture
def world(settings: Settings) -> World:
    return build_world(settings, with_password=("supervisor_a",))


def test_unauthenticated_is_401_with_error_body(world: World) -> None:
    with client_for(world.settings) as client:
        for path in ("/api/me", "/api/users", "/api/audit"):
            error = assert_error(client.get(path), 401, "unauthenticated")
            assert "Bearer" in error["message"]
        assert_error(client.get("/api/me", headers={"Authorization": "Bearer bw_wrong"}), 401)
        assert_error(client.get("/api/me", headers={"Authorization": "Basic abc"}), 401)


def test_token_identifies_user_and_agency(world: World) -> None:
    with client_for(world.settings) as client:
        body = client.get("/api/me", headers=world.auth("inspector_b")).json()
    assert body == {"username": "inspector_b", "role": "inspector", "agency": "b", "via": "token"}


def test_admin_adds_user_to_own_agency_only_and_others_may_not(world: World) -> None:
    with client_for(world.settings) as client:
        new = {"username": "new_officer", "role": "inspector", "password": "quay lantern 4 mooring"}
        assert_error(
            client.post("/api/users", json=new, headers=world.auth("supervisor_a")), 403, "forbidden"
        )
        created = client.post("/api/users", json=new, headers=world.auth("admin_a"))
        assert created.status_code == 201, created.text
        assert created.json() == {
            "username": "new_officer",
            "role": "inspector",
            "agency": "a",
            "active": True,
            "locked": False,
        }
        assert "password" not in created.text
        assert_error(client.post("/api/users", json=new, headers=world.auth("admin_a")), 409, "conflict")
        short = {**new, "username": "other", "password": "short"}
        assert (
            assert_error(client.post("/api/users", json=short, headers=world.auth("admin_a")), 422)["field"]
            == "password"
        )
        listed = client.get("/api/users", headers=world.auth("admin_b")).json()
        assert {u["agency"] for u in listed["items"]} == {"b"}
        assert "new_officer" not in {u["username"] for u in listed["items"]}
        # admin of agency b cannot disable a user of agency a: it does not exist for them
        assert_error(client.post("/api/users/new_officer/disable", headers=world.auth("admin_b")), 404)
        disabled = client.post("/api/users/inspector_a/disable", headers=world.auth("admin_a"))
        assert disabled.json()["active"] is False
        assert_error(client.get("/api/me", headers=world.auth("inspector_a")), 401)


def test_audit_log_records_reads_and_denials_per_agency(world: World) -> None:
    with client_for(world.settings) as client:
        client.post("/api/users/x/disable", headers=world.auth("inspector_a"))  # denied: inspectors
        client.get("/api/users", headers=world.auth("admin_b"))
        entries = client.get("/api/audit", headers=world.auth("supervisor_a")).json()
        assert entries["total"] >= 1
        denied = [e for e in entries["items"] if not e["allowed"]]
        assert any(e["actor"] == "inspector_a" and e["resource"] == "user" for e in denied)
        assert all(e["agency"] == "a" for e in entries["items"])
        only = client.get(
            "/api/audit", params={"denied_only": True, "actor": "inspector_a"}, headers=world.auth("admin_a")
        ).json()
        assert only["total"] == 1 and only["items"][0]["allowed"] is False
        assert_error(client.get("/api/audit", headers=world.auth("analyst_a")), 403)
        assert_error(client.get("/api/audit?limit=0", headers=world.auth("admin_a")), 422, "validation_error")


def test_audit_log_is_append_only_in_the_database(world: World, database_url: str) -> None:
    with client_for(world.settings) as client:
        client.get("/api/users", headers=world.auth("admin_a"))
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("select count(*) from audit_log")).scalar_one() >= 1
        for statement in ("update audit_log set actor = 'someone else'", "delete from audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()


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


def test_session_cookie_is_secure_httponly_samesite_and_needs_csrf(world: World) -> None:
    with client_for(world.settings) as client:
        response = _login(client, "supervisor_a", PASSWORD)
        from httpx2 import Response

        assert isinstance(response, Response)
        assert response.status_code == 303 and response.headers["location"] == "/api/me"
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("bw_session="))
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags
        assert client.get("/api/me").json()["via"] == "session"
        # a state-changing request with the cookie but no CSRF header is refused
        assert_error(client.post("/api/users/analyst_a/disable"), 403, "csrf")
        assert_error(client.post("/api/users/analyst_a/disable", headers={"X-CSRF-Token": "nope"}), 403)


def test_wrong_password_and_forged_login_form_do_not_log_in(world: World) -> None:
    with client_for(world.settings) as client:
        response = _login(client, "supervisor_a", "wrong password!")
        from httpx2 import Response

        assert isinstance(response, Response)
        assert response.headers["location"] == "/login?error=credentials"
        assert_error(client.get("/api/me"), 401)
        forged = client.post(
            "/login",
            data={"username": "supervisor_a", "password": PASSWORD, "csrf_token": "forged"},
            follow_redirects=False,
        )
        assert forged.headers["location"] == "/login?error=expired"
        assert_error(client.get("/api/me"), 401)


def test_cli_users_tokens_and_audit(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", settings.database_url)
    from borderwatch.core.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    try:
        added = runner.invoke(cli, ["users", "add", "svc", "--role", "analyst", "--agency", "x", "--system"])
        assert added.exit_code == 0, added.output
        bad = runner.invoke(cli, ["users", "add", "p", "--role", "boss", "--agency", "x", "--system"])
        assert bad.exit_code == 2
        token = runner.invoke(cli, ["tokens", "create", "--user", "svc", "--name", "port system"])
        assert token.exit_code == 0, token.output
        secret = re.search(r"bw_\S+", token.output)
        assert secret is not None
        with client_for(settings) as client:
            me = client.get("/api/me", headers={"Authorization": f"Bearer {secret.group(0)}"})
            assert me.json()["username"] == "svc"
            listed = runner.invoke(cli, ["users", "list"])
            assert "svc" in listed.output and "system" in listed.output
            assert runner.invoke(cli, ["users", "disable", "svc"]).exit_code == 0
            assert_error(client.get("/api/me", headers={"Authorization": f"Bearer {secret.group(0)}"}), 401)
        missing = runner.invoke(cli, ["tokens", "create", "--user", "ghost", "--name", "x"])
        assert missing.exit_code == 2 and "ghost" in missing.output
        shown = runner.invoke(cli, ["audit", "--agency", "x"])
        assert shown.exit_code == 0 and "entries" in shown.output
        assert runner.invoke(cli, ["audit", "--since", "yesterday"]).exit_code == 2
    finally:
        get_settings.cache_clear()
