"""Risk profiles (analysts' rules) of an agency: list, read, create, replace, delete.

Every change is validated by the scoring stage's own parser (``parse_profiles``) before it is written, so
the API accepts exactly what ``borderwatch score`` will load. An agency's rules are YAML files, one per rule,
in ``<data_dir>/profiles/<agency>/`` (seeded from the shipped profiles on first use).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Body, Depends
from fastapi import Path as PathParam

from borderwatch.access.policy import Action, Resource
from borderwatch.core.errors import ConfigError
from borderwatch.core.settings import Settings
from borderwatch.scoring.profiles import DEFAULT_PROFILES_DIR, RiskProfile, load_profiles, parse_profiles
from borderwatch.web.caches import Cache
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated

router = APIRouter(tags=["risk profiles"], responses=ERROR_RESPONSES)

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
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
    """The agency's rule directory, created with the shipped profiles the first time it is needed."""
    path = settings.data_dir / "profiles" / agency
    if not path.exists():
        path.mkdir(parents=True)
        for shipped in sorted(DEFAULT_PROFILES_DIR.glob("*.yaml")):
            for profile in load_profiles(shipped):
                _write(path, profile)
    return path


def agency_profiles(settings: Settings, agency: str, *, cache: Cache | None = None) -> list[RiskProfile]:
    """The agency's rules; with ``cache``, parsed again only when a file changed."""
    directory = profiles_dir(settings, agency)
    if cache is None:
        return load_profiles(directory)
    signature = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.glob("*.yaml")))
    loaded: list[RiskProfile] = cache.get(
        ("profiles", str(directory), signature), lambda: load_profiles(directory)
    )
    return loaded


def _file(directory: Path, profile_id: str) -> Path:
    if not SAFE_ID.match(profile_id):
        raise ApiError(
            422,
            "a profile id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="id",
        )
    return directory / f"{profile_id}.yaml"


def _write(directory: Path, profile: RiskProfile) -> None:
    document = {"profiles": [profile.model_dump(mode="json", exclude_none=True)]}
    target = _file(directory, profile.id)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        yaml.safe_dump(document, stream, sort_keys=False, allow_unicode=True)
    Path(temporary).replace(target)  # atomic: a reader never sees half a rule


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
        raise ApiError(404, f"no risk profile {profile_id!r}")
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
        raise ApiError(404, f"no risk profile {profile_id!r}")
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
        raise ApiError(404, f"no risk profile {profile_id!r}")
    guard.record(record_agency=guard.agency, resource_id=profile_id)
    target.unlink()
