"""Training attempts: start an exercise for a trainee, submit their choices, read results and cohort figures.

    attempt = start_attempt(session=s, agency="a", username="kim", scenario=scenario, seed=1)
    submit_attempt(session=s, attempt=attempt, choices=[Choice(lrn, "red", 0.8)], now=utcnow())
    cohort = cohort_summary(session=s, agency="a")     # per scenario, weakest first

Who may see which attempt is decided by ``access.policy.decide_training_result``; these functions take the
agency (and the trainee, where it applies) explicitly and do not decide it.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from statistics import mean
from typing import Any

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from borderwatch.core.errors import NotFoundError
from borderwatch.ingest.store import load_declarations, load_outcomes
from borderwatch.training.exercise import Exercise, ExerciseError, build_exercise, exercise_from_cases
from borderwatch.training.grading import Choice, grade
from borderwatch.training.models import TrainingAttemptRow
from borderwatch.training.scenarios import Scenario

LATE_GRACE = timedelta(seconds=10)
"""A timed attempt submitted this long after its limit is marked late (the page submits itself at zero)."""


@lru_cache(maxsize=32)
def _built(scenario: str, seed: int, aids: bool, timed: bool) -> Exercise:
    # Building trains the model on the queue's history (seconds): a cohort playing the same scenario and seed
    # shares one build per process. Exercises are only read after they are built.
    return build_exercise(Scenario.model_validate_json(scenario), seed=seed, aids=aids, timed=timed)


def exercise_for(scenario: Scenario, *, seed: int, aids: bool | None = None, timed: bool = True) -> Exercise:
    """The exercise of ``scenario`` and ``seed`` (built once per process for the same scenario text)."""
    return _built(scenario.model_dump_json(), seed, scenario.aids if aids is None else aids, timed)


def start_attempt(
    *,
    session: Session,
    agency: str,
    username: str,
    scenario: Scenario,
    seed: int,
    aids: bool | None = None,
    timed: bool = True,
) -> TrainingAttemptRow:
    """A new attempt of ``username`` at the scenario's exercise for ``seed``, stored with the exercise."""
    exercise = exercise_for(scenario, seed=seed, aids=aids, timed=timed)
    return start_exercise(session=session, agency=agency, username=username, exercise=exercise)


def start_exercise(*, session: Session, agency: str, username: str, exercise: Exercise) -> TrainingAttemptRow:
    """A new attempt of ``username`` at ``exercise`` (a scenario's, or one from closed cases)."""
    row = TrainingAttemptRow(
        agency=agency,
        username=username,
        scenario_id=exercise.scenario_id,
        seed=exercise.seed,
        aids=exercise.aids,
        time_limit_seconds=exercise.time_limit_seconds,
        started_at=datetime.now(UTC),
        exercise=exercise.to_dict(),
        late=False,
    )
    session.add(row)
    session.flush()
    return row


CLOSED_CASES_DAYS = 70
"""How far back a closed-cases exercise reads: its queue week and the history before it."""


def closed_cases_exercise(
    *, engine: Engine, agency: str, seed: int, queue_size: int = 40, budget: int = 5
) -> Exercise:
    """An exercise from the agency's stored declarations and outcomes of the last ``CLOSED_CASES_DAYS``
    days, pseudonymised with a salt drawn for this exercise and never kept (nothing links back)."""
    outcomes = load_outcomes(engine, agency=agency)
    last = outcomes["recorded_on"].max()
    if not isinstance(last, date):
        raise ExerciseError("the agency has no closed case yet")
    since = last - timedelta(days=CLOSED_CASES_DAYS)
    declarations = load_declarations(engine, agency=agency, since=since)
    return exercise_from_cases(
        declarations=declarations,
        outcomes=outcomes.filter(pl.col("recorded_on") >= since),
        seed=seed,
        salt=secrets.token_bytes(16),
        queue_size=queue_size,
        budget=budget,
    )


def get_attempt(*, session: Session, attempt_id: int) -> TrainingAttemptRow:
    row = session.get(TrainingAttemptRow, attempt_id)
    if row is None:
        raise NotFoundError(f"training attempt {attempt_id} not found")
    return row


