"""Risk profiles (analysts' rules) of an agency: list, read, create, replace, delete.

Every change is validated by the scoring stage's own parser (``parse_profiles``) before it is written, so
the API accepts exactly what ``borderwatch score`` will load. An agency's rules are YAML files, one per rule,
in ``<data_dir>/profiles/<agency>/`` (``scoring.profile_store``: seeded from the shipped profiles on first
use; ``borderwatch score`` and the demo read the same directory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi import Path as PathParam

from borderwatch.access.policy import Action, Resource
from borderwatch.core.cache import Cache
from borderwatch.core.errors import ConfigError
from borderwatch.core.settings import Settings
from borderwatch.scoring.profile_store import (
    agency_profiles_dir,
    cached_agency_profiles,
    profile_file,
    write_profile,
)
from borderwatch.scoring.profiles import RiskProfile, load_profiles, parse_profiles
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated

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


def profiles_dir(settings: Settings, agency: str) -> Path:
    """The agency's rule directory (``scoring.profile_store``), seeded on first use."""
    return agency_profiles_dir(settings.data_dir, agency)


def agency_profiles(settings: Settings, agency: str, *, cache: Cache | None = None) -> list[RiskProfile]:
    """The agency's rules; with ``cache``, parsed again only when a file changed."""
    if cache is None:
        return load_profiles(profiles_dir(settings, agency))
    return cached_agency_profiles(settings.data_dir, agency, cache=cache)


def _file(directory: Path, profile_id: str) -> Path:
    try:
        return profile_file(directory, profile_id)
    except ConfigError as error:
        raise ApiError(422, error.reason, field="id") from None


def _write(directory: Path, profile: RiskProfile) -> None:
    _file(directory, profile.id)
    write_profile(directory, profile)


def _validate(body: dict[str, Any]) -> RiskProfile:
    try:
        (profile,) = parse_profiles({"profiles": [body]}, source="request")
    except ConfigError as error:
        field = error.field.removeprefix("profiles.0.") if error.field else None
        raise ApiError(422, f"{field}: {error.reason}" if field else error.reason, field=field) from None
    return profile


def create_or_replace(*, guard: Guard, settings: Settings, body: dict[str, Any]) -> RiskProfile:
    """Validate and store one profile of the guard's agency (the workspace's editor saves through this)."""
    profile = _validate(body)
    directory = profiles_dir(settings, guard.agency)
    exists = _file(directory, profile.id).exists()
    guard.record(
        record_agency=guard.agency,
        resource_id=profile.id,
        action=Action.UPDATE if exists else Action.CREATE,
        detail={"profile": _out(profile)},
    )
    _write(directory, profile)
    return profile


def _out(profile: RiskProfile) -> dict[str, Any]:
    return profile.model_dump(mode="json")


@router.get("/profiles", summary="Risk profiles of my agency")
def list_profiles(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.PROFILE))], state: State, paging: Paging
) -> Paginated[dict[str, Any]]:
    profiles = agency_profiles(state.settings, guard.agency)
    guard.log(detail={"count": len(profiles)})
    window = profiles[paging.offset : paging.offset + paging.limit]
    return Paginated[dict[str, Any]](
        items=[_out(p) for p in window], total=len(profiles), limit=paging.limit, offset=paging.offset
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
    return _out(found[0])


@router.post("/profiles", status_code=201, summary="Create a risk profile (validated like the YAML files)")
def create_profile(
    body: ProfileBody,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.PROFILE))],
    state: State,
) -> dict[str, Any]:
    profile = _validate(body)
    directory = profiles_dir(state.settings, guard.agency)
    if _file(directory, profile.id).exists():
        raise ApiError(409, f"risk profile {profile.id!r} already exists; replace it with PUT", field="id")
    _write(directory, profile)
    guard.log(resource_id=profile.id, detail={"profile": _out(profile)})
    return _out(profile)


@router.put("/profiles/{profile_id}", summary="Replace a risk profile")
def replace_profile(
    profile_id: ProfileId,
    body: ProfileBody,
    guard: Annotated[Guard, Depends(require(Action.UPDATE, Resource.PROFILE))],
    state: State,
) -> dict[str, Any]:
    directory = profiles_dir(state.settings, guard.agency)
    if not _file(directory, profile_id).exists():
        raise guard.not_found()
    profile = _validate({**body, "id": profile_id})
    guard.record(record_agency=guard.agency, resource_id=profile_id, detail={"profile": _out(profile)})
    _write(directory, profile)
    return _out(profile)


@router.delete("/profiles/{profile_id}", status_code=204, summary="Delete a risk profile")
def delete_profile(
    profile_id: ProfileId,
    guard: Annotated[Guard, Depends(require(Action.DELETE, Resource.PROFILE))],
    state: State,
) -> None:
    target = _file(profiles_dir(state.settings, guard.agency), profile_id)
    if not target.exists():
        raise guard.not_found()
    guard.record(record_agency=guard.agency, resource_id=profile_id)
    target.unlink()
