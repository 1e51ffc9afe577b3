"""Risk profile CRUD: validated by the scoring stage's parser, only analysts and above may change them."""

from __future__ import annotations

from typing import Any

import pytest

from borderwatch.core.settings import Settings
from borderwatch.scoring.profiles import load_profiles
from borderwatch.web.services.profiles import profiles_dir
from tests.integration.api_support import World, assert_error, build_world, client_for


@pytest.fixture
def world(settings: Settings) -> World:
    return build_world(settings)


def rule(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "RP-TEST-1",
        "name": "Textiles from CN",
        "rationale": "Undervaluation of garments",
        "author": "risk-unit",
        "when": {"all": [{"field": "hs2", "op": "in", "value": ["61", "62"]}]},
        "effect": {"add_points": 12},
    }
    return {**base, **changes}


def test_analyst_creates_reads_replaces_and_deletes_a_profile(world: World) -> None:
    with client_for(world.settings) as client:
        created = client.post("/api/profiles", json=rule(), headers=world.auth("analyst_a"))
        assert created.status_code == 201, created.text
        assert created.json()["effect"]["add_points"] == 12
        # what the API wrote is what the scoring stage loads
        stored = {p.id: p for p in load_profiles(profiles_dir(world.settings, "a"))}
        assert stored["RP-TEST-1"].effect.add_points == 12
        assert client.get("/api/profiles/RP-TEST-1", headers=world.auth("inspector_a")).json()["name"] == (
            "Textiles from CN"
        )
        assert_error(client.post("/api/profiles", json=rule(), headers=world.auth("analyst_a")), 409)
        replaced = client.put(
            "/api/profiles/RP-TEST-1",
            json=rule(effect={"force_lane": "red"}),
            headers=world.auth("supervisor_a"),
        )
        assert replaced.status_code == 200 and replaced.json()["effect"]["force_lane"] == "red"
        listed = client.get("/api/profiles", headers=world.auth("analyst_a")).json()
        assert "RP-TEST-1" in {p["id"] for p in listed["items"]}
        assert client.delete("/api/profiles/RP-TEST-1", headers=world.auth("analyst_a")).status_code == 204
        assert_error(client.get("/api/profiles/RP-TEST-1", headers=world.auth("analyst_a")), 404)


def test_inspector_cannot_edit_risk_profiles(world: World) -> None:
    with client_for(world.settings) as client:
        assert_error(
            client.post("/api/profiles", json=rule(), headers=world.auth("inspector_a")), 403, "forbidden"
        )
        client.post("/api/profiles", json=rule(), headers=world.auth("analyst_a"))
        assert_error(
            client.put("/api/profiles/RP-TEST-1", json=rule(), headers=world.auth("inspector_a")), 403
        )
        assert_error(client.delete("/api/profiles/RP-TEST-1", headers=world.auth("inspector_a")), 403)
        assert client.get("/api/profiles/RP-TEST-1", headers=world.auth("analyst_a")).status_code == 200


def test_agencies_have_separate_profiles(world: World) -> None:
    with client_for(world.settings) as client:
        client.post("/api/profiles", json=rule(), headers=world.auth("analyst_a"))
        assert_error(client.get("/api/profiles/RP-TEST-1", headers=world.auth("analyst_b")), 404)
        assert_error(client.delete("/api/profiles/RP-TEST-1", headers=world.auth("supervisor_b")), 404)
        assert_error(
            client.put("/api/profiles/RP-TEST-1", json=rule(), headers=world.auth("supervisor_b")), 404
        )
    assert "RP-TEST-1" in {p.id for p in load_profiles(profiles_dir(world.settings, "a"))}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (rule(effect={}), "effect"),
        (rule(when={"all": [{"field": "no_such_field", "op": "eq", "value": 1}]}), "when"),
        (rule(valid_from="2026-02-01", valid_to="2026-01-01"), None),
        (rule(id="../../etc/passwd"), "id"),
        (rule(name=""), "name"),
        ({"id": "X"}, None),
    ],
)
def test_invalid_profiles_are_refused_naming_the_field(
    world: World, body: dict[str, Any], field: str | None
) -> None:
    with client_for(world.settings) as client:
        error = assert_error(client.post("/api/profiles", json=body, headers=world.auth("analyst_a")), 422)
    if field is not None:
        assert error["field"] is not None and error["field"].startswith(field), error
    assert not (profiles_dir(world.settings, "a") / "passwd.yaml").exists()
