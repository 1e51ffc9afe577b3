"""Submitting declarations over HTTP: stored through the ingest service, scored with the registered model."""

from __future__ import annotations

import json
import math
import re
import shutil
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, migrate, session_factory
from borderwatch.scoring.registry import latest_scores
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
def world(settings: Settings) -> World:
    return build_world(settings)


def test_submitted_declaration_is_stored_and_scored_with_reasons(world: World, model_path: Path) -> None:
    version = register(world.settings, model_path, "a")
    with client_for(world.settings) as client:
        response = client.post(
            "/api/declarations", json=declaration_json("S-001", value=10.0), headers=world.auth("analyst_a")
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "stored" and body["model_version"] == version
        assert 0 <= body["score"] <= 100 and 0 <= body["fraud_probability"] <= 1
        assert isinstance(body["reasons"], list)
        stored = client.get("/api/declarations/S-001", headers=world.auth("analyst_a")).json()
        assert stored["latest_score"]["score"] == pytest.approx(body["score"])
        assert stored["latest_score"]["model_version"] == version
        again = client.post(
            "/api/declarations", json=declaration_json("S-001", value=10.0), headers=world.auth("analyst_a")
        )
        assert again.json()["status"] == "duplicate"
        amended = client.post(
            "/api/declarations", json=declaration_json("S-001", value=99.0), headers=world.auth("analyst_a")
        )
        assert amended.json()["status"] == "amended"
        assert client.get("/api/declarations/S-001", headers=world.auth("analyst_a")).json()["version"] == 2
        assert_error(client.get("/api/models", headers=world.auth("inspector_a")), 403)
        models = client.get("/api/models", headers=world.auth("supervisor_a")).json()
        assert [m["version"] for m in models["items"]] == [version]
        assert client.get(f"/api/models/{version}", headers=world.auth("analyst_a")).json()["features"]
        assert_error(client.get(f"/api/models/{version}", headers=world.auth("analyst_b")), 404)
        assert client.get("/api/models", headers=world.auth("analyst_b")).json()["total"] == 0


def test_batch_submission_scores_each_declaration(world: World, model_path: Path) -> None:
    register(world.settings, model_path, "a")
    batch = [declaration_json(f"S-{i:03d}", value=100.0 * (i + 1)) for i in range(25)]
    with client_for(world.settings) as client:
        response = client.post("/api/declarations/batch", json=batch, headers=world.auth("analyst_a"))
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["stored"] == 25 and len(body["items"]) == 25
        assert all(item["score"] is not None for item in body["items"])
        duplicate_lrn = [declaration_json("X-1"), declaration_json("X-1")]
        assert_error(
            client.post("/api/declarations/batch", json=duplicate_lrn, headers=world.auth("analyst_a")), 422
        )
        assert_error(client.post("/api/declarations/batch", json=[], headers=world.auth("analyst_a")), 422)


def test_without_a_model_the_declaration_gets_a_lane_from_the_profiles_and_says_so(world: World) -> None:
    with client_for(world.settings) as client:
        body = client.post(
            "/api/declarations", json=declaration_json("N-001"), headers=world.auth("analyst_b")
        ).json()
        assert body["model_version"] is None and "no active model" in body["note"]
        assert body["fraud_probability"] == 0.0 and body["reasons"][0].startswith("no active model")
        assert body["lane"] in ("red", "yellow", "green") and body["basis"]
        assert client.get("/api/declarations/N-001", headers=world.auth("analyst_b")).json()["agency"] == "b"
        assert_error(client.get("/api/declarations/N-001", headers=world.auth("analyst_a")), 404)


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"items": [{"hs_code": "12", "customs_value": 1, "currency": "KRW"}]}, "items.0.hs_code"),
    ({"transport": {"origin_country": "QQ"}}, "transport.origin_country"),
    ({"items": [{"hs_code": "610910", "customs_value": -5, "currency": "KRW"}]}, "items.0.customs_value"),
    ({"date": "2026-13-01"}, "date"),
    ({"items": []}, "items"),
    ({"unexpected": 1}, "unexpected"),
]


def test_invalid_declarations_get_the_error_body_with_the_field(world: World) -> None:
    with client_for(world.settings) as client:
        for change, field in INVALID:
            response = client.post(
                "/api/declarations",
                json={**declaration_json("BAD-1"), **change},
                headers=world.auth("analyst_a"),
            )
            error = assert_error(response, 422, "validation_error")
            assert error["field"] == field, error
        assert_error(client.get("/api/declarations/BAD-1", headers=world.auth("analyst_a")), 404)
        assert_error(
            client.post("/api/declarations", json=declaration_json("Z"), headers=world.auth("inspector_a")),
            403,
        )
        assert_error(client.post("/api/declarations", json=declaration_json("Z")), 401)


