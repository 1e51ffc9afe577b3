"""The demo end to end into a temporary folder, on SQLite: what it prints and what it stores."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select

from borderwatch.access.models import UserRow
from borderwatch.db.session import make_engine
from borderwatch.demo import (
    DEMO_CORRUPT,
    DEMO_PASSWORD,
    DEMO_USER,
    DemoError,
    fresh_database,
    has_demo,
    run_demo,
)
from borderwatch.ingest.models import DeclarationRow, OutcomeRow, QuarantineRow
from borderwatch.inspections.models import CaseRow
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.scoring.models import RiskModelRow, RiskScoreRow


@pytest.mark.slow
def test_demo_runs_end_to_end_and_stores_what_it_prints(tmp_path: Path) -> None:
    output = io.StringIO()
    console = Console(file=output, width=160, force_terminal=False)

    result = run_demo(tmp_path, console=console, declarations=2500, seed=7)
    printed = output.getvalue()

    week_truth = json.loads((tmp_path / "week.truth.json").read_text(encoding="utf-8"))
    history_lines = (tmp_path / "history.csv").read_text(encoding="utf-8").splitlines()
    engine = make_engine(result.database_url)
    try:
        with engine.connect() as connection:
            declarations = connection.scalar(select(func.count()).select_from(DeclarationRow))
            outcomes = connection.scalar(select(func.count()).select_from(OutcomeRow))
            quarantined = connection.execute(select(QuarantineRow.source_file, QuarantineRow.line)).all()
            week_start = result.week.frame["Date"].min()
            lanes = connection.execute(
                select(LaneDecisionRow.lane, func.count())
                .where(LaneDecisionRow.declared_on >= date.fromisoformat(str(week_start)))
                .group_by(LaneDecisionRow.lane)
            ).all()
            past = connection.scalar(
                select(func.count())
                .select_from(LaneDecisionRow)
                .where(LaneDecisionRow.declared_on < date.fromisoformat(str(week_start)))
            )
            active = connection.execute(select(RiskModelRow.version).where(RiskModelRow.active)).all()
            scores = connection.scalar(select(func.count()).select_from(RiskScoreRow))
            login = connection.execute(select(UserRow.username, UserRow.role)).all()
            cases = connection.execute(select(CaseRow.lane, CaseRow.status)).all()
    finally:
        engine.dispose()

    # Stored: every valid declaration of both files, outcomes for the history only.
    assert declarations == result.stored_declarations == 2500
    assert outcomes == result.stored_outcomes == len(history_lines) - 1 == result.history.frame.height
    # Quarantined: exactly the corrupt lines of the week, at the lines the truth names.
    assert sorted(line or 0 for source, line in quarantined if source.endswith("week.csv")) == sorted(
        entry["line"] for entry in week_truth["corrupt_lines"]
    )
    assert len(quarantined) == DEMO_CORRUPT
    # Scored and laned: the week's declarations, ten riskiest printed with reasons.
    assert result.riskiest is not None
    assert result.riskiest.height == 10
    assert all(reasons for reasons in result.riskiest["reasons"].to_list())
    lane_counts = dict(lanes)
    assert sum(lane_counts.values()) == result.week.frame.height
    assert lane_counts.get("red", 0) > 0
    assert lane_counts.get("green", 0) > lane_counts.get("red", 0)
    # Each red and yellow declaration has an open inspection case: the workspace's queue.
    assert sorted(lane for lane, _ in cases) == sorted(
        ["red"] * lane_counts.get("red", 0) + ["yellow"] * lane_counts.get("yellow", 0)
    )
    assert {status for _, status in cases} == {"open"}
    # The riskiest are mostly real frauds (the ranking is worth something on the planted patterns).
    assert result.riskiest["fraud"].sum() >= 5

    for text in (
        "ingested",
        "quarantined",
        "is not an HS code",
        "riskiest",
        "lanes",
        "cases opened",
        "look further",
    ):
        assert text in printed, text
    assert result.riskiest["lrn"][0] in printed
    assert "borderwatch quarantine list" in printed
    assert result.seconds < 120
    # The demo's model is the active one, its scores are stored, past weeks have lanes for the dashboards,
    # and there is a login, printed with the address
    assert len(active) == 1 and scores == result.week.frame.height
    assert past == result.past_lanes.height > 0
    assert login == [(DEMO_USER, "admin")]
    assert DEMO_USER in printed and DEMO_PASSWORD in printed and "http://127.0.0.1:8000/" in printed
    assert has_demo(tmp_path)


def test_demo_never_replaces_a_database_it_did_not_create(tmp_path: Path) -> None:
    database = tmp_path / "borderwatch.db"
    database.write_bytes(b"an agency's own data")

    with pytest.raises(DemoError, match="did not create"):
        fresh_database(tmp_path)

    assert database.read_bytes() == b"an agency's own data"


def test_demo_replaces_its_own_database(tmp_path: Path) -> None:
    _, engine = fresh_database(tmp_path)
    engine.dispose()
    (tmp_path / "borderwatch.db").write_bytes(b"")  # left over from an earlier demo

    settings, engine = fresh_database(tmp_path)
    engine.dispose()

    assert settings.database_url.endswith(str(tmp_path / "borderwatch.db"))
    assert (tmp_path / "borderwatch.db").stat().st_size > 0  # migrated afresh
