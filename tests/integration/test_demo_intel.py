"""The demo's intelligence exchange end to end: two agencies, two SQLite files, two servers on loopback.

Slow (about 10-40 s on the shared machine: two migrated databases, two servers, TAXII over HTTP): it is
the demo's own claim, checked as a user would see it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import create_engine, func, select

from borderwatch.demo_intel import AGENCY_A, AGENCY_B, run_intel_demo
from borderwatch.intel.models import IntelObjectRow, ShareDecisionRow


@pytest.mark.slow
def test_a_shares_its_seizure_indicator_b_pulls_it_targets_with_it_and_a_gets_the_sighting(
    tmp_path: Path,
) -> None:
    output = io.StringIO()
    result = run_intel_demo(tmp_path, console=Console(file=output, width=200, force_terminal=False))
    printed = output.getvalue()

    assert result.indicator_id is not None and result.indicator_id.startswith("indicator--")
    assert result.before is not None and result.after is not None
    # Before the pull B's declaration has no partner reason and is not red; after, A's indicator sends the
    # next matching one to red, naming A.
    assert not any(AGENCY_A in reason for reason in result.before.reasons)
    assert result.before.lane != "red"
    assert result.after.lane == "red"
    assert any(f"{AGENCY_A}: Cigarettes from Vietnam" in reason for reason in result.after.reasons)
    assert result.after.score >= result.before.score + 60
    assert result.pulled == result.shared_objects > 0 and len(result.profiles) == 1
    # A learns its indicator worked on B's side as a count of B's matching declarations, nothing more.
    assert result.sightings_at_a == [{"partner": AGENCY_B, "indicator": result.indicator_id, "count": 2}]
    assert result.ports[0] != result.ports[1]
    # Two separate databases: A holds its share decision and B's sighting; B holds what it received.
    engine_a = create_engine(f"sqlite:///{tmp_path / 'agency-a' / 'borderwatch.db'}")
    engine_b = create_engine(f"sqlite:///{tmp_path / 'agency-b' / 'borderwatch.db'}")
    with engine_a.connect() as a, engine_b.connect() as b:
        assert a.scalar(select(func.count()).select_from(ShareDecisionRow)) == 1
        assert b.scalar(select(func.count()).select_from(ShareDecisionRow)) == 0
        sent_back = (
            a.execute(select(IntelObjectRow.body).where(IntelObjectRow.stix_type == "sighting"))
            .scalars()
            .all()
        )
        received = b.scalar(
            select(func.count()).select_from(IntelObjectRow).where(IntelObjectRow.source_agency == AGENCY_A)
        )
    engine_a.dispose()
    engine_b.dispose()
    assert len(sent_back) == 1 and "ABF-000" not in sent_back[0] and "IMP-SYD" not in sent_back[0]
    assert received == result.shared_objects
    for line in (
        "shares its seizure's indicator",
        "before the pull",
        "after the pull",
        "lane red",
        "sighting",
    ):
        assert line in printed, line
