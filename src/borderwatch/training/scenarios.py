"""Training scenarios: one YAML file per tactic, validated with pydantic.

A scenario says what the trainee should learn (``objectives``), what to plant in the queue and how much
(``plant``: tactic → declarations), the queue's size and inspection budget, an optional time limit, whether
the model's aids are shown, the ``indicators`` a trainee should notice and the ``debrief`` text. Shipped
scenarios are in ``training/scenarios/``; instructors write more in the same form (``load_scenarios(path)``).
A malformed file is refused with an error naming the file, the scenario and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from borderwatch.core.errors import ConfigError
from borderwatch.synthetic import TACTICS
from borderwatch.training.indicators import INDICATORS

SHIPPED_DIR = Path(__file__).parent / "scenarios"


class Queue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(ge=5, le=500, description="declarations in the queue")
    budget: int = Field(ge=1, description="how many the trainee may send to inspection (red)")
    time_limit_seconds: int | None = Field(default=None, ge=30, le=4 * 3600)

    @model_validator(mode="after")
    def _budget_fits(self) -> Queue:
        if self.budget > self.size:
            raise ValueError(f"budget {self.budget} is larger than the queue ({self.size})")
        return self


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    title: str = Field(min_length=3, max_length=120)
    objectives: list[str] = Field(min_length=1)
    plant: dict[str, int] = Field(description="tactic → planted declarations in the queue")
    queue: Queue
    aids: bool = True
    indicators: list[str] = Field(min_length=1)
    debrief: str = Field(min_length=10)

    @field_validator("plant")
    @classmethod
    def _known_tactics(cls, plant: dict[str, int]) -> dict[str, int]:
        for tactic, count in plant.items():
            if tactic not in TACTICS:
                raise ValueError(f"unknown tactic {tactic!r}; known: {', '.join(TACTICS)}")
            if count < 0:
                raise ValueError(f"{tactic}: a count cannot be negative")
        return plant

    @field_validator("indicators")
    @classmethod
    def _known_indicators(cls, indicators: list[str]) -> list[str]:
        for indicator in indicators:
            if indicator not in INDICATORS:
                raise ValueError(f"unknown indicator {indicator!r}; known: {', '.join(INDICATORS)}")
        return indicators

    @model_validator(mode="after")
    def _plant_fits(self) -> Scenario:
        if sum(self.plant.values()) > self.queue.size:
            raise ValueError("the planted declarations do not fit in the queue")
        return self


def _first_error(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return field or "", str(first["msg"]).removeprefix("Value error, ")


def parse_scenario(document: Any, *, source: str) -> Scenario:
    """Validate one parsed YAML document; errors name ``source``, the scenario and the field."""
    if not isinstance(document, dict):
        raise ConfigError(path=source, reason="expected a mapping (id, title, objectives, plant, queue, ...)")
    item = str(document.get("id") or Path(source).stem)
    try:
        return Scenario.model_validate(document)
    except ValidationError as error:
        field, reason = _first_error(error)
        raise ConfigError(path=source, item=item, field=field or None, reason=reason) from error


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(path=str(path), reason=f"cannot read the file ({error.strerror})") from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(path=str(path), reason=f"not valid YAML ({error})") from error
    return parse_scenario(document, source=str(path))


def load_scenarios(path: Path = SHIPPED_DIR) -> list[Scenario]:
    """The scenarios of one file, or of every ``*.yaml`` in a folder (sorted by file name); ids are unique."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    found: list[Scenario] = []
    seen: dict[str, Path] = {}
    for file in files:
        scenario = load_scenario(file)
        if scenario.id in seen:
            raise ConfigError(
                path=str(file), item=scenario.id, field="id", reason=f"also used in {seen[scenario.id]}"
            )
        seen[scenario.id] = file
        found.append(scenario)
    return found


def agency_dir(data_dir: Path, agency: str) -> Path:
    """Where an agency's instructors put their own scenario files (beside the shipped ones)."""
    return data_dir / "training" / agency


def agency_scenarios(data_dir: Path, agency: str) -> list[Scenario]:
    """The shipped scenarios and the agency's own (``agency_dir``); an id may not be used twice."""
    shipped = load_scenarios(SHIPPED_DIR)
    folder = agency_dir(data_dir, agency)
    own = load_scenarios(folder) if folder.is_dir() else []
    known = {s.id for s in shipped}
    for scenario in own:
        if scenario.id in known:
            raise ConfigError(
                path=str(folder), item=scenario.id, field="id", reason="a shipped scenario has this id"
            )
    return shipped + own


def get_scenario(scenario_id: str, path: Path = SHIPPED_DIR) -> Scenario:
    """The scenario ``scenario_id`` (a shipped one by default); a ConfigError lists the known ids."""
    scenarios = {s.id: s for s in load_scenarios(path)}
    if scenario_id not in scenarios:
        raise ConfigError(
            path=str(path),
            item=scenario_id,
            reason=f"no such scenario; known: {', '.join(sorted(scenarios))}",
        )
    return scenarios[scenario_id]
