"""The server-rendered workspace: login, pages, forms with CSRF, and the HTML error pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from borderwatch.core.settings import Settings
from tests.integration.api_support import PASSWORD, World, build_world, client_for, seed


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings, with_password=("inspector_a",))
    seed(settings, agency="a", lrns=["A-001", "A-002", "A-003"], tmp=tmp_path)
    seed(settings, agency="b", lrns=["B-001"], tmp=tmp_path)
    return world


def login(client: TestClient, username: str) -> str:
    """Log in through the form; returns the session's CSRF token as the pages embed it."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 200 and "Worklist" in response.text
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', response.text)
    assert found is not None
    return found.group(1)


def test_pages_need_a_session(world: World) -> None:
    with client_for(world.settings) as client:
        response = client.get("/worklist", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_worklist_declaration_and_case_form(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "inspector_a")
        worklist = client.get("/worklist").text
        assert worklist.index("A-001") < worklist.index("A-002")
        assert "reason 0a" in worklist and "B-001" not in worklist
        page = client.get("/declarations/A-001")
        assert page.status_code == 200 and "explanation-spec" in page.text and "outcome-form" in page.text
        case_id = re.search(r'hx-post="/cases/(\d+)/outcome"', page.text)
        assert case_id is not None
        url = f"/cases/{case_id.group(1)}/outcome"
        seizure = {"result": "seizure", "goods": "cigarettes", "duty_recovered": "900"}
        refused = client.post(url, data=seizure)
        assert refused.status_code == 403 and "expired" in refused.text  # no CSRF token
        missing_goods = client.post(url, data={"result": "seizure", "csrf_token": csrf})
        assert "must name the goods" in missing_goods.text
        done = client.post(url, data={**seizure, "csrf_token": csrf})
        assert 'id="case-closed"' in done.text and "cigarettes" in done.text
        after = client.get("/declarations/A-001").text
        assert "Fraud" in after and "outcome-form" not in after
        other = client.get("/declarations/B-001", headers={"accept": "text/html"})
        assert other.status_code == 404 and "no declaration" in other.text


def test_profile_editor_refuses_inspectors_and_upload_page(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "inspector_a")
        assert "Inspectors can read risk profiles" in client.get("/profiles").text
        text = (
            "id: RP-X\nname: x\nrationale: y\nauthor: z\nwhen: {all: [{field: hs2, op: eq, value: '61'}]}\n"
        )
        text += "effect: {add_points: 5}\n"
        denied = client.post(
            "/profiles", data={"text": text, "csrf_token": csrf}, headers={"accept": "text/html"}
        )
        assert denied.status_code == 403
        assert client.get("/upload", headers={"accept": "text/html"}).status_code == 403
        assert client.get("/screening-nothing", headers={"accept": "text/html"}).status_code == 404
