"""Risk profiles: rules written by analysts in YAML, validated strictly, evaluated as Polars expressions.

A file holds ``profiles:``, a list of rules. Each rule has an id, a name, a rationale, an author, a
condition tree (``all`` / ``any`` of ``{field, op, value}`` leaves, nested freely; never ``eval``), an effect
(``add_points`` and/or ``force_lane``), an optional validity window and an ``enabled`` flag::

    profiles:
      - id: RP-UV-LOW
        name: Very low unit value for textiles from high-risk origins
        rationale: Under-valuation of garments is the most frequent revenue fraud.
        author: risk-unit
        when:
          all:
            - {field: hs2, op: in, value: ["61", "62"]}
            - {field: unit_value_z, op: lt, value: -2.5}
        effect: {add_points: 15}
        valid_from: 2020-01-01

Fields are the columns of the declaration frame (``ingest.frame.DECLARATION_SCHEMA``) plus the derived
columns listed in :data:`PROFILE_FIELDS`. A malformed file raises :class:`ConfigError` naming the file, the
rule and the field.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from borderwatch.core.errors import ConfigError
from borderwatch.core.vocabulary import LANE_SEVERITY, Lane
from borderwatch.ingest.frame import DECLARATION_SCHEMA
from borderwatch.scoring.documents import DOCUMENT_FIELDS
from borderwatch.scoring.manifest import MANIFEST_FIELDS
from borderwatch.scoring.vehicles import VEHICLE_FIELDS

DEFAULT_PROFILES_DIR = Path(__file__).parent / "profiles"
SCREENING_FIELDS = ("screening_score",)

SMALL_FRAME = 16  # up to this many rows, points, lanes and ids are combined in plain Python

# Derived columns a rule may test besides the declaration columns; the feature builder provides them all.
DERIVED_FIELDS: dict[str, str] = {
    "hs2": "string",
    "hs4": "string",
    "unit_value": "number",
    "unit_value_z": "number",
    "duty_at_stake": "number",
    "transit_count": "number",
    "origin_differs": "number",
    "importer_count": "number",
    "importer_days_since": "number",
    "importer_hit_rate": "number",
    "importer_inspected": "number",
    "declarant_hit_rate": "number",
    "seller_hit_rate": "number",
    "new_importer": "number",
    "new_importer_hs": "number",
    "new_importer_route": "number",
    # counts of findings of the document ledger (``scoring.documents``); 0 where no check ran
    "document_reused": "number",
    "document_altered": "number",
    "document_unregistered": "number",
    # counts of manifest discrepancies (``scoring.manifest``); 0 where no reconciliation ran
    **dict.fromkeys(MANIFEST_FIELDS, "number"),
    # the best watchlist match of the declaration's parties (0..1); 0 where no party was screened or hit
    **dict.fromkeys(SCREENING_FIELDS, "number"),
    # counts of alerts on the declaration's vehicle (``scoring.vehicles``); 0 where no vehicle check ran
    **dict.fromkeys(VEHICLE_FIELDS, "number"),
}
NUMERIC_DECLARATION_FIELDS = {"net_mass", "customs_value", "tax_rate", "item_no"}
PROFILE_FIELDS: dict[str, str] = {
    **{
        name: (
            "number" if name in NUMERIC_DECLARATION_FIELDS else "date" if name == "declared_on" else "string"
        )
        for name in DECLARATION_SCHEMA
    },
    **DERIVED_FIELDS,
}

Operator = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "ge",
    "lt",
    "le",
    "between",
    "startswith",
    "contains",
    "is_null",
    "not_null",
]
_LIST_OPERATORS = {"in", "not_in"}
_ORDER_OPERATORS = {"gt", "ge", "lt", "le"}
_NULL_OPERATORS = {"is_null", "not_null"}
_TEXT_OPERATORS = {"startswith", "contains"}

Scalar = str | int | float | bool


class Leaf(BaseModel):
    """One test of one field: ``{field: tax_rate, op: ge, value: 8}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: Operator
    value: Scalar | list[Scalar] | None = None

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in PROFILE_FIELDS:
            known = ", ".join(sorted(PROFILE_FIELDS))
            raise ValueError(f"unknown field {value!r}; known fields: {known}")
        return value

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Leaf:
        kind = PROFILE_FIELDS[self.field]
        if self.op in _NULL_OPERATORS:
            if self.value is not None:
                raise ValueError(f"operator {self.op!r} takes no value")
            return self
        if self.value is None:
            raise ValueError(f"operator {self.op!r} needs a value")
        if self.op in _LIST_OPERATORS:
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"operator {self.op!r} needs a non-empty list value")
        elif self.op == "between":
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError("operator 'between' needs a list of two values [low, high]")
        elif isinstance(self.value, list):
            raise ValueError(f"operator {self.op!r} needs a single value, not a list")
        if self.op in _TEXT_OPERATORS and kind != "string":
            raise ValueError(f"operator {self.op!r} applies to text fields, and {self.field!r} is a {kind}")
        values = self.value if isinstance(self.value, list) else [self.value]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if kind == "number" and (self.op in _ORDER_OPERATORS or self.op == "between") and not numeric:
            raise ValueError(f"field {self.field!r} is a number; compare it with numbers")
        return self

    def expression(self) -> pl.Expr:
        column = pl.col(self.field)
        kind = PROFILE_FIELDS[self.field]
        value: Any = self.value
        if kind == "string" and value is not None:
            value = [str(v) for v in value] if isinstance(value, list) else str(value)
        if kind == "date" and value is not None:
            value = (
                [dt.date.fromisoformat(str(v)) for v in value]
                if isinstance(value, list)
                else dt.date.fromisoformat(str(value))
            )
        result: pl.Expr
        match self.op:
            case "eq":
                result = column == pl.lit(value)
            case "ne":
                result = column != pl.lit(value)
            case "in":
                result = column.is_in(list(value) if isinstance(value, list) else [value])
            case "not_in":
                result = ~column.is_in(list(value) if isinstance(value, list) else [value])
            case "gt":
                result = column > pl.lit(value)
            case "ge":
                result = column >= pl.lit(value)
            case "lt":
                result = column < pl.lit(value)
            case "le":
                result = column <= pl.lit(value)
            case "between":
                assert isinstance(value, list)
                result = column.is_between(pl.lit(value[0]), pl.lit(value[1]))
            case "startswith":
                result = column.str.starts_with(str(value))
            case "contains":
                result = column.str.contains(str(value), literal=True)
            case "is_null":
                result = column.is_null()
            case "not_null":
                result = column.is_not_null()
        # A test on a missing value is false (except is_null), never null.
        return result.fill_null(False)

    def describe(self) -> str:
        if self.op in _NULL_OPERATORS:
            return f"{self.field} {self.op.replace('_', ' ')}"
        return f"{self.field} {self.op} {self.value}"


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    all: list[Condition] = Field(min_length=1)

    def expression(self) -> pl.Expr:
        return pl.all_horizontal([c.expression() for c in self.all])


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    any: list[Condition] = Field(min_length=1)

    def expression(self) -> pl.Expr:
        return pl.any_horizontal([c.expression() for c in self.any])


