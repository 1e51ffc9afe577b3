"""Issue #12, item 2: monitoring counts risk profiles by the id stored with each lane decision, not by the
reason's sentence, so renaming a profile or changing its points keeps its statistics together (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.db.session import session_scope
from borderwatch.features.build import build_features
from borderwatch.feedback.monitor import monitor_report
from borderwatch.lanes.policy import Capacity, LanePolicy
from borderwatch.lanes.service import assign_lanes, decisions_frame
from borderwatch.scoring.profiles import parse_profiles
from borderwatch.scoring.risk_model import rules_only_scores
from tests.unit.scoring_support import traffic_frames


def _profile(name: str, points: float) -> dict[str, Any]:
    return {
        "profiles": [
            {
                "id": "RP-EVERY",
                "name": name,
                "rationale": "a profile that holds for every declaration",
                "author": "risk-unit",
                "when": {"all": [{"field": "lrn", "op": "not_null"}]},
                "effect": {"add_points": points},
            }
        ]
    }


def test_a_renamed_profile_keeps_its_statistics(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    declarations, outcomes = traffic_frames()
    day = declarations["declared_on"].max()
    lrns = declarations.filter(pl.col("declared_on") == day)["lrn"].unique(maintain_order=True)[:6].to_list()
    batch = declarations.filter(pl.col("lrn").is_in(lrns))
    history = declarations.filter(pl.col("declared_on") < day)
    features = build_features(declarations=batch, history=history, outcomes=outcomes)
    before = parse_profiles(_profile("Every declaration", 10.0), source="test")
    after = parse_profiles(_profile("All declarations, renamed", 20.0), source="test")
    scores = pl.concat(
        [
            rules_only_scores(features.filter(pl.col("lrn").is_in(lrns[:3])), profiles=before),
            rules_only_scores(features.filter(pl.col("lrn").is_in(lrns[3:])), profiles=after),
        ]
    )
    # the rename changed the sentence: grouped by sentence, the profile would count as two
    sentences = {r for rs in scores["reasons"].to_list() for r in rs if r.startswith("risk profile ")}
    assert sentences == {
        "risk profile RP-EVERY (Every declaration): +10 points",
        "risk profile RP-EVERY (All declarations, renamed): +20 points",
    }
    scored = scores.join(
        batch.unique("lrn", maintain_order=True).select("lrn", "declared_on", "office", "importer_id"),
        on="lrn",
    )
    policy = LanePolicy(red=Capacity(default=2), yellow=Capacity(default=2), control_rate=0.0)
    with session_scope(session_factory) as session:
        assign_lanes(session=session, scored=scored, policy=policy, agency="a1")
    frauds = {lrns[0]: 1, lrns[1]: 0, lrns[2]: 0, lrns[3]: 1, lrns[4]: 1, lrns[5]: 0}
    labels = pl.DataFrame({"lrn": list(frauds), "fraud": list(frauds.values())})
    with session_scope(session_factory) as session:
        stored = decisions_frame(session=session, agency="a1")
        report = monitor_report(
            engine=engine, session=session, agency="a1", decisions=stored, outcomes=labels
        )
    codes = stored.explode("reason_codes").filter(pl.col("reason_codes").struct.field("family") == "profile")
    assert codes.height == 6
    assert [(r["profile"], r["inspected"], r["frauds"]) for r in report["profiles"]] == [("RP-EVERY", 6, 3)]
