"""Issue #12, item 2: the migrations that add reason codes (``scoring_02_reason_codes``,
``lanes_02_reason_codes``) keep the scores and lane decisions stored before them readable, with codes
derived from their sentences: a risk profile's id from either sentence scoring wrote (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from borderwatch.core.reasons import Reason
from borderwatch.db.session import alembic_config, make_engine, migrate, session_factory, session_scope
from borderwatch.lanes.service import decisions_frame
from borderwatch.scoring.registry import latest_scores
from tests.conftest import postgres_schema

OLD_REASONS = [
    "goods item 2 of 3 scores highest",
    "screening: importer ACME resembles ACME LTD on OFAC (match 0.91)",
    "risk profile RP-7 (Undervalued textiles): +12 points, lane yellow",
    "unit value 83 % below the median for HS 610910 from CN",
    "risk profile RP-OLD hit",
]
EXPECTED = [
    Reason("ITEM-RISKIEST", "item"),
    Reason("SCREENING-HIT", "screening"),
    Reason("RP-7", "profile", {"points": 12.0, "lane": "yellow"}),
    Reason("LEGACY", "legacy"),
    Reason("RP-OLD", "profile"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with postgres_schema() as url:
        yield url


def test_old_scores_and_decisions_read_with_codes_after_the_upgrade(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        config = alembic_config(engine)
        for before in ("scoring_01_active_model", "lanes_01_agency_keys"):
            command.upgrade(config, before)
        scores = sa.table(
            "risk_scores",
            *(sa.column(name) for name in ("lrn", "agency", "model_version", "score")),
            *(sa.column(name) for name in ("fraud_probability", "expected_duty", "forced_lane", "explained")),
            sa.column("reasons", sa.JSON),
        )
        decisions = sa.table(
            "lane_decisions",
            *(
                sa.column(name)
                for name in ("lrn", "agency", "declared_on", "office", "lane", "basis", "score")
            ),
            *(sa.column(name) for name in ("fraud_probability", "control", "aeo", "selection_probability")),
            *(sa.column(name) for name in ("policy_version", "is_current", "decided_by")),
            sa.column("reasons", sa.JSON),
        )
        with engine.begin() as connection:
            connection.execute(
                scores.insert(),
                [
                    {
                        "lrn": lrn,
                        "agency": "a1",
                        "model_version": "v1",
                        "score": 70.0,
                        "fraud_probability": 0.5,
                        "expected_duty": 10.0,
                        "forced_lane": None,
                        "explained": True,
                        "reasons": reasons,
                    }
                    for lrn, reasons in (("OLD-1", OLD_REASONS), ("OLD-2", []))
                ],
            )
            connection.execute(
                decisions.insert(),
                [
                    {
                        "lrn": lrn,
                        "agency": "a1",
                        "declared_on": dt.date(2026, 3, 1),
                        "office": "30",
                        "lane": "yellow",
                        "basis": "mandatory rule",
                        "score": 70.0,
                        "fraud_probability": 0.5,
                        "control": False,
                        "aeo": False,
                        "selection_probability": 1.0,
                        "policy_version": "p1",
                        "is_current": True,
                        "decided_by": "system",
                        "reasons": reasons,
                    }
                    for lrn, reasons in (("OLD-1", OLD_REASONS), ("OLD-2", None))
                ],
            )
        migrate(engine)
        with session_scope(session_factory(engine)) as session:
            stored = latest_scores(session=session, agency="a1").sort("lrn")
            decided = decisions_frame(session=session, agency="a1").sort("lrn")
    finally:
        engine.dispose()
    assert stored["reasons"].to_list() == [OLD_REASONS, []]
    assert [[Reason.from_json(c) for c in row] for row in stored["reason_codes"].to_list()] == [EXPECTED, []]
    assert decided["reasons"].to_list() == [OLD_REASONS, []]
    assert [[(c["id"], c["family"]) for c in row] for row in decided["reason_codes"].to_list()] == [
        [(r.id, r.family) for r in EXPECTED],
        [],
    ]
