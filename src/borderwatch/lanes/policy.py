"""The lane policy: capacities, control sample, AEO treatment. One YAML file or the defaults."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from borderwatch.core.errors import ConfigError

__all__ = [
    "CONTROL_RATE",
    "DEFAULT_RED_SHARE",
    "DEFAULT_YELLOW_SHARE",
    "EXAMPLE_POLICY",
    "Capacity",
    "LanePolicy",
    "agency_policy_path",
    "load_agency_policy",
    "load_policy",
]


class Capacity(BaseModel):
    """How many declarations of an office's day a lane may take: a ``share`` of the office's traffic (the
    default), or an absolute ``default`` number per office per day, or both (the share, at most that
    number). ``per_office`` gives named offices an absolute number instead.

    Shares keep the workload proportional to traffic: an absolute 20 red a day is 1 % of a busy office and
    41 % of a quiet one."""

    model_config = ConfigDict(extra="forbid")

    share: float | None = Field(default=None, ge=0.0, le=1.0, description="share of the office's day")
    default: int | None = Field(default=None, ge=0, description="absolute number per office per day")
    per_office: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_rule(self) -> Capacity:
        if self.share is None and self.default is None:
            raise ValueError("a capacity needs a share, a default number per office and day, or both")
        return self

    def for_office(self, office: str, declarations: int | None = None) -> int:
        """The capacity of ``office``'s day of ``declarations`` declarations (needed for a share)."""
        if office in self.per_office:
            return self.per_office[office]
        if self.share is None:
            assert self.default is not None  # the validator's rule
            return self.default
        if declarations is None:
            raise ValueError("a share-based capacity needs the number of declarations of the day")
        by_share = round(self.share * declarations)
        return by_share if self.default is None else min(by_share, self.default)

    def expected_share(self, office_days: Sequence[tuple[str, int]]) -> float:
        """The share of traffic this capacity takes over ``(office, declarations)`` days: the policy's own
        share, or what the absolute numbers come to on those days (arrival-time selection needs a share)."""
        if self.share is not None and not self.per_office and self.default is None:
            return self.share
        total = sum(count for _, count in office_days)
        if total == 0:
            return self.share if self.share is not None else 0.0
        taken = sum(min(self.for_office(office, count), count) for office, count in office_days)
        return taken / total


# The default control sample: the share of all declarations inspected at random (the replay uses it too).
CONTROL_RATE = 0.01
# The default capacities, as shares of each office's traffic (the example policy, lanes/policy.example.yaml).
DEFAULT_RED_SHARE = 0.05
DEFAULT_YELLOW_SHARE = 0.10


class LanePolicy(BaseModel):
    """How scores become lanes; its ``version`` is stored with every decision so it can be explained later."""

    model_config = ConfigDict(extra="forbid")

    version: str = "default-1"
    red: Capacity = Field(
        default_factory=lambda: Capacity(share=DEFAULT_RED_SHARE),
        description="physical inspections (the control sample included) per office per day",
    )
    yellow: Capacity = Field(
        default_factory=lambda: Capacity(share=DEFAULT_YELLOW_SHARE),
        description="documentary checks per office per day",
    )
    calibration_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="arrival-time selection: the recent days whose scores set the red and yellow thresholds",
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


EXAMPLE_POLICY = Path(__file__).parent / "policy.example.yaml"
"""The shipped, documented example policy (shares of traffic); ``borderwatch lanes policy`` prints it."""


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


def agency_policy_path(data_dir: Path, agency: str) -> Path:
    """Where an agency's own lane policy lives (``DATA_DIR/policies/AGENCY.yaml``)."""
    return data_dir / "policies" / f"{agency}.yaml"


def load_agency_policy(data_dir: Path, agency: str) -> LanePolicy:
    """The agency's lane policy: its file when there is one, else the defaults (capacity shares)."""
    path = agency_policy_path(data_dir, agency)
    return load_policy(path) if path.is_file() else LanePolicy()
