"""The scoring stage's model registry for the API and the review page alike: the one fetch of a version
(404 and audit), the list, promotion and rollback."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from borderwatch.core.clock import UtcDateTime
from borderwatch.core.errors import NotFoundError
from borderwatch.scoring import registry
from borderwatch.scoring.models import RiskModelRow
from borderwatch.web.deps import Guard, Page
from borderwatch.web.errors import ApiError
from borderwatch.web.schemas import Paginated


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    agency: str
    trained_from: date | None
    trained_until: date | None
    seed: int
    features: list[str]
    metrics: dict[str, Any]
    active: bool
    activated_at: UtcDateTime | None
    activated_by: str | None
    created_at: UtcDateTime


def list_models(*, guard: Guard, paging: Page) -> Paginated[ModelOut]:
    """The agency's registered versions, newest first (audited)."""
    rows = registry.list_models(session=guard.db, agency=guard.agency)
    guard.log()
    window = rows[paging.offset : paging.offset + paging.limit]
    return Paginated[ModelOut](
        items=[ModelOut.model_validate(r) for r in window],
        total=len(rows),
        limit=paging.limit,
        offset=paging.offset,
    )


def model_for(guard: Guard, version: str) -> RiskModelRow:
    """One registered version, if the caller may see it (else the one 404), with the audit entry."""
    return guard.fetch(
        lambda: registry.get_model_row(session=guard.db, agency=guard.agency, version=version),
        agency_of=lambda row: row.agency,
        resource_id=version,
    )


def promote_model(*, version: str, guard: Guard) -> ModelOut:
    """Make ``version`` the agency's active model (audited)."""
    try:
        row = registry.activate_model(
            session=guard.db, version=version, agency=guard.agency, by=guard.principal.username
        )
    except NotFoundError:
        raise guard.not_found() from None
    guard.log(resource_id=version, detail={"promoted": version})
    return ModelOut.model_validate(row)


def rollback_model(*, guard: Guard) -> ModelOut:
    """Re-activate the version that was active before the current one (audited); 409 if there is none."""
    try:
        previous = registry.previous_model_row(session=guard.db, agency=guard.agency)
    except NotFoundError as error:
        raise ApiError(409, str(error)) from None
    row = registry.activate_model(
        session=guard.db, version=previous.version, agency=guard.agency, by=guard.principal.username
    )
    guard.log(resource_id=row.version, detail={"rolled_back_to": row.version})
    return ModelOut.model_validate(row)
