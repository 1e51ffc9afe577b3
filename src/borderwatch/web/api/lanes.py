"""Lanes: decide the lanes of a period (the lanes stage's flow) and a supervisor's override with a reason."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from borderwatch.access.policy import Action, Resource
from borderwatch.core.errors import BorderwatchError
from borderwatch.inspections.flows import (
    rerun_day_flow,
    score_and_assign_flow,
)
from borderwatch.pipeline.selection import agency_selection
from borderwatch.scoring.online import scoring_context
from borderwatch.web.deps import Guard, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.services.lanes import OverrideIn, override_for
from borderwatch.web.services.profiles import agency_profiles
from borderwatch.web.services.records import DecisionOut, Lrn

router = APIRouter(tags=["lanes"], responses=ERROR_RESPONSES)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: date
    until: date


class AssignOut(BaseModel):
    decisions: int
    red: int
    yellow: int
    green: int
    model_version: str


@router.post("/lanes/assign", summary="Score the declarations of a period and decide their lanes")
def assign(
    body: AssignIn, guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.LANE))], state: State
) -> AssignOut:
    if body.until < body.since:
        raise ApiError(422, "until is before since", field="until")
    context = scoring_context(
        cache=state.cache,
        db=guard.db,
        agency=guard.agency,
        profiles=agency_profiles(state.settings, guard.agency, cache=state.cache),
    )
    if context is None:
        raise ApiError(409, "no model is registered for this agency; train one first")
    try:
        decisions = score_and_assign_flow(
            engine=state.engine,
            session=guard.db,
            model=context.model,
            since=body.since,
            until=body.until,
            profiles=context.profiles,
            agency=guard.agency,
        )
    except BorderwatchError as error:
        raise ApiError(409, str(error)) from None
    counts = {lane: int((decisions["lane"] == lane).sum()) for lane in ("red", "yellow", "green")}
    guard.log(detail={"since": body.since.isoformat(), "until": body.until.isoformat(), **counts})
    return AssignOut(decisions=decisions.height, model_version=context.model.version, **counts)


class RerunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date


class RerunOut(BaseModel):
    day: date
    decisions: int
    red: int
    yellow: int
    green: int
    model_version: str | None
    note: str | None


@router.post("/lanes/rerun", summary="Re-run a day: score again with the active model, decide lanes together")
def rerun(
    body: RerunIn, guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.LANE))], state: State
) -> RerunOut:
    try:
        result = rerun_day_flow(
            engine=state.engine,
            session=guard.db,
            day=body.day,
            agency=guard.agency,
            selection=agency_selection(
                settings=state.settings, engine=state.engine, agency=guard.agency, cache=state.cache
            ),
            actor=guard.principal.username,
        )
    except BorderwatchError as error:
        raise ApiError(409, str(error)) from None
    counts = {lane: int((result.decisions["lane"] == lane).sum()) for lane in ("red", "yellow", "green")}
    guard.log(detail={"rerun": body.day.isoformat(), "model_version": result.model_version, **counts})
    return RerunOut(
        day=body.day,
        decisions=result.decisions.height,
        model_version=result.model_version,
        note=result.note,
        **counts,
    )


@router.post("/declarations/{lrn}/lane", summary="A supervisor overrides a declaration's lane, with a reason")
def override(
    lrn: Lrn, body: OverrideIn, guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.LANE))]
) -> DecisionOut:
    return DecisionOut.of(override_for(guard=guard, lrn=lrn, body=body))