Condition = Annotated[Leaf | AllOf | AnyOf, Field(union_mode="left_to_right")]
AllOf.model_rebuild()
AnyOf.model_rebuild()


class Effect(BaseModel):
    """What a hit does: add risk points (to the 0-100 score, capped) and/or force a lane."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    add_points: float = Field(default=0.0, ge=-100, le=100)
    force_lane: Lane | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Effect:
        if self.add_points == 0 and self.force_lane is None:
            raise ValueError("an effect needs add_points (non-zero) or force_lane")
        return self


MAX_CONDITION_DEPTH = 32
"""Levels of ``all``/``any`` a rule's condition may nest."""


class RiskProfile(BaseModel):
    """One analyst rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    author: str = Field(min_length=1)
    when: AllOf | AnyOf
    effect: Effect
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    enabled: bool = True

    @field_validator("when", mode="before")
    @classmethod
    def _shallow(cls, value: Any) -> Any:
        # Checked before the nested models are built: far deeper than any rule a person writes, a condition
        # tree exhausts the recursion of validation, YAML and JSON writers (a 500 and a half-written file).
        depth, level = 0, [value]
        while level:
            depth += 1
            if depth > MAX_CONDITION_DEPTH:
                raise ValueError(f"conditions are nested more than {MAX_CONDITION_DEPTH} levels deep")
            level = [
                child
                for node in level
                if isinstance(node, dict)
                for key in ("all", "any")
                if isinstance(node.get(key), list)
                for child in node[key]
            ]
        return value

    @model_validator(mode="after")
    def _window(self) -> RiskProfile:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    def fields(self) -> set[str]:
        found: set[str] = set()

        def walk(node: Leaf | AllOf | AnyOf) -> None:
            if isinstance(node, Leaf):
                found.add(node.field)
            else:
                for child in node.all if isinstance(node, AllOf) else node.any:
                    walk(child)

        walk(self.when)
        return found

    def expression(self) -> pl.Expr:
        """True where the rule hits a row: enabled, inside its validity window, condition true."""
        if not self.enabled:
            return pl.lit(False)
        hit = self.when.expression()
        if self.valid_from is not None:
            hit = hit & (pl.col("declared_on") >= pl.lit(self.valid_from))
        if self.valid_to is not None:
            hit = hit & (pl.col("declared_on") <= pl.lit(self.valid_to))
        return hit.fill_null(False)


class _ProfileFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profiles: list[dict[str, Any]]


def _first_error(error: ValidationError) -> tuple[str | None, str]:
    """The field path and message of the first validation error, in words a person can act on."""
    first = error.errors()[0]
    # Drop pydantic's internal steps (union members, validator wrappers): keep the path a person wrote.
    location = [
        str(part)
        for part in first["loc"]
        if str(part) not in {"Leaf", "AllOf", "AnyOf"} and "[" not in str(part)
    ]
    field = ".".join(location) or None
    reason = str(first["msg"]).removeprefix("Value error, ")
    given = first.get("input")
    if isinstance(given, str | int | float) and first["type"] in {"literal_error", "string_type", "enum"}:
        reason += f" (got {given!r})"
    return field, reason


def parse_profiles(documents: Any, *, source: str) -> list[RiskProfile]:
    """Validate already-parsed YAML content; errors name ``source``, the rule and the field."""
    if not isinstance(documents, dict):
        raise ConfigError(path=source, reason="expected a mapping with a 'profiles' list at the top")
    try:
        container = _ProfileFile.model_validate(documents)
    except ValidationError as error:
        field, reason = _first_error(error)
        raise ConfigError(path=source, field=field, reason=reason) from error
    profiles: list[RiskProfile] = []
    seen: set[str] = set()
    for index, raw in enumerate(container.profiles):
        item = str(raw.get("id") or f"#{index + 1}")
        try:
            profile = RiskProfile.model_validate(raw)
        except ValidationError as error:
            field, reason = _first_error(error)
            raise ConfigError(path=source, item=item, field=field, reason=reason) from error
        if profile.id in seen:
            raise ConfigError(path=source, item=item, field="id", reason="duplicate rule id")
        seen.add(profile.id)
        profiles.append(profile)
    return profiles


def load_profiles(path: Path) -> list[RiskProfile]:
    """Rules from one YAML file, or from every ``*.yaml`` in a directory (sorted by name)."""
    if path.is_dir():
        found: list[RiskProfile] = []
        for file in sorted(path.glob("*.yaml")):
            found.extend(load_profiles(file))
        ids = [p.id for p in found]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigError(
                path=str(path), item=duplicates[0], field="id", reason="rule id used in two files"
            )
        return found
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(path=str(path), reason=f"cannot read the file ({error.strerror})") from error
    try:
        documents = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(path=str(path), reason=f"not valid YAML ({error})") from error
    return parse_profiles(documents, source=str(path))


def default_profiles() -> list[RiskProfile]:
    """The risk profiles shipped with borderwatch (``scoring/profiles/*.yaml``)."""
    return load_profiles(DEFAULT_PROFILES_DIR)


def evaluate_profiles(features: pl.DataFrame, profiles: Sequence[RiskProfile]) -> pl.DataFrame:
    """Per row: ``rule_points`` (sum of the hits' points), ``forced_lane`` (strictest forced lane) and
    ``rule_hits`` (ids of the rules that hit), computed as one vectorised select over ``features``."""
    height = features.height
    if not profiles:
        return pl.DataFrame(
            {
                "rule_points": pl.Series([0.0] * height, dtype=pl.Float64),
                "forced_lane": pl.Series([None] * height, dtype=pl.String),
                "rule_hits": pl.Series([[]] * height, dtype=pl.List(pl.String)),
            }
        )
    wanted = {f for p in profiles for f in p.fields()}
    absent = [
        name
        for name in (*DOCUMENT_FIELDS, *MANIFEST_FIELDS, *SCREENING_FIELDS, *VEHICLE_FIELDS)
        if name in wanted and name not in features.columns
    ]
    if absent:  # no document check or reconciliation ran: nothing was found
        features = features.with_columns(pl.lit(0, dtype=pl.Int32).alias(name) for name in absent)
    missing = sorted(wanted - set(features.columns))
    if missing:
        raise ConfigError(path="risk profiles", field=missing[0], reason="field not available for scoring")
    hits = features.select([_hit_expression(p).alias(f"hit_{i}") for i, p in enumerate(profiles)])
    lane_rank = LANE_SEVERITY
    if height <= SMALL_FRAME:
        return _combine_few(hits, profiles, lane_rank)
    points = pl.sum_horizontal(
        [pl.col(f"hit_{i}").cast(pl.Float64) * p.effect.add_points for i, p in enumerate(profiles)]
    )
    lane_codes = [
        pl.when(pl.col(f"hit_{i}")).then(lane_rank[p.effect.force_lane]).otherwise(0)
        for i, p in enumerate(profiles)
        if p.effect.force_lane
    ]
    lane_code = pl.max_horizontal(lane_codes) if lane_codes else pl.lit(0)
    ids = pl.concat_list(
        [pl.when(pl.col(f"hit_{i}")).then(pl.lit(p.id)).otherwise(None) for i, p in enumerate(profiles)]
    ).list.drop_nulls()
    return hits.select(
        points.alias("rule_points"),
        lane_code.replace_strict(
            {code: lane for lane, code in lane_rank.items()}, default=None, return_dtype=pl.String
        ).alias("forced_lane"),
        ids.alias("rule_hits"),
    )


def _combine_few(
    hits: pl.DataFrame, profiles: Sequence[RiskProfile], lane_rank: dict[str, int]
) -> pl.DataFrame:
    """:func:`evaluate_profiles`'s points, lane and ids from the hits of a few rows, in plain Python: on a row
    or two each Polars expression costs tens of microseconds whatever it computes."""
    lane_of = {rank: lane for lane, rank in lane_rank.items()}
    points: list[float] = []
    lanes: list[str | None] = []
    ids: list[list[str]] = []
    for row in hits.rows():
        # the same left-to-right sum as sum_horizontal, so that -0.0 and rounding come out alike
        points.append(
            functools.reduce(
                operator.add, [float(hit) * p.effect.add_points for hit, p in zip(row, profiles, strict=True)]
            )
        )
        forced = [
            lane_rank[p.effect.force_lane]
            for hit, p in zip(row, profiles, strict=True)
            if hit and p.effect.force_lane
        ]
        lanes.append(lane_of.get(max(forced, default=0)))
        ids.append([p.id for hit, p in zip(row, profiles, strict=True) if hit])
    return pl.DataFrame(
        {"rule_points": points, "forced_lane": lanes, "rule_hits": ids},
        schema={"rule_points": pl.Float64(), "forced_lane": pl.String(), "rule_hits": pl.List(pl.String())},
    )


# Profile expressions by the id of their (immutable) profile, each held with its profile so that the id is
# not reused while cached: building them costs about as much as evaluating them on one row.
_EXPRESSIONS: dict[int, tuple[RiskProfile, pl.Expr]] = {}
_EXPRESSIONS_HELD = 4096


def _hit_expression(profile: RiskProfile) -> pl.Expr:
    held = _EXPRESSIONS.get(id(profile))
    if held is None or held[0] is not profile:
        if len(_EXPRESSIONS) >= _EXPRESSIONS_HELD:
            _EXPRESSIONS.clear()
        held = (profile, profile.expression())
        _EXPRESSIONS[id(profile)] = held
    return held[1]
