"""An agency's risk profiles on disk: one YAML file per rule in ``<data_dir>/profiles/<agency>/``.

The directory is seeded from the shipped profiles the first time it is needed; from then on analysts edit
it (the workspace's editor, the API, or by hand) and every scorer of that agency — ``borderwatch score``,
``borderwatch lanes assign``, the API, the demo — loads the same rules from it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import yaml

from borderwatch.core.cache import Cache
from borderwatch.core.errors import ConfigError
from borderwatch.scoring.profiles import DEFAULT_PROFILES_DIR, RiskProfile, load_profiles

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
UNSAFE_ID = "a profile id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"


def agency_profiles_dir(data_dir: Path, agency: str) -> Path:
    """The agency's rule directory, created with the shipped profiles the first time it is needed."""
    path = data_dir / "profiles" / agency
    if not path.exists():
        path.mkdir(parents=True)
        for shipped in sorted(DEFAULT_PROFILES_DIR.glob("*.yaml")):
            for profile in load_profiles(shipped):
                write_profile(path, profile)
    return path


def load_agency_profiles(data_dir: Path, agency: str) -> list[RiskProfile]:
    """The agency's rules as they are on disk now."""
    return load_profiles(agency_profiles_dir(data_dir, agency))


def cached_agency_profiles(data_dir: Path, agency: str, *, cache: Cache) -> list[RiskProfile]:
    """The agency's rules from ``cache``, parsed again only when a file changed."""
    directory = agency_profiles_dir(data_dir, agency)
    signature = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.glob("*.yaml")))
    loaded: list[RiskProfile] = cache.get(
        ("profiles", str(directory), signature), lambda: load_profiles(directory)
    )
    return loaded


def profile_file(directory: Path, profile_id: str) -> Path:
    """Where the rule ``profile_id`` lives; ``ConfigError`` for an id that could escape the directory."""
    if not SAFE_ID.match(profile_id):
        raise ConfigError(path=str(directory), item=profile_id, field="id", reason=UNSAFE_ID)
    return directory / f"{profile_id}.yaml"


def write_profile(directory: Path, profile: RiskProfile) -> None:
    """Store one rule, atomically: a scorer never reads half a rule."""
    document = {"profiles": [profile.model_dump(mode="json", exclude_none=True)]}
    target = profile_file(directory, profile.id)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yaml.safe_dump(document, stream, sort_keys=False, allow_unicode=True)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)  # never leave half a rule behind
        raise
