"""The model registry of the scoring stage: versions, training windows, features and metrics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict

from borderwatch.access.policy import Action, Resource
from borderwatch.core.clock import UtcDateTime
from borderwatch.core.errors import NotFoundError
from borderwatch.feedback import monitor
from borderwatch.scoring import registry
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated

router = APIRouter(tags=["models"], responses=ERROR_RESPONSES)


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


@router.get("/models", summary="Registered risk models of my agency, newest first")
def list_models(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MODEL))], paging: Paging
) -> Paginated[ModelOut]:
    rows = registry.list_models(session=guard.db, agency=guard.agency)
    guard.log()
    window = rows[paging.offset : paging.offset + paging.limit]
    return Paginated[ModelOut](
        items=[ModelOut.model_validate(r) for r in window],
        total=len(rows),
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/models/{version}", summary="One registered model version")
def get_model(
    version: Annotated[str, Path(min_length=1, max_length=64)],
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MODEL))],
) -> ModelOut:
    try:
        row = registry.get_model_row(session=guard.db, agency=guard.agency, version=version)
    except NotFoundError:
        raise guard.not_found() from None
    guard.record(record_agency=row.agency, resource_id=version)
    return ModelOut.model_validate(row)


@router.post("/models/{version}/promote", summary="Make a registered version my agency's active model")
def promote_model(
    version: Annotated[str, Path(min_length=1, max_length=64)],
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.MODEL))],
) -> ModelOut:
    try:
        row = registry.activate_model(
            session=guard.db, version=version, agency=guard.agency, by=guard.principal.username
        )
    except NotFoundError:
        raise guard.not_found() from None
    guard.log(resource_id=version, detail={"promoted": version})
    return ModelOut.model_validate(row)


@router.post("/models/rollback", summary="Re-activate the version that was active before the current one")
def rollback_model(guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.MODEL))]) -> ModelOut:
    try:
        previous = registry.previous_model_row(session=guard.db, agency=guard.agency)
    except NotFoundError as error:
        raise ApiError(409, str(error)) from None
    row = registry.activate_model(
        session=guard.db, version=previous.version, agency=guard.agency, by=guard.principal.username
    )
    guard.log(resource_id=row.version, detail={"rolled_back_to": row.version})
    return ModelOut.model_validate(row)


@router.get("/models/{version}/report", summary="A version's live hit rates, calibration and drift")
def model_report(
    version: Annotated[str, Path(min_length=1, max_length=64)],
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MODEL))],
    state: State,
) -> dict[str, Any]:
    try:
        row = registry.get_model_row(session=guard.db, agency=guard.agency, version=version)
    except NotFoundError:
        raise guard.not_found() from None
    guard.record(record_agency=row.agency, resource_id=version)
    report = monitor.model_report(
        engine=state.engine, session=guard.db, agency=guard.agency, model_version=version
    )
    return {"metrics": row.metrics, "active": row.active, **report}
