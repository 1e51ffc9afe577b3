"""The dashboards read every decision once, as plain rows with the reasons decoded by Polars: the same
frame as before, and the same figures through the API and the page."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.lanes.service import decisions_frame
from tests.integration.api_support import build_world, client_for, seed


def test_decisions_frame_decodes_reasons_and_tolerates_none(settings: Settings, tmp_path: Path) -> None:
    seed(settings, agency="a", lrns=["M-001", "M-002", "M-003"], tmp=tmp_path)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            session.execute(
                update(LaneDecisionRow).where(LaneDecisionRow.lrn == "M-003").values(reasons=None)
            )
        with session_scope(session_factory(engine)) as session:
            frame = decisions_frame(session=session, agency="a").sort("lrn")
            assert decisions_frame(session=session, agency="nobody").height == 0
    finally:
        engine.dispose()
    assert frame["lrn"].to_list() == ["M-001", "M-002", "M-003"]
    assert frame["reasons"].to_list() == [
        ["reason 0a", "reason 0b", "reason 0c", "reason 0d"],
        ["reason 1a", "reason 1b", "reason 1c", "reason 1d"],
        [],
    ]
    assert frame["lane"].to_list() == ["red", "yellow", "green"]
    assert frame["score"].to_list() == [90.0, 80.0, 70.0]


def test_monitoring_api_counts_every_current_decision(settings: Settings, tmp_path: Path) -> None:
    world = build_world(settings, agencies=("a",))
    seed(settings, agency="a", lrns=["N-001", "N-002", "N-003"], tmp=tmp_path, day=1)
    seed(settings, agency="a", lrns=["N-004", "N-005"], tmp=tmp_path, day=2)
    with client_for(settings) as client:
        report = client.get("/api/monitoring", headers=world.auth("supervisor_a")).json()["report"]
    assert report["decisions"] == 5 and report["labelled"] == 0
