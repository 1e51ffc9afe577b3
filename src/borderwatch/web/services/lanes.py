"""A supervisor's lane override, for the API and the case page alike: the one fetch of the decision (404 and
audit), the lanes flow, its refusals as API errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from borderwatch.core.errors import NotFoundError
from borderwatch.inspections.flows import override_lane_flow
from borderwatch.lanes import service as lanes
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.web.deps import Guard
from borderwatch.web.errors import ApiError
from borderwatch.web.services.records import decision_for


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lane: Literal["red", "yellow", "green"]
    reason: str = Field(min_length=3, max_length=2000)


def override_for(*, guard: Guard, lrn: str, body: OverrideIn) -> LaneDecisionRow:
    """Shared by the API and the case page: the audit entry, the lanes flow, its refusals as API errors."""
    decision_for(guard, lrn, detail={"lane": body.lane, "reason": body.reason})
    try:
        return override_lane_flow(
            session=guard.db,
            lrn=lrn,
            agency=guard.agency,
            lane=body.lane,
            reason=body.reason,
            supervisor=guard.principal.username,
        )
    except lanes.LaneChangedError as error:
        raise ApiError(409, str(error)) from None
    except (lanes.LaneError, NotFoundError) as error:
        raise ApiError(422, str(error)) from None
