"""The worklist as a work tool: search, filters, sorting, paging and counts in SQL, CSV export, bulk
assignment, "my cases"; and /api/cases paged by the database."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from borderwatch.core.settings import Settings
from tests.integration.api_support import World, build_world, client_for, seed
from tests.integration.test_api_workspace import login


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings, with_password=("supervisor_a", "inspector_a", "analyst_a"))
    seed(settings, agency="a", lrns=["W1-001", "W1-002", "W1-003"], tmp=tmp_path, day=1)
    seed(settings, agency="a", lrns=["W2-001", "W2-002", "W2-003"], tmp=tmp_path, day=2)
    seed(settings, agency="b", lrns=["WB-001"], tmp=tmp_path, day=1)
    return world


def _lrns(html: str) -> list[str]:
    return re.findall(r'class="lrn">([^<]+)<', html)


def _total(html: str) -> int:
    found = re.search(r'<span id="total">(\d+)</span>', html)
    assert found is not None
    return int(found.group(1))


def test_search_filters_and_sorting(world: World) -> None:
    with client_for(world.settings) as client:
        login(client, "supervisor_a")
        everything = client.get("/worklist").text
        assert _total(everything) == 4 and "WB-001" not in everything  # red and yellow of agency a only
        assert set(_lrns(everything)) == {"W1-001", "W1-002", "W2-001", "W2-002"}
        assert _lrns(client.get("/worklist", params={"q": "w2-"}).text) == ["W2-001", "W2-002"]
        by_name = client.get("/worklist", params={"q": "importer imp1"}).text
        assert _total(by_name) == 4
        assert _total(client.get("/worklist", params={"q": "IMP1"}).text) == 4  # trader id
        assert _total(client.get("/worklist", params={"q": "6109"}).text) == 4  # HS code prefix
        assert _total(client.get("/worklist", params={"q": "8471"}).text) == 0
        assert _total(client.get("/worklist", params={"q": "100%_"}).text) == 0  # wildcards are literal
        red = client.get("/worklist", params={"lane": "red", "sort": "date", "order": "asc"}).text
        assert _lrns(red) == ["W1-001", "W2-001"]
        assert _lrns(client.get("/worklist", params={"lane": "red", "sort": "date"}).text) == [
            "W2-001",
            "W1-001",
        ]
        assert _lrns(client.get("/worklist", params={"since": "2026-03-02"}).text) == ["W2-001", "W2-002"]
        assert _total(client.get("/worklist", params={"min_score": "85"}).text) == 2  # the two scored 90
        green = client.get("/worklist", params={"lane": "green"}).text
        assert set(_lrns(green)) == {"W1-003", "W2-003"}
        assert _total(client.get("/worklist", params={"status": "none", "lane": "green"}).text) == 2
        assert client.get("/worklist", params={"sort": "nonsense"}).status_code == 422


def test_api_worklist_counts_and_pages_in_the_database(world: World) -> None:
    with client_for(world.settings) as client:
        headers = world.auth("analyst_a")
        page = client.get("/api/worklist", params={"limit": 1, "offset": 1}, headers=headers).json()
        assert page["total"] == 4 and len(page["items"]) == 1
        first = client.get("/api/worklist", params={"limit": 1}, headers=headers).json()
        assert first["items"][0]["lrn"] != page["items"][0]["lrn"]
        assert first["items"][0]["importer_id"] == "IMP1"
        searched = client.get("/api/worklist", params={"q": "W1-00"}, headers=headers).json()
        assert searched["total"] == 2
        cases = client.get("/api/cases", params={"limit": 1, "offset": 3}, headers=headers).json()
        assert cases["total"] == 4 and len(cases["items"]) == 1
        assert (
            client.get("/api/cases", params={"limit": 2, "offset": 4}, headers=headers).json()["items"] == []
        )


def test_csv_export_is_the_filtered_worklist_and_is_audited(world: World) -> None:
    with client_for(world.settings) as client:
        login(client, "supervisor_a")
        answer = client.get("/worklist.csv", params={"lane": "red"})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [r["lrn"] for r in rows] == _lrns(client.get("/worklist", params={"lane": "red"}).text)
        assert sorted(r["lrn"] for r in rows) == ["W1-001", "W2-001"]
        assert (
            rows[0]["lane"] == "red"
            and rows[0]["importer_id"] == "IMP1"
            and "reason 0a" in rows[0]["top_reasons"]
        )
        audit = client.get("/api/audit", params={"actor": "supervisor_a"}, headers=world.auth("admin_a"))
        assert any((e.get("detail") or {}).get("export") == "csv" for e in audit.json()["items"]), audit.text


def _case_ids(client: TestClient, lrns: list[str]) -> list[str]:
    html = client.get("/worklist").text
    ids = []
    for lrn in lrns:
        found = re.search(
            rf'name="case_id" value="(\d+)"[^>]*aria-label="select case \d+ \({re.escape(lrn)}\)"', html
        )
        assert found is not None, lrn
        ids.append(found.group(1))
    return ids


def test_bulk_assignment_and_my_cases(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "supervisor_a")
        ids = _case_ids(client, ["W1-001", "W2-002"])
        page = client.get("/worklist").text
        assert re.search(r'<option value="inspector_a">', page)
        assert not re.search(r'<option value="analyst_a">', page)  # analysts do not inspect
        refused = client.post(
            "/worklist/assign",
            data={"officer": "analyst_a", "case_id": ids, "csrf_token": csrf},
            headers={"accept": "text/html"},
        )
        assert refused.status_code == 422 and "analyst_a" in refused.text
        assert _total(client.get("/worklist", params={"officer": "analyst_a"}).text) == 0
        assert (
            client.post("/worklist/assign", data={"officer": "inspector_a", "case_id": ids}).status_code
            == 403
        )
        done = client.post(
            "/worklist/assign",
            data={"officer": "inspector_a", "case_id": ids, "csrf_token": csrf, "back": "/worklist?lane=red"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/worklist?lane=red&assigned=2"
        assigned = client.get("/worklist", params={"officer": "inspector_a"}).text
        assert sorted(_lrns(assigned)) == ["W1-001", "W2-002"]
        assert _total(client.get("/worklist", params={"status": "assigned"}).text) == 2
    with client_for(world.settings) as client:
        login(client, "inspector_a")
        mine = client.get("/worklist", params={"mine": "true"}).text
        assert "My cases" in mine and sorted(_lrns(mine)) == ["W1-001", "W2-002"]
        assert 'action="/worklist/assign"' in mine  # the policy lets inspectors assign (CASE update)
    with client_for(world.settings) as client:
        login(client, "analyst_a")
        page = client.get("/worklist").text
        assert _total(page) == 4 and 'action="/worklist/assign"' not in page and 'name="case_id"' not in page
