"""Issue #22, defect 9: "not yours" and "not there" are one answer for every record fetched by id, so that
agency b cannot tell agency a's ids from made-up ones. Also item 11: a case is only assigned to an officer
of its agency, and no agency loses its last active admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from borderwatch.access.models import JobRow
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.inspections.models import CaseRow
from borderwatch.scoring.models import RiskModelRow
from tests.integration.api_support import World, assert_error, build_world, client_for, seed


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings)
    seed(settings, agency="a", lrns=["A-001", "A-002"], tmp=tmp_path)
    seed(settings, agency="b", lrns=["B-001"], tmp=tmp_path)
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        session.add(
            RiskModelRow(
                version="a-model-1",
                agency="a",
                seed=1,
                features=[],
                metrics={},
                params={},
                path=str(tmp_path / "model.json"),
            )
        )
        session.add(JobRow(id="job-of-a", kind="upload", agency="a", created_by="analyst_a", status="done"))
    engine.dispose()
    return world


def _case_of(settings: Settings, agency: str) -> int:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            return int(session.scalars(select(CaseRow.id).where(CaseRow.agency == agency)).first() or 0)
    finally:
        engine.dispose()


def test_another_agencys_id_and_a_random_id_get_the_same_answer(world: World) -> None:
    case_a = _case_of(world.settings, "a")
    assert case_a
    outcome = {"result": "no_finding"}
    # (who in agency b asks, method, path with {id}, a's real id, a made-up id, body)
    probes: list[tuple[str, str, str, str, str, dict[str, Any] | None]] = [
        ("analyst_b", "GET", "/api/declarations/{id}", "A-001", "A-999", None),
        ("analyst_b", "GET", "/api/declarations/{id}/screening", "A-001", "A-999", None),
        ("analyst_b", "GET", "/api/declarations/{id}/network", "A-001", "A-999", None),
        (
            "supervisor_b",
            "POST",
            "/api/declarations/{id}/lane",
            "A-001",
            "A-999",
            {"lane": "red", "reason": "x" * 5},
        ),
        ("supervisor_b", "GET", "/api/cases/{id}", str(case_a), "987654", None),
        ("supervisor_b", "POST", "/api/cases/{id}/assign", str(case_a), "987654", {"officer": "inspector_b"}),
        ("inspector_b", "POST", "/api/cases/{id}/outcome", str(case_a), "987654", outcome),
        ("analyst_b", "GET", "/api/models/{id}", "a-model-1", "a-model-9", None),
        ("analyst_b", "GET", "/api/jobs/{id}", "job-of-a", "job-of-z", None),
        ("analyst_b", "GET", "/api/profiles/{id}", "RP-A-1", "RP-A-9", None),
        ("analyst_b", "DELETE", "/api/profiles/{id}", "RP-A-1", "RP-A-9", None),
        ("admin_b", "POST", "/api/users/{id}/disable", "analyst_a", "analyst_z", None),
        ("admin_b", "POST", "/api/users/{id}/unlock", "analyst_a", "analyst_z", None),
    ]
    with client_for(world.settings) as client:
        profile = {
            "id": "RP-A-1",
            "name": "Textiles",
            "rationale": "Undervaluation",
            "author": "risk-unit",
            "when": {"all": [{"field": "hs2", "op": "in", "value": ["61"]}]},
            "effect": {"add_points": 5},
        }
        assert client.post("/api/profiles", json=profile, headers=world.auth("analyst_a")).status_code == 201
        for who, method, path, real, made_up, body in probes:
            answers = [
                client.request(method, path.format(id=ident), json=body, headers=world.auth(who))
                for ident in (real, made_up)
            ]
            theirs, nobodys = answers
            assert theirs.status_code == nobodys.status_code == 404, (path, theirs.text, nobodys.text)
            assert theirs.json() == nobodys.json(), (path, theirs.text, nobodys.text)
            assert_error(theirs, 404, "not_found")
            assert real not in theirs.text
        # a's records are untouched and still a's
        assert client.get(f"/api/cases/{case_a}", headers=world.auth("supervisor_a")).status_code == 200
        assert client.get("/api/profiles/RP-A-1", headers=world.auth("analyst_a")).status_code == 200


def test_a_case_is_assigned_only_to_an_active_officer_of_its_agency(world: World) -> None:
    case_a = _case_of(world.settings, "a")
    with client_for(world.settings) as client:
        for officer in ("nobody_at_all", "inspector_b", "analyst_a"):  # absent, foreign, may not inspect
            refused = client.post(
                f"/api/cases/{case_a}/assign", json={"officer": officer}, headers=world.auth("supervisor_a")
            )
            assert assert_error(refused, 422)["field"] == "officer"
        assert client.post("/api/users/inspector_a/disable", headers=world.auth("admin_a")).status_code == 200
        disabled = client.post(
            f"/api/cases/{case_a}/assign", json={"officer": "inspector_a"}, headers=world.auth("supervisor_a")
        )
        assert_error(disabled, 422)
        assigned = client.post(
            f"/api/cases/{case_a}/assign",
            json={"officer": "supervisor_a"},
            headers=world.auth("supervisor_a"),
        )
        assert assigned.status_code == 200 and assigned.json()["officer"] == "supervisor_a"


def test_an_agency_keeps_an_active_admin(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from borderwatch.cli.main import app as cli
    from borderwatch.core.settings import get_settings

    with client_for(world.settings) as client:
        itself = client.post("/api/users/admin_a/disable", headers=world.auth("admin_a"))
        assert "last active admin" in assert_error(itself, 409, "conflict")["message"]
        assert client.get("/api/me", headers=world.auth("admin_a")).status_code == 200
        added = client.post(
            "/api/users",
            json={"username": "admin2_a", "role": "admin", "password": "quay lantern 4 mooring"},
            headers=world.auth("admin_a"),
        )
        assert added.status_code == 201, added.text
        # with a second admin, one may go
        assert client.post("/api/users/admin_a/disable", headers=world.auth("admin_a")).status_code == 200
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", world.settings.database_url)
    get_settings.cache_clear()
    try:
        last = CliRunner().invoke(cli, ["users", "disable", "admin2_a"])
        assert last.exit_code == 2 and "last active admin" in last.output
        assert CliRunner().invoke(cli, ["users", "disable", "admin_b"]).exit_code == 2
        assert CliRunner().invoke(cli, ["users", "enable", "admin_a"]).exit_code == 0
        assert CliRunner().invoke(cli, ["users", "disable", "admin2_a"]).exit_code == 0
    finally:
        get_settings.cache_clear()
