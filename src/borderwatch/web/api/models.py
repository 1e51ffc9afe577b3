"""The model registry of the scoring stage: versions, training windows, features and metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from borderwatch.access.policy import Action, Resource
from borderwatch.feedback import monitor
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES
from borderwatch.web.schemas import Paginated
from borderwatch.web.services import models as service
from borderwatch.web.services.models import ModelOut

router = APIRouter(tags=["models"], responses=ERROR_RESPONSES)


@router.get("/models", summary="Registered risk models of my agency, newest first")
def list_models(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MODEL))], paging: Paging
) -> Paginated[ModelOut]:
    return service.list_models(guard=guard, paging=paging)


@router.get("/models/{version}", summary="One registered model version")
def get_model(
    version: Annotated[str, Path(min_length=1, max_length=64)],
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MODEL))],
) -> ModelOut:
    return ModelOut.model_validate(service.model_for(guard, version))


@router.post("/models/{version}/promote", summary="Make a registered version my agency's active model")
def promote_model(
    version: Annotated[str, Path(min_length=1, max_length=64)],
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.MODEL))],
) -> ModelOut:
    return service.promote_model(version=version, guard=guard)


@router.post("/models/rollback", summary="Re-activate the version that was active before the current one")
def rollback_model(guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.MODEL))]) -> ModelOut:
    return service.rollback_model(guard=guard)


@router.get("/models/{version}/report", summary="A version's live hit rates, calibration and drift")
def model_report(
    version: Annotated[str, Path(min_length=1, max_length=64)],
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.MODEL))],
    state: State,
) -> dict[str, Any]:
    row = service.model_for(guard, version)
    report = monitor.model_report(
        engine=state.engine, session=guard.db, agency=guard.agency, model_version=version
    )
    return {"metrics": row.metrics, "active": row.active, **report}