def exercise_of(attempt: TrainingAttemptRow) -> Exercise:
    return Exercise.from_dict(attempt.exercise)


class AttemptClosedError(NotFoundError):
    """The attempt was already submitted."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def submit_attempt(
    *, session: Session, attempt: TrainingAttemptRow, choices: list[Choice], now: datetime | None = None
) -> dict[str, Any]:
    """Grade and store the trainee's choices; returns the grade (``Grade.as_dict``)."""
    if attempt.submitted_at is not None:
        raise AttemptClosedError(f"training attempt {attempt.id} was already submitted")
    now = now or datetime.now(UTC)
    exercise = exercise_of(attempt)
    result = grade(exercise, choices).as_dict()
    elapsed = (now - _aware(attempt.started_at)).total_seconds()
    if result["seconds_per_decision"] is None and choices:
        result["seconds_per_decision"] = round(elapsed / exercise.size, 2)
    result["elapsed_seconds"] = round(elapsed, 1)
    attempt.late = bool(
        attempt.time_limit_seconds and elapsed > attempt.time_limit_seconds + LATE_GRACE.total_seconds()
    )
    attempt.submitted_at = now
    attempt.choices = [
        {
            "lrn": c.lrn,
            "lane": c.lane,
            "confidence": c.confidence,
            "indicators": list(c.indicators),
            "seconds": c.seconds,
        }
        for c in choices
    ]
    attempt.result = result
    attempt.hit_rate = result["hit_rate"]
    attempt.duty_recovered_share = result["duty_recovered_share"]
    attempt.brier = result["brier"]
    session.flush()
    return result


def list_attempts(
    *, session: Session, agency: str, username: str | None = None, limit: int = 200
) -> list[TrainingAttemptRow]:
    """The agency's attempts (one trainee's when ``username`` is given), newest first."""
    query = select(TrainingAttemptRow).where(TrainingAttemptRow.agency == agency)
    if username is not None:
        query = query.where(TrainingAttemptRow.username == username)
    query = query.order_by(TrainingAttemptRow.started_at.desc(), TrainingAttemptRow.id.desc()).limit(limit)
    return list(session.scalars(query))


@dataclass(frozen=True)
class ScenarioFigures:
    """A cohort's graded attempts at one scenario, beside the model and random on the same queues."""

    scenario_id: str
    attempts: int
    trainees: int
    hit_rate: float | None
    model_hit_rate: float | None
    random_hit_rate: float | None
    duty_recovered_share: float | None
    brier: float | None
    indicators_recognised: float | None
    seconds_per_decision: float | None

    @property
    def lift(self) -> float | None:
        """The cohort's hit rate over random's: below 1, the cohort did no better than chance."""
        if self.hit_rate is None or not self.random_hit_rate:
            return None
        return self.hit_rate / self.random_hit_rate


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(mean(present), 4) if present else None


def cohort_summary(*, session: Session, agency: str) -> list[ScenarioFigures]:
    """Per scenario, the agency's graded attempts averaged, the weakest (lowest lift over random) first."""
    graded: dict[str, list[TrainingAttemptRow]] = defaultdict(list)
    for row in list_attempts(session=session, agency=agency, limit=10_000):
        if row.result is not None:
            graded[row.scenario_id].append(row)
    figures = []
    for scenario_id, rows in graded.items():
        results = [row.result or {} for row in rows]
        figures.append(
            ScenarioFigures(
                scenario_id=scenario_id,
                attempts=len(rows),
                trainees=len({row.username for row in rows}),
                hit_rate=_mean([r.get("hit_rate") for r in results]),
                model_hit_rate=_mean([(r.get("model") or {}).get("hit_rate") for r in results]),
                random_hit_rate=_mean([r["random"]["hit_rate"] for r in results]),
                duty_recovered_share=_mean([r.get("duty_recovered_share") for r in results]),
                brier=_mean([r.get("brier") for r in results]),
                indicators_recognised=_mean([r.get("indicators_recognised") for r in results]),
                seconds_per_decision=_mean([r.get("seconds_per_decision") for r in results]),
            )
        )
    return sorted(figures, key=lambda f: (f.lift if f.lift is not None else -1.0, f.scenario_id))
