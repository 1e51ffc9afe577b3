"""The lane policy: capacities, control sample, AEO treatment. One YAML file or the defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from borderwatch.core.errors import ConfigError
from borderwatch.core.vocabulary import LANES, Lane

__all__ = ["CONTROL_RATE", "LANES", "Capacity", "Lane", "LanePolicy", "load_policy"]


class Capacity(BaseModel):
    """Inspections an office can do per day; ``per_office`` overrides ``default`` for named offices."""

    model_config = ConfigDict(extra="forbid")

    default: int = Field(default=20, ge=0)
    per_office: dict[str, int] = Field(default_factory=dict)

    def for_office(self, office: str) -> int:
        return self.per_office.get(office, self.default)


# The default control sample: the share of all declarations inspected at random (the replay uses it too).
CONTROL_RATE = 0.01


class LanePolicy(BaseModel):
    """How scores become lanes; its ``version`` is stored with every decision so it can be explained later."""

    model_config = ConfigDict(extra="forbid")

    version: str = "default-1"
    red: Capacity = Field(default_factory=Capacity, description="physical inspections per office per day")
    yellow: Capacity = Field(
        default_factory=lambda: Capacity(default=40), description="documentary checks per office per day"
    )
    control_rate: float = Field(
        default=CONTROL_RATE,
        ge=0.0,
        le=1.0,
        description="share of all declarations drawn at random for inspection",
    )
    aeo_factor: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="multiplier on an AEO trader's expected value: lower selection odds, same control odds",
    )
    objective: Literal["score", "probability", "expected_duty"] = Field(
        default="score",
        description="what 'best expected value' ranks by: the risk score (fraud probability and revenue at "
        "risk, with rule, watchlist and anomaly points), the fraud probability alone, or the expected duty "
        "(probability x duty at stake)",
    )
    min_red_probability: float = Field(
        default=0.0, ge=0.0, le=1.0, description="never spend a red slot on a lower fraud probability"
    )
    seed: int = 42


def load_policy(path: Path) -> LanePolicy:
    """A policy from a YAML file; a bad file raises ``ConfigError`` naming the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(path=str(path), reason=f"cannot read the lane policy: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(path=str(path), reason="a lane policy must be a mapping")
    try:
        return LanePolicy.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ConfigError(path=str(path), field=field, reason=first["msg"]) from error
