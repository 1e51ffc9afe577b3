"""Risk profiles of an agency for the API and the workspace's editor alike: where they are, validation by the
scoring stage's own parser (``parse_profiles``), and storing one (``scoring.profile_store``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from borderwatch.access.policy import Action
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
from borderwatch.web.deps import Guard
from borderwatch.web.errors import ApiError


def profiles_dir(settings: Settings, agency: str) -> Path:
    """The agency's rule directory (``scoring.profile_store``), seeded on first use."""
    return agency_profiles_dir(settings.data_dir, agency)


def agency_profiles(settings: Settings, agency: str, *, cache: Cache | None = None) -> list[RiskProfile]:
    """The agency's rules; with ``cache``, parsed again only when a file changed."""
    if cache is None:
        return load_profiles(profiles_dir(settings, agency))
    return cached_agency_profiles(settings.data_dir, agency, cache=cache)


def profile_path(directory: Path, profile_id: str) -> Path:
    try:
        return profile_file(directory, profile_id)
    except ConfigError as error:
        raise ApiError(422, error.reason, field="id") from None


def store_profile(directory: Path, profile: RiskProfile) -> None:
    profile_path(directory, profile.id)
    write_profile(directory, profile)


def validate_profile(body: dict[str, Any]) -> RiskProfile:
    try:
        (profile,) = parse_profiles({"profiles": [body]}, source="request")
    except ConfigError as error:
        field = error.field.removeprefix("profiles.0.") if error.field else None
        raise ApiError(422, f"{field}: {error.reason}" if field else error.reason, field=field) from None
    return profile


def create_or_replace(*, guard: Guard, settings: Settings, body: dict[str, Any]) -> RiskProfile:
    """Validate and store one profile of the guard's agency (the workspace's editor saves through this)."""
    profile = validate_profile(body)
    directory = profiles_dir(settings, guard.agency)
    exists = profile_path(directory, profile.id).exists()
    guard.record(
        record_agency=guard.agency,
        resource_id=profile.id,
        action=Action.UPDATE if exists else Action.CREATE,
        detail={"profile": profile_out(profile)},
    )
    store_profile(directory, profile)
    return profile


def profile_out(profile: RiskProfile) -> dict[str, Any]:
    return profile.model_dump(mode="json")
