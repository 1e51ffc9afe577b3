"""Continuous selection: every arriving declaration gets a lane (and, if selected, a case) without any
command, whichever way it arrives; a strong sanctions hit holds it; an analyst reviews the hit; models are
promoted and rolled back. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.screening.service import load_watchlist
from tests.integration.api_support import (
    World,
    assert_error,
    build_world,
    client_for,
    declaration_json,
    register,
    train_model,
)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("model"))


@pytest.fixture
def world(settings: Settings, tmp_path: Path, model_path: Path) -> World:
    world = build_world(settings)
    register(settings, model_path, "a")
    listing = tmp_path / "sanctions.csv"
    listing.write_text(
        "id,name,kind,aliases,nationality\n1,Aerospace Parts Trading Company Ltd,organization,,IR\n",
        encoding="utf-8",
    )
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        load_watchlist(session=session, path=listing, fmt="csv", list_name="ofac")
    engine.dispose()
    return world


def sanctioned(lrn: str) -> dict[str, Any]:
    body = declaration_json(lrn, day=2)
    parties = body["parties"]
    assert isinstance(parties, dict)
    parties["seller"] = {"id": "SEL9", "name": "Aerospace Parts Trading Company Ltd", "country": "IR"}
    return body


def test_an_api_submission_gets_a_lane_and_a_case_at_once(world: World) -> None:
    with client_for(world.settings) as client:
        forced = {**declaration_json("S-KP", day=3), "transport": {"mode": "10", "origin_country": "KP"}}
        body = client.post("/api/declarations", json=forced, headers=world.auth("analyst_a")).json()
        assert body["lane"] == "red" and body["basis"] == "mandatory rule", body
        assert body["model_version"] is not None and body["note"] is None
        assert any("RP-SANCTIONED-ORIGIN" in r for r in body["reasons"])
        read = client.get("/api/declarations/S-KP", headers=world.auth("inspector_a")).json()
        assert read["decision"]["lane"] == "red" and [c["status"] for c in read["cases"]] == ["open"]
        again = client.post("/api/declarations", json=forced, headers=world.auth("analyst_a")).json()
        assert again["status"] == "duplicate" and again["lane"] is None  # its decision stands


def test_a_strong_sanctions_hit_holds_the_declaration_until_reviewed_and_released(world: World) -> None:
    with client_for(world.settings) as client:
        body = client.post(
            "/api/declarations", json=sanctioned("S-HIT"), headers=world.auth("analyst_a")
        ).json()
        assert body["lane"] == "red" and body["screening_hits"] == 1, body
        assert body["reasons"][0].startswith("screening: seller Aerospace Parts Trading Company Ltd")
        assert any("RP-SANCTIONS-HIT" in r for r in body["reasons"])
        queue = client.get("/api/screening/hits", headers=world.auth("analyst_a")).json()
        (hit,) = [h for h in queue["items"] if h["lrn"] == "S-HIT"]
        assert hit["status"] == "open" and hit["score"] >= 0.9 and hit["list_name"] == "ofac"
        assert client.get("/api/screening/hits", headers=world.auth("analyst_b")).json()["total"] == 0
        # no default verdict: one must be chosen
        assert_error(
            client.post(f"/api/screening/hits/{hit['id']}", json={}, headers=world.auth("analyst_a")), 422
        )
        assert_error(
            client.post(
                f"/api/screening/hits/{hit['id']}",
                json={"verdict": "confirmed"},
                headers=world.auth("analyst_b"),
            ),
            404,
        )
        confirmed = client.post(
            f"/api/screening/hits/{hit['id']}",
            json={"verdict": "confirmed", "note": "same registration number"},
            headers=world.auth("analyst_a"),
        ).json()
        assert confirmed["status"] == "confirmed" and confirmed["decided_by"] == "analyst_a"
        graph = client.get("/api/declarations/S-HIT/network", headers=world.auth("analyst_a")).json()
        (seller,) = [n for n in graph["nodes"] if n["id"] == "seller:SEL9"]
        assert seller["flagged"] and seller["screening"].startswith("ofac: "), seller
        assert seller["screening"].endswith("confirmed") and "⚠" in seller["label"]
        assert [n for n in graph["nodes"] if n.get("flagged")] == [seller]
        assert_error(
            client.post(
                f"/api/screening/hits/{hit['id']}",
                json={"verdict": "dismissed"},
                headers=world.auth("analyst_a"),
            ),
            409,
        )
        released = client.post(
            "/api/declarations/S-HIT/lane",
            json={"lane": "green", "reason": "licence checked with the ministry"},
            headers=world.auth("supervisor_a"),
        )
        assert released.status_code == 200 and released.json()["lane"] == "green"


def test_an_upload_and_a_quarantine_release_are_selected_without_a_command(world: World) -> None:
    good = [json.dumps(declaration_json(f"U-{i:03d}", day=4, value=1000.0 + 37 * i)) for i in range(40)]
    bad = json.dumps({**declaration_json("U-BAD", day=4), "office": ""})
    content = ("\n".join([*good, bad]) + "\n").encode()
    with client_for(world.settings) as client:
        job = client.post(
            "/api/uploads",
            files={"file": ("day.jsonl", content, "application/x-ndjson")},
            data={"format": "jsonl"},
            headers=world.auth("analyst_a"),
        ).json()
        result = client.get(f"/api/jobs/{job['id']}", headers=world.auth("analyst_a")).json()["result"]
        lanes = result["selection"]["lanes"]
        assert sum(lanes.values()) == 40 and result["selection"]["model_version"] is not None, result
        worklist = client.get("/api/worklist", headers=world.auth("inspector_a")).json()
        assert worklist["total"] == lanes["red"] + lanes["yellow"]
        (record,) = client.get("/api/quarantine", headers=world.auth("analyst_a")).json()
        assert record["record_key"] == "U-BAD" and record["field"] == "office"
        assert client.get("/api/quarantine", headers=world.auth("analyst_b")).json() == []
        released = client.post(
            f"/api/quarantine/{record['id']}/release", json={"value": "30"}, headers=world.auth("analyst_a")
        ).json()
        assert released["lrns"] == ["U-BAD"] and released["lane"] in ("red", "yellow", "green"), released
        read = client.get("/api/declarations/U-BAD", headers=world.auth("analyst_a")).json()
        assert read["decision"]["lane"] == released["lane"]


def test_a_retrained_model_waits_for_promotion_and_can_be_rolled_back(
    world: World, model_path: Path, tmp_path: Path
) -> None:
    from borderwatch.scoring.risk_model import RiskModel

    first = RiskModel.load(model_path)
    other = tmp_path / "other.json"
    text = json.loads(model_path.read_text(encoding="utf-8"))
    second = RiskModel.load(model_path)
    second.trained_until = None  # a different version string: a second registered model
    second.save(other)
    assert json.loads(other.read_text(encoding="utf-8")) != text
    newer = register(world.settings, other, "a")
    with client_for(world.settings) as client:
        listed = {
            m["version"]: m
            for m in client.get("/api/models", headers=world.auth("analyst_a")).json()["items"]
        }
        assert listed[first.version]["active"] and not listed[newer]["active"]
        assert_error(client.post(f"/api/models/{newer}/promote", headers=world.auth("analyst_a")), 403)
        promoted = client.post(f"/api/models/{newer}/promote", headers=world.auth("supervisor_a")).json()
        assert promoted["active"] and promoted["activated_by"] == "supervisor_a"
        scored = client.post(
            "/api/declarations", json=declaration_json("M-1", day=5), headers=world.auth("analyst_a")
        ).json()
        assert scored["model_version"] == newer
        report = client.get(f"/api/models/{newer}/report", headers=world.auth("analyst_a")).json()
        assert report["active"] and report["decisions"] == 1 and "training_rows" in report["metrics"]
        assert {"calibration", "ece", "psi", "lanes"} <= set(report)
        back = client.post("/api/models/rollback", headers=world.auth("supervisor_a")).json()
        assert back["version"] == first.version and back["active"]
        assert_error(client.post(f"/api/models/{newer}/promote", headers=world.auth("supervisor_b")), 404)


def test_an_outcome_date_must_be_on_or_after_the_declaration_and_not_in_the_future(world: World) -> None:
    with client_for(world.settings) as client:
        forced = {**declaration_json("D-KP", day=10), "transport": {"mode": "10", "origin_country": "KP"}}
        assert (
            client.post("/api/declarations", json=forced, headers=world.auth("analyst_a")).json()["lane"]
            == "red"
        )
        (case,) = client.get("/api/declarations/D-KP", headers=world.auth("inspector_a")).json()["cases"]
        url = f"/api/cases/{case['id']}/outcome"
        inspector = world.auth("inspector_a")
        future = client.post(
            url, json={"result": "no_finding", "recorded_on": "2999-01-01"}, headers=inspector
        )
        assert assert_error(future, 422)["field"] == "recorded_on"
        early = client.post(
            url, json={"result": "no_finding", "recorded_on": "2026-03-09"}, headers=inspector
        )
        error = assert_error(early, 422)
        assert error["field"] == "recorded_on" and "2026-03-10" in error["message"]
        same_day = client.post(
            url, json={"result": "no_finding", "recorded_on": "2026-03-10"}, headers=inspector
        )
        assert same_day.status_code == 201, same_day.text


def test_a_declared_vehicle_on_a_hotlist_adds_a_reason_and_a_profile_forces_red(
    world: World, tmp_path: Path
) -> None:
    import datetime as dt

    from borderwatch.scoring.profile_store import agency_profiles_dir, write_profile
    from borderwatch.scoring.profiles import parse_profiles
    from borderwatch.vehicles import service as vehicles

    files = {
        "cameras.csv": "camera_id,crossing,lane,direction,latitude,longitude,name\n"
        "C1,DOVER,1,in,51.1,1.3,east\n",
        "hot.csv": "plate,country,reason,reference\nAB12CDE,GB,stolen vehicle,PNC-1\n",
        "declared.csv": "lrn,plate,country,crossing,declared_at\n"
        "V-HOT,AB12CDE,GB,DOVER,2026-03-02T09:00:00Z\nV-CLEAN,KL34MNO,GB,DOVER,2026-03-02T09:00:00Z\n",
        "reads.csv": "read_id,camera_id,read_at,plate,country,confidence,direction\n"
        "r1,C1,2026-03-02T10:00:00Z,AB12 CDE,GB,0.97,in\nr2,C1,2026-03-02T10:01:00Z,KL34MNO,GB,0.97,in\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    engine = make_engine(world.settings.database_url)
    factory = session_factory(engine)
    with session_scope(factory) as session:
        vehicles.load_cameras(session=session, agency="a", path=tmp_path / "cameras.csv")
        vehicles.load_hotlist(session=session, agency="a", list_name="national", path=tmp_path / "hot.csv")
        vehicles.load_declared_vehicles(session=session, agency="a", path=tmp_path / "declared.csv")
    with session_scope(factory) as session:
        now = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
        assert (
            vehicles.ingest_reads(session=session, agency="a", path=tmp_path / "reads.csv", now=now).alerts
            == 1
        )
    engine.dispose()
    (profile,) = parse_profiles(
        {
            "profiles": [
                {
                    "id": "RP-VEHICLE-HOTLIST",
                    "name": "Declared vehicle on a hotlist",
                    "rationale": "a stolen or wanted vehicle carries the goods",
                    "author": "risk-unit",
                    "when": {"all": [{"field": "vehicle_hotlist", "op": "gt", "value": 0}]},
                    "effect": {"force_lane": "red"},
                }
            ]
        },
        source="test",
    )
    write_profile(agency_profiles_dir(world.settings.data_dir, "a"), profile)
    with client_for(world.settings) as client:
        hot = client.post(
            "/api/declarations", json=declaration_json("V-HOT", day=2), headers=world.auth("analyst_a")
        ).json()
        clean = client.post(
            "/api/declarations", json=declaration_json("V-CLEAN", day=2), headers=world.auth("analyst_a")
        ).json()
        # a supervisor's re-run of the day applies the same checks as the arrival did
        rerun = client.post(
            "/api/lanes/rerun", json={"day": "2026-03-02"}, headers=world.auth("supervisor_a")
        )
        assert rerun.status_code == 200, rerun.text
        again = client.get("/api/declarations/V-HOT", headers=world.auth("analyst_a")).json()
        assert again["decision"]["lane"] == "red", again["decision"]
    assert hot["lane"] == "red", hot
    assert any(r.startswith("vehicle AB12CDE: hotlist national") for r in hot["reasons"]), hot
    assert any("RP-VEHICLE-HOTLIST" in r for r in hot["reasons"]), hot
    assert not any(r.startswith("vehicle ") or "RP-VEHICLE-HOTLIST" in r for r in clean["reasons"]), clean
