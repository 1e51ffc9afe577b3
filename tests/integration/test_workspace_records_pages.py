"""A trader's page, quarantine review and release in the browser, and the users and audit pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine
from borderwatch.ingest.service import ingest_file, list_quarantine
from tests.integration.api_support import World, build_world, client_for, declaration_json, seed
from tests.integration.test_api_workspace import login

PAGE = {"accept": "text/html"}


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings, with_password=("admin_a", "analyst_a", "inspector_a"))
    seed(settings, agency="a", lrns=["T-001", "T-002", "T-003"], tmp=tmp_path)
    seed(settings, agency="b", lrns=["TB-001"], tmp=tmp_path)
    return world


def test_trader_page_shows_declarations_outcomes_and_timeline(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "inspector_a")
        declaration = client.get("/declarations/T-001").text
        assert 'href="/traders/IMP1"' in declaration
        case = re.search(r'action="/cases/(\d+)/outcome"', declaration)
        assert case is not None
        client.post(
            f"/cases/{case.group(1)}/outcome",
            data={"result": "seizure", "goods": "shoes", "csrf_token": csrf},
            follow_redirects=False,
        )
        page = client.get("/traders/IMP1").text
        assert "Importer IMP1" in page and "Korea" in page  # the name and the country, spelled out
        assert re.search(r'id="trader-total">3<', page) and re.search(r'id="trader-frauds">1<', page)
        assert set(re.findall(r'class="lrn">([^<]+)<', page)) == {"T-001", "T-002", "T-003"}
        assert "TB-001" not in page
        assert "fraud found" in page and "declared" in page  # the timeline
        assert "/declarations/T-00" in page and "network.json" in page
        assert client.get("/traders/SEL1").status_code == 200  # a seller is a trader too
        assert client.get("/traders/NOBODY", headers=PAGE).status_code == 404


def _quarantine_one(settings: Settings, tmp: Path) -> int:
    bad = declaration_json("Q-001")
    bad["items"][0]["hs_code"] = "61X910"  # type: ignore[index]
    path = tmp / "bad.jsonl"
    path.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    engine = make_engine(settings.database_url)
    try:
        ingest_file(engine=engine, path=path, fmt="jsonl", agency="a")
        held = list_quarantine(engine=engine, agency="a")
        assert list_quarantine(engine=engine, agency="b") == []
    finally:
        engine.dispose()
    assert len(held) == 1
    return held[0].id


def test_quarantine_review_and_release(world: World, tmp_path: Path) -> None:
    record = _quarantine_one(world.settings, tmp_path)
    with client_for(world.settings) as client:
        csrf = login(client, "analyst_a")
        page = client.get("/quarantine").text
        assert f'id="quarantine-{record}"' in page and "61X910" in page
        field = re.search(r"<strong>([^<]+)</strong>: ", page)
        assert field is not None and "hs_code" in field.group(1)
        still_bad = client.post(
            f"/quarantine/{record}/release", data={"value": "ABC", "csrf_token": csrf}, headers=PAGE
        )
        assert still_bad.status_code == 422 and "still rejected" in still_bad.text
        released = client.post(
            f"/quarantine/{record}/release",
            data={"value": "610910", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert released.status_code == 303, released.text
        assert (
            released.status_code == 303 and released.headers["location"] == f"/quarantine?released={record}"
        )
        assert f'id="quarantine-{record}"' not in client.get("/quarantine").text
        assert client.get("/api/declarations/Q-001", headers=world.auth("analyst_a")).status_code == 200
    with client_for(world.settings) as client:
        csrf = login(client, "inspector_a")  # inspectors read the quarantine but do not release
        assert 'action="/quarantine/' not in client.get("/quarantine", params={"status": "all"}).text
        assert client.post(f"/quarantine/{record}/release", data={"csrf_token": csrf}).status_code == 403


def test_admin_manages_users_and_reads_the_audit_log(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "admin_a")
        users = client.get("/admin/users").text
        assert "inspector_a" in users and "inspector_b" not in users
        weak = client.post(
            "/admin/users",
            data={"username": "ines", "role": "inspector", "password": "short", "csrf_token": csrf},
            headers=PAGE,
        )
        assert weak.status_code == 422 and "password" in weak.text
        added = client.post(
            "/admin/users",
            data={"username": "ines", "role": "inspector", "password": "", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert added.status_code == 303
        assert "ines added" in client.get(added.headers["location"]).text
        disabled = client.post("/admin/users/ines/disable", data={"csrf_token": csrf}, follow_redirects=False)
        assert disabled.status_code == 303
        assert (
            client.post(
                "/admin/users/inspector_b/disable", data={"csrf_token": csrf}, headers=PAGE
            ).status_code
            == 404
        )
        audit = client.get("/admin/audit", params={"resource": "user"}).text
        assert "ines" in audit and "inspector_b" in audit and "refused" in audit
        mine = client.get("/admin/audit", params={"actor": "admin_a", "denied_only": "true"}).text
        assert re.search(r'id="total">[1-9]', mine)
    with client_for(world.settings) as client:
        login(client, "analyst_a")
        assert client.get("/admin/users", headers=PAGE).status_code == 403
        assert client.get("/admin/audit", headers=PAGE).status_code == 403
