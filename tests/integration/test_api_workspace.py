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
        htmx = {"HX-Request": "true"}
        missing_goods = client.post(url, data={"result": "seizure", "csrf_token": csrf}, headers=htmx)
        assert missing_goods.status_code == 422 and "must name the goods" in missing_goods.text
        done = client.post(url, data={**seizure, "csrf_token": csrf}, headers=htmx)
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


def test_analyst_uploads_with_progress_and_edits_a_profile(settings: Settings) -> None:
    import json

    from tests.integration.api_support import declaration_json

    world = build_world(settings, with_password=("analyst_a",))
    with client_for(world.settings) as client:
        csrf = login(client, "analyst_a")
        assert 'hx-encoding="multipart/form-data"' in client.get("/upload").text
        content = "\n".join(json.dumps(declaration_json(f"W-{i}")) for i in range(5)).encode()
        files = {"file": ("week.jsonl", content, "application/x-ndjson")}
        assert client.post("/upload", files=files, data={"format": "jsonl"}).status_code == 403  # no CSRF
        started = client.post(
            "/upload",
            files=files,
            data={"format": "jsonl", "csrf_token": csrf},
            headers={"HX-Request": "true"},
        )
        job_id = re.search(r'id="job-([0-9a-f]+)"', started.text)
        assert job_id is not None
        fragment = client.get(f"/jobs/{job_id.group(1)}").text
        assert "done" in fragment and "stored 5" in fragment and 'aria-valuenow="100"' in fragment
        text = "id: RP-UI\nname: Textiles\nrationale: undervaluation\nauthor: ana\n"
        bad = client.post(
            "/profiles", data={"text": text + "effect: {}\nwhen: {all: []}\n", "csrf_token": csrf}
        )
        assert bad.status_code == 422 and "effect" in bad.text
        good = text + "when: {all: [{field: hs2, op: eq, value: '61'}]}\neffect: {add_points: 5}\n"
        saved = client.post("/profiles", data={"text": good, "csrf_token": csrf}, follow_redirects=False)
        assert saved.status_code == 303 and "RP-UI" in saved.headers["location"]
        assert "RP-UI" in client.get("/profiles").text
        assert client.get("/api/profiles/RP-UI").json()["effect"]["add_points"] == 5
