"""Monitoring figures for the dashboards (``web.services.monitoring``: the feedback stage's report plus
weekly series over time)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from borderwatch.access.policy import Action, Resource
from borderwatch.web.deps import Guard, State, require
from borderwatch.web.errors import ERROR_RESPONSES
from borderwatch.web.services.monitoring import Monitoring, monitoring

router = APIRouter(tags=["monitoring"], responses=ERROR_RESPONSES)


@router.get("/monitoring", summary="Hit rates, control-sample non-compliance, duty recovered, drift")
def get_monitoring(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MONITORING))], state: State
) -> Monitoring:
    guard.log()
    return monitoring(db=guard.db, state=state, agency=guard.agency)
