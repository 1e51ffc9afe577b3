"""Training attempts in the database: a timed attempt submitted after its limit is marked late, an attempt is
submitted once, the cohort lists the weakest scenario first (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.training import service
from borderwatch.training.exercise import build_exercise
from borderwatch.training.grading import Choice
from borderwatch.training.scenarios import get_scenario


def test_timed_attempts_late_submission_and_the_cohorts_weakest_first(
    session_factory: sessionmaker[Session],
) -> None:
    timed = build_exercise(get_scenario("normal-day"), seed=1, with_model=False)
    plain = build_exercise(get_scenario("misclassification"), seed=1, with_model=False)
    assert timed.time_limit_seconds == 900
    with session_factory() as session:
        late = service.start_exercise(session=session, agency="a", username="kim", exercise=timed)
        on_time = service.start_exercise(session=session, agency="a", username="lee", exercise=plain)
        session.commit()
        frauds = [t["lrn"] for t in plain.truth if t["fraud"]][: plain.budget]
        service.submit_attempt(
            session=session,
            attempt=on_time,
            choices=[Choice(lrn, "red", 0.9) for lrn in frauds],
            now=on_time.started_at + timedelta(seconds=120),
        )
        first = timed.truth[0]["lrn"]
        result = service.submit_attempt(
            session=session,
            attempt=late,
            choices=[Choice(first, "red", 0.6)],
            now=late.started_at + timedelta(seconds=timed.time_limit_seconds + 60),
        )
        session.commit()
        assert late.late and not on_time.late
        assert result["elapsed_seconds"] == pytest.approx(960, abs=1)
        assert result["seconds_per_decision"] == pytest.approx(960 / timed.size, abs=0.1)
        with pytest.raises(service.AttemptClosedError):
            service.submit_attempt(session=session, attempt=late, choices=[])
        cohort = service.cohort_summary(session=session, agency="a")
        assert [f.scenario_id for f in cohort][-1] == "misclassification"  # a perfect attempt: strongest last
        assert cohort[-1].hit_rate == 1.0 and cohort[-1].trainees == 1
        assert service.cohort_summary(session=session, agency="b") == []
        mine = service.list_attempts(session=session, agency="a", username="kim")
        assert [a.id for a in mine] == [late.id]
