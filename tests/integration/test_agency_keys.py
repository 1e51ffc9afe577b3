"""Per-agency keys (#17 item 5): an LRN is unique within an agency, not across agencies. Two agencies submit
declarations under the same LRN and each sees only its own declaration, score, lane, case and outcome, on
SQLite and PostgreSQL; a database at the previous heads keeps its rows through the upgrade."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

from borderwatch.access.audit import search
from borderwatch.core.settings import Settings
from borderwatch.db.session import alembic_config, make_engine, migrate
from borderwatch.ingest.edifact.cusres import Answer, read_cusres
from borderwatch.ingest.edifact.syntax import Message, read_messages
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import ingest_declarations
from borderwatch.ingest.store import load_declarations, load_outcomes
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
def world(settings: Settings, model_path: Path) -> World:
    world = build_world(settings)
    register(settings, model_path, "a")  # b has no model: its declarations get rules-only scores
    return world


def test_two_agencies_use_the_same_lrn_and_each_sees_its_own(world: World) -> None:
    # a's declaration is forced red by a mandatory rule (origin KP); b's, same LRN, is an ordinary one.
    mine = {
        **declaration_json("SAME-1", day=3, value=1000.0),
        "transport": {"mode": "10", "origin_country": "KP"},
    }
    theirs = declaration_json("SAME-1", day=4, value=77.0, importer="IMPB")
    with client_for(world.settings) as client:
        a = client.post("/api/declarations", json=mine, headers=world.auth("analyst_a")).json()
        b = client.post("/api/declarations", json=theirs, headers=world.auth("analyst_b")).json()
        assert a["status"] == "stored" and a["lane"] == "red", a
        assert b["status"] == "stored", b  # not quarantined, not an amendment of a's
        read_a = client.get("/api/declarations/SAME-1", headers=world.auth("inspector_a")).json()
        read_b = client.get("/api/declarations/SAME-1", headers=world.auth("inspector_b")).json()
        # each agency's answer (CUSRES and JSON) is its own decision
        answer_a = client.get("/api/declarations/SAME-1/answer", headers=world.auth("supervisor_a"))
        answer_b = client.get("/api/declarations/SAME-1/answer", headers=world.auth("supervisor_b"))
        cusres_a = client.get(
            "/api/declarations/SAME-1/answer",
            params={"format": "cusres", "recipient": "PCS-1"},
            headers=world.auth("supervisor_a"),
        )
        assert_error(client.get("/api/declarations/NOPE/answer", headers=world.auth("supervisor_a")), 404)
        # answering a trader is a supervisor's act: an inspector reads the declaration, sends no answer
        assert_error(client.get("/api/declarations/SAME-1/answer", headers=world.auth("inspector_a")), 403)
    assert (read_a["agency"], read_a["version"], read_a["items"][0]["customs_value"]) == ("a", 1, 1000.0)
    assert (read_b["agency"], read_b["version"], read_b["items"][0]["customs_value"]) == ("b", 1, 77.0)
    assert read_a["parties"]["importer"]["id"] == "IMP1" and read_b["parties"]["importer"]["id"] == "IMPB"
    assert read_a["decision"]["lane"] == "red" and read_a["decision"]["basis"] == "mandatory rule"
    assert read_b["decision"]["basis"] != "mandatory rule"
    assert read_a["latest_score"] is not None and read_b["latest_score"] is not None
    assert read_a["latest_score"]["forced_lane"] == "red" and read_b["latest_score"]["forced_lane"] is None
    assert [c["status"] for c in read_a["cases"]] == ["open"]
    assert all(c["id"] not in {x["id"] for x in read_a["cases"]} for c in read_b["cases"])
    assert answer_a.status_code == 200 and answer_b.status_code == 200
    assert (answer_a.json()["lane"], answer_a.json()["basis"]) == ("red", "mandatory rule")
    assert answer_a.json()["case_status"] == "open"
    assert (answer_b.json()["lane"], answer_b.json()["basis"]) == (
        read_b["decision"]["lane"],
        read_b["decision"]["basis"],
    )
    assert cusres_a.headers["content-type"].startswith("application/EDIFACT")
    assert b"+PCS-1'" in cusres_a.content or b"+PCS-1:" in cusres_a.content
    (message,) = [m for m in read_messages(io.BytesIO(cusres_a.content)) if isinstance(m, Message)]
    back = read_cusres(message)
    assert back == Answer.model_validate(answer_a.json()).model_copy(update={"decided_at": back.decided_at})
    engine = make_engine(world.settings.database_url)
    try:
        with Session(engine) as session:
            entries, _ = search(db_session=session, resource="lane", resource_id="SAME-1")
        assert sorted((e.agency, e.actor, e.allowed) for e in entries) == [
            ("a", "supervisor_a", True),
            ("a", "supervisor_a", True),
            ("b", "supervisor_b", True),
        ]
        # b amends its own declaration; a's stays as it was
        ingest_declarations(
            engine=engine,
            declarations=[Declaration.model_validate(declaration_json("SAME-1", day=4, value=88.0))],
            agency="b",
        )
        assert load_declarations(engine, agency="a", lrns=["SAME-1"])["customs_value"].to_list() == [1000.0]
        assert load_declarations(engine, agency="b", lrns=["SAME-1"])["customs_value"].to_list() == [88.0]
        with engine.connect() as connection:
            versions = connection.execute(
                text(
                    "SELECT agency, version, is_current FROM declarations WHERE lrn = 'SAME-1' ORDER BY 1, 2"
                )
            ).all()
        assert [(r[0], r[1], bool(r[2])) for r in versions] == [
            ("a", 1, True),
            ("b", 1, False),
            ("b", 2, True),
        ]
    finally:
        engine.dispose()


def test_outcomes_of_the_same_lrn_stay_with_their_agency(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    try:
        for agency, value in (("a", 1000.0), ("b", 5.0)):
            ingest_declarations(
                engine=engine,
                declarations=[Declaration.model_validate(declaration_json("X1", value=value))],
                agency=agency,
            )
        path = tmp_path / "outcomes.jsonl"
        path.write_text('{"lrn": "X1", "recorded_on": "2026-03-05", "fraud": true}\n')
        from borderwatch.ingest.service import ingest_file

        result = ingest_file(engine=engine, path=path, fmt="jsonl", agency="b")
        assert (result.outcomes, result.quarantined) == (1, 0)
        assert load_outcomes(engine, agency="b")["lrn"].to_list() == ["X1"]
        assert load_outcomes(engine, agency="a").is_empty()
        # the same outcome line again for a: a's own, stored once
        assert ingest_file(engine=engine, path=path, fmt="jsonl", agency="a").outcomes == 1
        assert ingest_file(engine=engine, path=path, fmt="jsonl", agency="a").outcomes == 0
        assert load_outcomes(engine, agency="a")["recorded_on"].to_list() == [date(2026, 3, 5)]
    finally:
        engine.dispose()


PREVIOUS_HEADS = ("ingest_01_manifest_lines", "rel_server_01_workspace_indexes")


def test_upgrade_from_the_previous_heads_keeps_the_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        config = alembic_config(engine)
        for previous in PREVIOUS_HEADS:
            command.downgrade(config, previous)
        with engine.begin() as connection:
            names = {r[0] for r in connection.execute(text("SELECT version_num FROM alembic_version"))}
            assert set(PREVIOUS_HEADS) <= names and not names & {
                "ingest_02_agency_keys",
                "lanes_01_agency_keys",
            }
            connection.execute(
                text(
                    "INSERT INTO declarations (lrn, version, is_current, content_hash, agency,"
                    " declared_on, office) VALUES ('OLD-1', 1, TRUE, 'h', 'a', '2026-01-02', '30')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO outcomes (lrn, agency, recorded_on, fraud, critical_fraud, source)"
                    " VALUES ('OLD-1', 'a', '2026-01-05', TRUE, 0, 'inspection')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO lane_decisions (id, lrn, agency, declared_on, office, lane, basis,"
                    " selection_probability, policy_version, is_current, control, aeo, decided_by)"
                    " VALUES (1, 'OLD-1', 'a', '2026-01-02', '30', 'red', 'rule', 1.0, 'p1', TRUE, FALSE,"
                    " FALSE, 'system')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO inspection_cases (id, agency, lrn, decision_id, lane, status)"
                    " VALUES (1, 'a', 'OLD-1', 1, 'red', 'open')"
                )
            )
        migrate(engine)
        with engine.connect() as connection:
            for table in ("declarations", "outcomes", "lane_decisions", "inspection_cases"):
                assert connection.execute(text(f"SELECT agency, lrn FROM {table}")).all() == [("a", "OLD-1")]
        # and the new key holds: b may now use OLD-1, a may not store version 1 twice
        ingest_declarations(
            engine=engine, declarations=[Declaration.model_validate(declaration_json("OLD-1"))], agency="b"
        )
        assert load_declarations(engine, agency="b")["lrn"].to_list() == ["OLD-1"]
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO declarations (lrn, version, is_current, content_hash, agency,"
                    " declared_on, office) VALUES ('OLD-1', 1, FALSE, 'h2', 'a', '2026-01-02', '30')"
                )
            )
    finally:
        engine.dispose()
