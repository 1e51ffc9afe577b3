"""Training pages: scenarios and own progress, playing an exercise, its debrief, the instructor's cohort.

Authorisation is the policy's: ``Resource.TRAINING`` to see scenarios, ``Resource.TRAINING_RESULT`` for
attempts, and ``decide_training_result`` for whose attempt (a trainee sees only their own).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from borderwatch.access.policy import COHORT_ROLES, Action, Resource, decide_training_result
from borderwatch.core.errors import ConfigError, NotFoundError
from borderwatch.training import service
from borderwatch.training.exercise import CLOSED_CASES, ExerciseError
from borderwatch.training.grading import Choice, GradingError
from borderwatch.training.indicators import INDICATORS
from borderwatch.training.models import TrainingAttemptRow
from borderwatch.training.scenarios import agency_scenarios
from borderwatch.web.deps import AppState, Guard, State, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.ui.common import check_csrf, render

router = APIRouter(include_in_schema=False)
ScenarioReader = Annotated[Guard, Depends(require(Action.READ, Resource.TRAINING, page=True))]
ResultReader = Annotated[Guard, Depends(require(Action.READ, Resource.TRAINING_RESULT, page=True))]
ResultWriter = Annotated[Guard, Depends(require(Action.CREATE, Resource.TRAINING_RESULT, page=True))]
CONFIDENCES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
MAX_SEED = 1_000_000


def _progress_spec(attempts: list[TrainingAttemptRow]) -> dict[str, Any]:
    values = [
        {"when": a.submitted_at.isoformat(), "hit_rate": a.hit_rate, "scenario": a.scenario_id}
        for a in reversed(attempts)
        if a.submitted_at is not None and a.hit_rate is not None
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": "container",
        "height": 180,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "when", "type": "temporal", "title": "attempt"},
            "y": {"field": "hit_rate", "type": "quantitative", "title": "hit rate", "axis": {"format": "%"}},
            "color": {"field": "scenario", "type": "nominal"},
        },
    }


@router.get("/training", response_class=HTMLResponse)
def training_page(request: Request, identity: UiIdentity, guard: ScenarioReader, state: State) -> Response:
    try:
        scenarios = agency_scenarios(state.settings.data_dir, guard.agency)
    except ConfigError as error:
        raise ApiError(500, f"an instructor's scenario file is malformed: {error}") from None
    mine = service.list_attempts(session=guard.db, agency=guard.agency, username=guard.principal.username)
    guard.log(detail={"own_attempts": len(mine)})
    return render(
        request,
        "training.html",
        identity,
        scenarios=scenarios,
        attempts=mine,
        progress=_progress_spec(mine),
        cohort=guard.principal.role in COHORT_ROLES,
    )


@router.post("/training/attempts")
async def start(request: Request, identity: UiIdentity, guard: ResultWriter, state: State) -> Response:
    await check_csrf(request, identity)
    form = await request.form()
    scenario_id = str(form.get("scenario_id") or "")
    try:
        seed = int(str(form.get("seed") or "1"))
    except ValueError:
        raise ApiError(422, "the queue number must be a whole number") from None
    if not 0 <= seed <= MAX_SEED:
        raise ApiError(422, f"the queue number must be between 0 and {MAX_SEED}")
    if scenario_id == CLOSED_CASES:
        return _start_closed_cases(guard, state, seed)
    try:
        found = {s.id: s for s in agency_scenarios(state.settings.data_dir, guard.agency)}
    except ConfigError as error:
        raise ApiError(500, f"an instructor's scenario file is malformed: {error}") from None
    if scenario_id not in found:
        raise guard.not_found("scenario")
    scenario = found[scenario_id]
    attempt = service.start_attempt(
        session=guard.db,
        agency=guard.agency,
        username=guard.principal.username,
        scenario=scenario,
        seed=seed,
        aids=form.get("aids") == "on",
        timed=form.get("timed") == "on",
    )
    guard.log(resource_id=f"attempt {attempt.id}", detail={"scenario": scenario.id, "seed": seed})
    return RedirectResponse(f"/training/attempts/{attempt.id}", status_code=303)


def _start_closed_cases(guard: Guard, state: AppState, seed: int) -> Response:
    try:
        exercise = service.closed_cases_exercise(engine=state.engine, agency=guard.agency, seed=seed)
    except ExerciseError as error:
        raise ApiError(422, f"no closed-cases exercise: {error}") from None
    attempt = service.start_exercise(
        session=guard.db, agency=guard.agency, username=guard.principal.username, exercise=exercise
    )
    guard.log(resource_id=f"attempt {attempt.id}", detail={"scenario": CLOSED_CASES, "seed": seed})
    return RedirectResponse(f"/training/attempts/{attempt.id}", status_code=303)


def _attempt(guard: Guard, attempt_id: int, action: Action) -> TrainingAttemptRow:
    """The attempt, if the policy lets the caller ``action`` it (another trainee's is reported absent)."""
    try:
        attempt = service.get_attempt(session=guard.db, attempt_id=attempt_id)
    except NotFoundError:
        raise guard.not_found("training attempt") from None
    decision = decide_training_result(
        guard.principal, action, owner=attempt.username, record_agency=attempt.agency
    )
    guard.apply(decision, resource_id=f"attempt {attempt_id}", noun="training attempt")
    return attempt


@router.get("/training/attempts/{attempt_id}", response_class=HTMLResponse)
def play_page(attempt_id: int, request: Request, identity: UiIdentity, guard: ResultReader) -> Response:
    attempt = _attempt(guard, attempt_id, Action.READ)
    if attempt.submitted_at is not None:
        return RedirectResponse(f"/training/attempts/{attempt_id}/debrief", status_code=303)
    exercise = service.exercise_of(attempt)
    return render(
        request,
        "training_play.html",
        identity,
        attempt=attempt,
        exercise=exercise,
        indicators=INDICATORS,
        confidences=CONFIDENCES,
    )


def _choices(form: Any, lrns: list[str]) -> list[Choice]:
    choices = []
    for lrn in lrns:
        lane = form.get(f"lane-{lrn}") or "green"
        confidence = form.get(f"confidence-{lrn}")
        seconds = form.get(f"seconds-{lrn}")
        try:
            choices.append(
                Choice(
                    lrn=lrn,
                    lane=str(lane),
                    confidence=float(confidence) if confidence else None,
                    indicators=tuple(str(i) for i in form.getlist(f"indicators-{lrn}") if i in INDICATORS),
                    seconds=float(seconds) if seconds else None,
                )
            )
        except ValueError:
            raise ApiError(422, f"declaration {lrn}: confidence and seconds must be numbers") from None
    return choices


@router.post("/training/attempts/{attempt_id}")
async def submit(attempt_id: int, request: Request, identity: UiIdentity, guard: ResultWriter) -> Response:
    await check_csrf(request, identity)
    attempt = _attempt(guard, attempt_id, Action.CREATE)
    exercise = service.exercise_of(attempt)
    form = await request.form()
    choices = _choices(form, [view["lrn"] for view in exercise.declarations])
    red = sum(1 for c in choices if c.lane == "red")
    if red > exercise.budget and attempt.time_limit_seconds is None:
        raise ApiError(422, f"{red} declarations sent to inspection; the budget is {exercise.budget}")
    try:
        result = service.submit_attempt(session=guard.db, attempt=attempt, choices=choices)
    except service.AttemptClosedError:
        raise ApiError(409, "this attempt was already submitted") from None
    except GradingError as error:
        raise ApiError(422, str(error)) from None
    guard.log(
        resource_id=f"attempt {attempt_id}", detail={"hit_rate": result["hit_rate"], "late": attempt.late}
    )
    return RedirectResponse(f"/training/attempts/{attempt_id}/debrief", status_code=303)


@router.get("/training/attempts/{attempt_id}/debrief", response_class=HTMLResponse)
def debrief_page(attempt_id: int, request: Request, identity: UiIdentity, guard: ResultReader) -> Response:
    attempt = _attempt(guard, attempt_id, Action.READ)
    if attempt.result is None:
        return RedirectResponse(f"/training/attempts/{attempt_id}", status_code=303)
    exercise = service.exercise_of(attempt)
    views = {view["lrn"]: view for view in exercise.declarations}
    return render(
        request,
        "training_debrief.html",
        identity,
        attempt=attempt,
        exercise=exercise,
        result=attempt.result,
        views=views,
        indicators=INDICATORS,
    )


def _cohort_spec(figures: list[service.ScenarioFigures]) -> dict[str, Any]:
    values = [
        {"scenario": f.scenario_id, "who": who, "hit_rate": value}
        for f in figures
        for who, value in (("cohort", f.hit_rate), ("model", f.model_hit_rate), ("random", f.random_hit_rate))
        if value is not None
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": "container",
        "height": 220,
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {"field": "scenario", "type": "nominal", "sort": [f.scenario_id for f in figures]},
            "yOffset": {"field": "who"},
            "x": {"field": "hit_rate", "type": "quantitative", "title": "hit rate", "axis": {"format": "%"}},
            "color": {
                "field": "who",
                "type": "nominal",
                "scale": {"range": ["#1f5f8b", "#9a9a9a", "#d9a441"]},
            },
        },
    }


@router.get("/training/cohort", response_class=HTMLResponse)
def cohort_page(request: Request, identity: UiIdentity, guard: ResultReader) -> Response:
    decision = decide_training_result(guard.principal, Action.READ, owner=None, record_agency=guard.agency)
    guard.apply(decision, resource_id="cohort")
    figures = service.cohort_summary(session=guard.db, agency=guard.agency)
    attempts = service.list_attempts(session=guard.db, agency=guard.agency)
    return render(
        request,
        "training_cohort.html",
        identity,
        figures=figures,
        attempts=attempts,
        spec=_cohort_spec(figures),
    )
