"""Declarations, the worklist and cases through the API, including agency separation and roles."""

from __future__ import annotations

from pathlib import Path

import pytest

from borderwatch.core.settings import Settings
from tests.integration.api_support import World, assert_error, build_world, client_for, seed

A_LRNS = ["A-001", "A-002", "A-003"]
B_LRNS = ["B-001", "B-002"]


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings)
    seed(settings, agency="a", lrns=A_LRNS, tmp=tmp_path)
    seed(settings, agency="b", lrns=B_LRNS, tmp=tmp_path)
    return world


def test_declaration_has_score_reasons_lane_and_case(world: World) -> None:
    with client_for(world.settings) as client:
        response = client.get("/api/declarations/A-001", headers=world.auth("analyst_a"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["lrn"] == "A-001" and body["agency"] == "a"
    assert body["items"][0]["hs_code"] == "610910"
    assert body["parties"]["importer"]["id"] == "IMP1"
    decision = body["decision"]
    assert decision["lane"] == "red" and decision["score"] == pytest.approx(90.0)
    assert decision["reasons"][0] == "reason 0a"
    assert [c["status"] for c in body["cases"]] == ["open"]


def test_other_agencys_declaration_is_not_found_and_audited(world: World) -> None:
    with client_for(world.settings) as client:
        assert_error(client.get("/api/declarations/B-001", headers=world.auth("admin_a")), 404, "not_found")
        assert_error(client.get("/api/declarations/NOPE", headers=world.auth("admin_a")), 404)
        audit = client.get(
            "/api/audit", params={"resource_id": "B-001", "denied_only": True}, headers=world.auth("admin_a")
        ).json()
    assert audit["total"] == 1 and audit["items"][0]["actor"] == "admin_a"


def test_worklist_is_red_and_yellow_riskiest_first_with_top_reasons(world: World) -> None:
    with client_for(world.settings) as client:
        body = client.get("/api/worklist", headers=world.auth("inspector_a")).json()
        assert [i["lrn"] for i in body["items"]] == ["A-001", "A-002"]  # A-003 is green
        assert [i["lane"] for i in body["items"]] == ["red", "yellow"]
        assert body["items"][0]["top_reasons"] == ["reason 0a", "reason 0b", "reason 0c"]
        assert all(i["case_status"] == "open" for i in body["items"])
        only_yellow = client.get("/api/worklist?lane=yellow", headers=world.auth("inspector_a")).json()
        assert [i["lrn"] for i in only_yellow["items"]] == ["A-002"]
        paged = client.get("/api/worklist?limit=1&offset=1", headers=world.auth("inspector_a")).json()
        assert paged["total"] == 2 and [i["lrn"] for i in paged["items"]] == ["A-002"]
        other = client.get("/api/worklist", headers=world.auth("inspector_b")).json()
        assert {i["lrn"] for i in other["items"]} <= set(B_LRNS)
        assert_error(client.get("/api/worklist?lane=purple", headers=world.auth("inspector_a")), 422)
        assert_error(client.get("/api/worklist?since=yesterday", headers=world.auth("inspector_a")), 422)


def _case_of(client: object, world: World, lrn: str, user: str) -> int:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    items = client.get("/api/worklist", headers=world.auth(user)).json()["items"]
    case_id = next(i["case_id"] for i in items if i["lrn"] == lrn)
    assert isinstance(case_id, int)
    return case_id


def test_inspector_records_a_seizure_which_becomes_the_outcome(world: World) -> None:
    seizure = {"result": "seizure", "goods": "counterfeit shirts", "quantity": 300, "duty_recovered": 1250.5}
    with client_for(world.settings) as client:
        case_id = _case_of(client, world, "A-001", "inspector_a")
        assert_error(
            client.post(f"/api/cases/{case_id}/outcome", json=seizure, headers=world.auth("analyst_a")), 403
        )
        assert_error(
            client.post(f"/api/cases/{case_id}/outcome", json=seizure, headers=world.auth("inspector_b")), 404
        )
        no_goods = {"result": "seizure"}
        error = assert_error(
            client.post(f"/api/cases/{case_id}/outcome", json=no_goods, headers=world.auth("inspector_a")),
            422,
        )
        assert error["field"] == "goods"
        done = client.post(f"/api/cases/{case_id}/outcome", json=seizure, headers=world.auth("inspector_a"))
        assert done.status_code == 201, done.text
        case = done.json()
        assert case["status"] == "closed" and case["findings"][0]["goods"] == "counterfeit shirts"
        assert [h["status"] for h in case["history"]] == ["open", "closed"]
        again = client.post(f"/api/cases/{case_id}/outcome", json=seizure, headers=world.auth("inspector_a"))
        assert_error(again, 409, "conflict")
        declaration = client.get("/api/declarations/A-001", headers=world.auth("analyst_a")).json()
        assert declaration["outcomes"][0]["fraud"] is True
        assert declaration["outcomes"][0]["duty_recovered"] == pytest.approx(1250.5)
        open_only = client.get("/api/worklist?open_only=true", headers=world.auth("inspector_a")).json()
        assert "A-001" not in {i["lrn"] for i in open_only["items"]}


def test_cases_list_assign_and_bad_input(world: World) -> None:
    with client_for(world.settings) as client:
        listed = client.get("/api/cases", headers=world.auth("supervisor_a")).json()
        assert listed["total"] == 2 and {c["lrn"] for c in listed["items"]} == {"A-001", "A-002"}
        case_id = listed["items"][0]["id"]
        assigned = client.post(
            f"/api/cases/{case_id}/assign",
            json={"officer": "inspector_a"},
            headers=world.auth("supervisor_a"),
        )
        assert assigned.json()["officer"] == "inspector_a" and assigned.json()["status"] == "assigned"
        assert_error(
            client.post(
                f"/api/cases/{case_id}/assign", json={"officer": "x"}, headers=world.auth("analyst_a")
            ),
            403,
        )
        assert_error(client.get(f"/api/cases/{case_id}", headers=world.auth("supervisor_b")), 404)
        assert_error(
            client.get("/api/cases/abc", headers=world.auth("supervisor_a")), 422, "validation_error"
        )
        bad = client.post(
            f"/api/cases/{case_id}/outcome", json={"result": "bribe"}, headers=world.auth("inspector_a")
        )
        assert assert_error(bad, 422)["field"] == "result"
        assert_error(
            client.post(
                f"/api/cases/{case_id}/outcome",
                content=b"{not json",
                headers={**world.auth("inspector_a"), "content-type": "application/json"},
            ),
            422,
        )
        assert_error(client.get("/api/cases?status=lost", headers=world.auth("supervisor_a")), 422)