def test_supervisor_assigns_lanes_and_overrides_one_with_a_reason(world: World, model_path: Path) -> None:
    register(world.settings, model_path, "a")
    batch = [declaration_json(f"L-{i:03d}", value=50.0 * (i + 1), day=3) for i in range(30)]
    period = {"since": "2026-03-03", "until": "2026-03-03"}
    with client_for(world.settings) as client:
        client.post("/api/declarations/batch", json=batch, headers=world.auth("analyst_a"))
        assert_error(client.post("/api/lanes/assign", json=period, headers=world.auth("analyst_a")), 403)
        assigned = client.post("/api/lanes/assign", json=period, headers=world.auth("supervisor_a"))
        assert assigned.status_code == 200, assigned.text
        counts = assigned.json()
        assert counts["decisions"] == 30 and counts["red"] + counts["yellow"] + counts["green"] == 30
        worklist = client.get("/api/worklist", headers=world.auth("inspector_a")).json()
        assert worklist["total"] == counts["red"] + counts["yellow"]
        scores = [item["score"] for item in worklist["items"] if item["lane"] == "red"]
        assert scores == sorted(scores, reverse=True)
        target = next(i["lrn"] for i in worklist["items"])
        override = {"lane": "green", "reason": "known trusted consignment, checked by phone"}
        assert_error(
            client.post(f"/api/declarations/{target}/lane", json=override, headers=world.auth("inspector_a")),
            403,
        )
        assert_error(
            client.post(
                f"/api/declarations/{target}/lane", json=override, headers=world.auth("supervisor_b")
            ),
            404,
        )
        changed = client.post(
            f"/api/declarations/{target}/lane", json=override, headers=world.auth("supervisor_a")
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["lane"] == "green" and changed.json()["basis"] == "supervisor override"
        decision = client.get(f"/api/declarations/{target}", headers=world.auth("analyst_a")).json()[
            "decision"
        ]
        assert decision["override_reason"] == override["reason"] and decision["decided_by"] == "supervisor_a"
        # Released to green, its inspection case leaves the queue, and no finding can be recorded on it.
        withdrawn = client.get(
            "/api/cases", params={"status": "withdrawn"}, headers=world.auth("inspector_a")
        ).json()["items"]
        assert [case["lrn"] for case in withdrawn] == [target]
        finding = {"result": "no_finding"}
        assert (
            "withdrawn"
            in assert_error(
                client.post(
                    f"/api/cases/{withdrawn[0]['id']}/outcome",
                    json=finding,
                    headers=world.auth("inspector_a"),
                ),
                409,
            )["message"]
        )
        short = {"lane": "red", "reason": ""}
        assert (
            assert_error(
                client.post(
                    f"/api/declarations/{target}/lane", json=short, headers=world.auth("supervisor_a")
                ),
                422,
            )["field"]
            == "reason"
        )
        backwards = {"since": "2026-03-04", "until": "2026-03-01"}
        assert_error(
            client.post("/api/lanes/assign", json=backwards, headers=world.auth("supervisor_a")), 422
        )


def _deferred_and_explained_twins(
    world: World, model_path: Path, prefix: str
) -> tuple[Settings, Settings, dict[str, Any], dict[str, Any]]:
    """Registers the model and submits ``{prefix}-LAZY`` to a server that leaves its model reasons to the
    first read (``lazy`` settings), then the same content as ``{prefix}-EAGER`` to one that explains it at
    once (``eager``): the reference. Returns both settings and both answers."""
    register(world.settings, model_path, "a")
    lazy = world.settings.model_copy(update={"explain_min_score": 101.0})  # no score reaches it
    eager = world.settings.model_copy(update={"explain_min_score": 0.0})
    auth = world.auth("analyst_a")
    with client_for(lazy) as client:
        posted = client.post(
            "/api/declarations", json=declaration_json(f"{prefix}-LAZY", value=5.0), headers=auth
        )
        assert posted.status_code == 201, posted.text
        short: dict[str, Any] = posted.json()
        assert short["explained"] is False
    with client_for(eager) as client:
        twin = client.post(
            "/api/declarations", json=declaration_json(f"{prefix}-EAGER", value=5.0), headers=auth
        )
        full: dict[str, Any] = twin.json()
        assert full["explained"] is True and full["score"] == pytest.approx(short["score"])
    return lazy, eager, short, full


def test_model_reasons_left_to_the_first_read_are_the_ones_scoring_would_give(
    world: World, model_path: Path
) -> None:
    lazy, eager, short, full = _deferred_and_explained_twins(world, model_path, "R")
    auth = world.auth("analyst_a")
    with client_for(eager) as client:
        model_sentences = [r for r in full["reasons"] if r not in short["reasons"]]
        assert model_sentences, "the model gives this declaration reasons of its own"
        first_read = client.get("/api/declarations/R-LAZY", headers=auth).json()["latest_score"]
        assert first_read["reasons"] == full["reasons"]
        assert first_read["score"] == pytest.approx(short["score"])
        # stored then: a second read returns them without computing again
        engine = make_engine(world.settings.database_url)
        with session_factory(engine)() as session:
            stored = latest_scores(session=session, agency="a", lrns=["R-LAZY"]).row(0, named=True)
        engine.dispose()
        assert stored["explained"] is True and stored["reasons"] == full["reasons"]
        again = client.get("/api/declarations/R-LAZY", headers=auth).json()["latest_score"]
        assert again["reasons"] == full["reasons"]
    with client_for(lazy) as client:
        assert (
            client.get("/api/declarations/R-LAZY", headers=auth).json()["latest_score"]["reasons"]
            == (full["reasons"])
        )


def test_a_declaration_whose_model_file_is_gone_is_shown_with_its_stored_reasons(
    world: World, model_path: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "model.json"
    shutil.copy(model_path, copy)
    register(world.settings, copy, "a")
    lazy = world.settings.model_copy(update={"explain_min_score": 101.0})
    auth = world.auth("analyst_a")
    with client_for(lazy) as client:
        posted = client.post("/api/declarations", json=declaration_json("R-GONE", value=5.0), headers=auth)
        assert posted.json()["explained"] is False
    copy.unlink()
    with client_for(lazy) as client:  # a new server: the model is not in its cache
        response = client.get("/api/declarations/R-GONE", headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["latest_score"]["reasons"] == posted.json()["reasons"]


def test_declaration_page_charts_the_models_own_contributions(settings: Settings, model_path: Path) -> None:
    from tests.integration.test_api_workspace import login

    world = build_world(settings, with_password=("inspector_a",))
    register(world.settings, model_path, "a")
    with client_for(world.settings) as client:
        posted = client.post(
            "/api/declarations", json=declaration_json("S-CHART", value=10.0), headers=world.auth("analyst_a")
        ).json()
        login(client, "inspector_a")
        page = client.get("/declarations/S-CHART")
    assert page.status_code == 200
    found = re.search(r'<script type="application/json" id="explanation-spec">(.*?)</script>', page.text)
    assert found is not None
    spec = json.loads(found.group(1))
    assert "TreeSHAP" in spec["title"]["subtitle"]
    values = spec["data"]["values"]
    assert 1 <= len(values) <= 9
    assert all((v["log_odds"] >= 0) == (v["direction"] == "towards fraud") for v in values)
    # TreeSHAP is additive: base + contributions = the model's log-odds of the probability it gave.
    base = float(re.search(r"base ([+-][0-9.]+)", spec["title"]["subtitle"]).group(1))  # type: ignore[union-attr]
    probability = posted["fraud_probability"]
    log_odds = math.log(probability / (1 - probability))
    assert base + sum(v["log_odds"] for v in values) == pytest.approx(log_odds, abs=0.02)


def _page_reasons_and_chart(html: str) -> tuple[list[str], dict[str, object]]:
    listed = re.search(r'<ol class="reasons" id="reasons">(.*?)</ol>', html, re.S)
    chart = re.search(r'<script type="application/json" id="explanation-spec">(.*?)</script>', html, re.S)
    assert listed is not None and chart is not None
    reasons = [unescape(r) for r in re.findall(r"<li>(.*?)</li>", listed.group(1))]
    spec = json.loads(chart.group(1))
    return reasons, {"subtitle": spec["title"]["subtitle"], "values": spec["data"]["values"]}


def test_declaration_page_completes_deferred_reasons_as_scoring_gives_them_and_charts_the_same(
    settings: Settings, model_path: Path
) -> None:
    from tests.integration.test_api_workspace import login

    world = build_world(settings, with_password=("inspector_a",))
    lazy, eager, short, full = _deferred_and_explained_twins(world, model_path, "P")
    with client_for(eager) as client:
        login(client, "inspector_a")
        reference = _page_reasons_and_chart(client.get("/declarations/P-EAGER").text)
    assert reference[0] == full["reasons"] and len(reference[0]) > len(short["reasons"])
    with client_for(lazy) as client:  # a new server: nothing cached
        login(client, "inspector_a")
        first_view = _page_reasons_and_chart(client.get("/declarations/P-LAZY").text)
        second_view = _page_reasons_and_chart(client.get("/declarations/P-LAZY").text)
    assert first_view == reference
    assert second_view == reference  # stored by the first view


def test_submissions_refresh_sqlite_planner_statistics_each_time_the_declarations_double(
    tmp_path: Path,
) -> None:
    # SQLite only: PostgreSQL's autovacuum keeps its own statistics.
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'grow.db'}", data_dir=tmp_path / "data")
    engine = make_engine(settings.database_url)
    migrate(engine)  # while empty: no statistics of the declarations yet
    world = build_world(settings)

    def analysed() -> int | None:
        with engine.connect() as connection:
            counted = connection.exec_driver_sql(
                "SELECT max(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = 'declarations'"
            )
            return counted.scalar()

    def submit(client: TestClient, first: int, count: int) -> None:
        body = [declaration_json(f"G-{n:03d}") for n in range(first, first + count)]
        response = client.post("/api/declarations/batch", json=body, headers=world.auth("analyst_a"))
        assert response.status_code == 201, response.text

    assert analysed() is None
    with client_for(settings) as client:
        submit(client, 0, 3)
        assert analysed() == 3
        submit(client, 3, 2)
        assert analysed() == 3  # 5 declarations: not yet twice as many
        submit(client, 5, 1)
        assert analysed() == 6
    engine.dispose()
