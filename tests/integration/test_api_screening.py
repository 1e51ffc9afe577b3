"""Screening queries, a declaration's party hits, analysts' verdicts, and the party network."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.ingest.frame import DECLARATION_SCHEMA, conform
from borderwatch.screening.service import load_watchlist, screen_declarations, suppressed_pairs
from tests.integration.api_support import World, assert_error, build_world, client_for, seed


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings)
    seed(settings, agency="a", lrns=["A-001", "A-002"], tmp=tmp_path)
    seed(settings, agency="b", lrns=["B-001"], tmp=tmp_path)
    listing = tmp_path / "national.csv"
    listing.write_text(
        "id,name,kind,aliases,nationality\n"
        "1,Importer IMP1,organization,,KR\n"
        "2,Viktor Petrovich Bout,person,Victor Butt;Viktor Budd,RU\n",
        encoding="utf-8",
    )
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        load_watchlist(session=session, path=listing, fmt="csv", list_name="national")
    engine.dispose()
    return world


def test_screen_a_name_finds_the_listed_person(world: World) -> None:
    with client_for(world.settings) as client:
        response = client.post(
            "/api/screening",
            json={"name": "BOUT, Viktor", "kind": "person"},
            headers=world.auth("inspector_a"),
        )
        assert response.status_code == 200, response.text
        matches = response.json()["matches"]
        assert matches and matches[0]["entity_id"] == "national:2" and matches[0]["score"] >= 0.7
        nobody = client.post(
            "/api/screening", json={"name": "Maria Gonzales"}, headers=world.auth("analyst_a")
        )
        assert nobody.json()["matches"] == []
        assert_error(client.post("/api/screening", json={"name": ""}, headers=world.auth("analyst_a")), 422)
        assert_error(
            client.post(
                "/api/screening", json={"name": "x", "threshold": 7}, headers=world.auth("analyst_a")
            ),
            422,
        )
        assert_error(client.post("/api/screening", json={"name": "x"}), 401)


def test_declaration_party_hits_and_not_a_match_verdict(world: World) -> None:
    with client_for(world.settings) as client:
        hits = client.get("/api/declarations/A-001/screening", headers=world.auth("analyst_a")).json()
        assert [(h["role"], h["entity_id"]) for h in hits] == [("importer", "national:1")]
        assert_error(client.get("/api/declarations/B-001/screening", headers=world.auth("analyst_a")), 404)
        verdict = {"query_name": hits[0]["party_name"], "entity_id": "national:1", "decision": "not_match"}
        assert_error(
            client.post("/api/screening/decisions", json=verdict, headers=world.auth("inspector_a")), 403
        )
        recorded = client.post("/api/screening/decisions", json=verdict, headers=world.auth("analyst_a"))
        assert recorded.status_code == 201
        again = client.get("/api/declarations/A-001/screening", headers=world.auth("analyst_a")).json()
        assert again == []


def test_network_shows_the_importers_partners_of_the_own_agency_only(world: World) -> None:
    with client_for(world.settings) as client:
        graph = client.get("/api/declarations/A-001/network", headers=world.auth("analyst_a")).json()
        ids = {n["id"] for n in graph["nodes"]}
        assert "importer:IMP1" in ids and "declarant:DEC1" in ids and "seller:SEL1" in ids
        assert any(n["focus"] for n in graph["nodes"] if n["id"] == "importer:IMP1")
        assert graph["edges"]
        assert_error(client.get("/api/declarations/B-001/network", headers=world.auth("analyst_a")), 404)
        assert_error(
            client.get("/api/declarations/A-001/network?radius=9", headers=world.auth("analyst_a")), 422
        )


def test_another_agencys_not_a_match_never_hides_our_hits(world: World) -> None:
    """Issue #22, defect 1: agency b rules a hit out; agency a still sees it, in screening and in scoring."""
    with client_for(world.settings) as client:
        verdict = {"query_name": "Importer IMP1", "entity_id": "national:1", "decision": "not_match"}
        recorded = client.post("/api/screening/decisions", json=verdict, headers=world.auth("analyst_b"))
        assert recorded.status_code == 201, recorded.text
        # b's own screening no longer shows the hit it ruled out ...
        assert client.get("/api/declarations/B-001/screening", headers=world.auth("analyst_b")).json() == []
        # ... a's still does, for the declaration and for the name alone
        hits = client.get("/api/declarations/A-001/screening", headers=world.auth("analyst_a")).json()
        assert [(h["role"], h["entity_id"]) for h in hits] == [("importer", "national:1")]
        named = client.post("/api/screening", json={"name": "Importer IMP1"}, headers=world.auth("analyst_a"))
        assert [m["entity_id"] for m in named.json()["matches"]] == ["national:1"]
    engine = make_engine(world.settings.database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            assert suppressed_pairs(session=session, agency="b") == {("importer imp1", "national:1")}
            assert suppressed_pairs(session=session, agency="a") == set()
            frame = conform(pl.DataFrame({"lrn": ["A-001"]}), DECLARATION_SCHEMA)
            for_scoring = screen_declarations(engine=engine, session=session, declarations=frame, agency="a")
            assert for_scoring["entity_id"].to_list() == ["national:1"]
            frame_b = conform(pl.DataFrame({"lrn": ["B-001"]}), DECLARATION_SCHEMA)
            assert screen_declarations(
                engine=engine, session=session, declarations=frame_b, agency="b"
            ).is_empty()
    finally:
        engine.dispose()
