"""Risk profiles (analysts' rules) of an agency: list, read, create, replace, delete.

Every change is validated by the scoring stage's own parser (``parse_profiles``) before it is written, so
the API accepts exactly what ``borderwatch score`` will load. An agency's rules are YAML files, one per rule,
in ``<data_dir>/profiles/<agency>/`` (``scoring.profile_store``: seeded from the shipped profiles on first
use; ``borderwatch score`` and the demo read the same directory).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi import Path as PathParam

from borderwatch.access.policy import Action, Resource
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated
from borderwatch.web.services.profiles import (
    agency_profiles,
    profile_out,
    profile_path,
    profiles_dir,
    store_profile,
    validate_profile,
)

router = APIRouter(tags=["risk profiles"], responses=ERROR_RESPONSES)

ProfileId = Annotated[str, PathParam(min_length=1, max_length=64)]
ProfileBody = Annotated[
    dict[str, Any],
    Body(
        description="A risk profile as in the YAML files: id, name, rationale, author, when, effect, "
        "valid_from, valid_to, enabled",
        examples=[
            {
                "id": "RP-TEXTILE-LOW",
                "name": "Low value textiles",
                "rationale": "Undervaluation of garments",
                "author": "risk-unit",
                "when": {"all": [{"field": "hs2", "op": "in", "value": ["61", "62"]}]},
                "effect": {"add_points": 10},
            }
        ],
    ),
]


@router.get("/profiles", summary="Risk profiles of my agency")
def list_profiles(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.PROFILE))], state: State, paging: Paging
) -> Paginated[dict[str, Any]]:
    profiles = agency_profiles(state.settings, guard.agency)
    guard.log(detail={"count": len(profiles)})
    window = profiles[paging.offset : paging.offset + paging.limit]
    return Paginated[dict[str, Any]](
        items=[profile_out(p) for p in window], total=len(profiles), limit=paging.limit, offset=paging.offset
    )


@router.get("/profiles/{profile_id}", summary="One risk profile")
def get_profile(
    profile_id: ProfileId,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.PROFILE))],
    state: State,
) -> dict[str, Any]:
    found = [p for p in agency_profiles(state.settings, guard.agency) if p.id == profile_id]
    if not found:
        raise guard.not_found()
    guard.record(record_agency=guard.agency, resource_id=profile_id)
    return profile_out(found[0])


@router.post("/profiles", status_code=201, summary="Create a risk profile (validated like the YAML files)")
def create_profile(
    body: ProfileBody,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.PROFILE))],
    state: State,
) -> dict[str, Any]:
    profile = validate_profile(body)
    directory = profiles_dir(state.settings, guard.agency)
    if profile_path(directory, profile.id).exists():
        raise ApiError(409, f"risk profile {profile.id!r} already exists; replace it with PUT", field="id")
    store_profile(directory, profile)
    guard.log(resource_id=profile.id, detail={"profile": profile_out(profile)})
    return profile_out(profile)


@router.put("/profiles/{profile_id}", summary="Replace a risk profile")
def replace_profile(
    profile_id: ProfileId,
    body: ProfileBody,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.PROFILE))],
    state: State,
) -> dict[str, Any]:
    directory = profiles_dir(state.settings, guard.agency)
    if not profile_path(directory, profile_id).exists():
        raise guard.not_found()
    profile = validate_profile({**body, "id": profile_id})
    guard.record(record_agency=guard.agency, resource_id=profile_id, detail={"profile": profile_out(profile)})
    store_profile(directory, profile)
    return profile_out(profile)


@router.delete("/profiles/{profile_id}", status_code=204, summary="Delete a risk profile")
def delete_profile(
    profile_id: ProfileId,
    guard: Annotated[Guard, Depends(require(Action.DELETE, Resource.PROFILE))],
    state: State,
) -> None:
    target = profile_path(profiles_dir(state.settings, guard.agency), profile_id)
    if not target.exists():
        raise guard.not_found()
    guard.record(record_agency=guard.agency, resource_id=profile_id)
    target.unlink()
