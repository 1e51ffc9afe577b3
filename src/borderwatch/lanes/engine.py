"""Pure lane assignment over Polars frames: no database, no clock, same input -> same lanes.

Order of precedence inside each capacity group (office x day, or one batch with an explicit budget):

1. a mandatory rule (``forced_lane`` from a risk profile) decides the lane, whatever the score: red and green
   are final, yellow is a floor (the declaration still competes for red on its value, else goes yellow);
2. the random control sample (``control_rate`` of everything, drawn from a seeded hash of the LRN, so the
   draw is reproducible and independent of the score, of AEO status and of the order of rows) goes red;
3. the remaining red capacity goes to the best expected value (``aeo_factor`` lowers an AEO trader's value,
   so AEO traders are selected less often but keep the same odds in the control sample);
4. yellow takes the next band within its own capacity; everything else is green.

``selection_probability`` is the probability that the policy sends the declaration to red (1 for mandatory
and score-selected ones, ``control_rate`` for those only the control draw could reach); inverse-propensity
weighting in :mod:`borderwatch.feedback.weights` uses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from borderwatch.core.reasons import REASON_CODES
from borderwatch.core.vocabulary import (
    BASIS_BELOW,
    BASIS_CONTROL,
    BASIS_MANDATORY,
    BASIS_RED_CAPACITY,
    BASIS_YELLOW_BAND,
)
from borderwatch.lanes.policy import LanePolicy

SCORED_COLUMNS: tuple[str, ...] = ("lrn", "declared_on", "office", "fraud_probability")

DECISION_SCHEMA: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "declared_on": pl.Date(),
    "office": pl.String(),
    "importer_id": pl.String(),
    "score": pl.Float64(),
    "fraud_probability": pl.Float64(),
    "expected_duty": pl.Float64(),
    "forced_lane": pl.String(),
    "reasons": pl.List(pl.String()),
    "reason_codes": REASON_CODES,
    "aeo": pl.Boolean(),
    "control": pl.Boolean(),
    "priority": pl.Float64(),
    "lane": pl.String(),
    "basis": pl.String(),
    "selection_probability": pl.Float64(),
}

# The scores' reasons, passed on to the decision as they came (their types are the scorer's).
PASSED_ON = ("reasons", "reason_codes")

_HASH_SPAN = float(2**64)


def _decision_columns() -> list[pl.Expr]:
    return [
        pl.col(name) if name in PASSED_ON else pl.col(name).cast(dtype)
        for name, dtype in DECISION_SCHEMA.items()
    ]


def control_draws(lrns: Sequence[str] | pl.Series, *, seed: int) -> pl.Series:
    """A uniform number in [0, 1) per LRN from a keyed BLAKE2b hash: stable across runs and row order."""
    key = str(seed).encode()
    values = [
        int.from_bytes(hashlib.blake2b(str(lrn).encode(), digest_size=8, key=key).digest(), "big")
        / _HASH_SPAN
        for lrn in lrns
    ]
    return pl.Series("draw", values, dtype=pl.Float64)


def mark_aeo(frame: pl.DataFrame, aeo: pl.DataFrame | None) -> pl.Series:
    """True where the importer holds an AEO certificate valid on the declaration date.

    ``aeo`` has columns trader_id, valid_from, valid_to (null = open-ended).
    """
    if aeo is None or aeo.height == 0 or "importer_id" not in frame.columns:
        return pl.Series("aeo", [False] * frame.height, dtype=pl.Boolean)
    keyed = frame.select(pl.int_range(pl.len()).alias("_row"), "importer_id", "declared_on")
    hits = (
        keyed.join(aeo.rename({"trader_id": "importer_id"}), on="importer_id", how="inner")
        .filter(
            (pl.col("declared_on") >= pl.col("valid_from"))
            & (pl.col("valid_to").is_null() | (pl.col("declared_on") <= pl.col("valid_to")))
        )
        .select("_row")
        .unique()
    )
    flagged = keyed.select("_row").join(hits.with_columns(pl.lit(True).alias("aeo")), on="_row", how="left")
    return flagged.sort("_row")["aeo"].fill_null(False)


def _prepare(frame: pl.DataFrame, policy: LanePolicy, aeo: pl.DataFrame | None) -> pl.DataFrame:
    missing = [name for name in SCORED_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"scored declarations lack the column(s) {', '.join(missing)}")
    base = frame.with_columns(
        (
            pl.col(name) if name in frame.columns else pl.lit(None).cast(dtype).alias(name)
            for name, dtype in DECISION_SCHEMA.items()
            if name in {"importer_id", "score", "expected_duty", "forced_lane", *PASSED_ON}
        )
    ).unique("lrn", keep="first", maintain_order=True)
    # a frame of stored decisions carries the AEO status each was decided with
    stored_flags = "aeo" in frame.columns and aeo is None
    aeo_flags = base["aeo"].fill_null(False) if stored_flags else mark_aeo(base, aeo)
    value = {
        # the scorer's ranking (fraud probability and revenue at risk, plus rule, watchlist and anomaly
        # points): the order the worklist shows and the evaluation grades
        "score": pl.col("score").cast(pl.Float64).fill_null(pl.col("fraud_probability") * 100),
        "probability": pl.col("fraud_probability"),
        # already fraud probability x duty at stake
        "expected_duty": pl.col("expected_duty").cast(pl.Float64).fill_null(0.0).clip(lower_bound=0.0),
    }[policy.objective]
    return base.with_columns(
        aeo_flags.alias("aeo"),
        control_draws(base["lrn"], seed=policy.seed).alias("_draw"),
        pl.col("score").cast(pl.Float64),
        pl.col("expected_duty").cast(pl.Float64),
        pl.col("fraud_probability").cast(pl.Float64).fill_null(0.0),
    ).with_columns(
        (pl.col("_draw") < policy.control_rate).alias("control"),
        (value.fill_null(0.0) * pl.when(pl.col("aeo")).then(policy.aeo_factor).otherwise(1.0)).alias(
            "priority"
        ),
    )


def _day_capacities(prepared: pl.DataFrame, policy: LanePolicy) -> pl.DataFrame:
    """The red and yellow capacity of each office's day (a share of its declarations, or a number)."""
    days = prepared.group_by("office", "declared_on").len()
    return days.with_columns(
        pl.Series(
            "_red_cap",
            [policy.red.for_office(str(o), n) for o, n in days.select("office", "len").iter_rows()],
            dtype=pl.Int64,
        ),
        pl.Series(
            "_yellow_cap",
            [policy.yellow.for_office(str(o), n) for o, n in days.select("office", "len").iter_rows()],
            dtype=pl.Int64,
        ),
    ).drop("len")


def _rank_among(eligible: pl.Expr, group: list[str]) -> pl.Expr:
    """1-based rank by descending priority (ties: the control draw) among the eligible rows of a group."""
    key = pl.when(eligible).then(pl.col("priority").neg()).otherwise(float("inf"))
    return pl.struct(key, pl.col("_draw")).rank("ordinal").over(group)


_FORCED = pl.col("forced_lane").fill_null("")


def _decided(
    *, score_red: pl.Expr, in_band: pl.Expr, would_be_red: pl.Expr, policy: LanePolicy
) -> list[pl.Expr]:
    """``lane``, ``basis`` and ``selection_probability`` of each declaration, in batch and at arrival alike:
    a forced red or green is final, then the control sample, then red on the score (``score_red``), then a
    forced yellow or the yellow band (``in_band``), else green. The selection probability is 1 for what red
    takes for sure (forced, on the score, or a control draw that the score would have sent to red anyway), 0
    for a forced green, else the control rate."""
    fixed = _FORCED.is_in(["red", "green"])
    control = ~fixed & pl.col("control")
    lane = (
        pl.when(fixed)
        .then(_FORCED)
        .when(control | score_red)
        .then(pl.lit("red"))
        .when((_FORCED == "yellow") | in_band)
        .then(pl.lit("yellow"))
        .otherwise(pl.lit("green"))
    )
    basis = (
        pl.when(fixed)
        .then(pl.lit(BASIS_MANDATORY))
        .when(control)
        .then(pl.lit(BASIS_CONTROL))
        .when(score_red)
        .then(pl.lit(BASIS_RED_CAPACITY))
        .when(_FORCED == "yellow")
        .then(pl.lit(BASIS_MANDATORY))
        .when(in_band)
        .then(pl.lit(BASIS_YELLOW_BAND))
        .otherwise(pl.lit(BASIS_BELOW))
    )
    propensity = (
        pl.when(_FORCED == "red")
        .then(1.0)
        .when(_FORCED == "green")
        .then(0.0)
        .when(score_red | (control & would_be_red))
        .then(1.0)
        .otherwise(pl.lit(policy.control_rate))
    )
    return [
        lane.alias("lane"),
        basis.alias("basis"),
        propensity.cast(pl.Float64).alias("selection_probability"),
    ]


def assign_lanes_frame(
    frame: pl.DataFrame,
    *,
    policy: LanePolicy,
    aeo: pl.DataFrame | None = None,
    red_budget: int | None = None,
    yellow_budget: int | None = None,
) -> pl.DataFrame:
    """Lanes for scored declarations (columns lrn, declared_on, office, fraud_probability; optional score,
    expected_duty, forced_lane, reasons, importer_id). Returns exactly :data:`DECISION_SCHEMA`.

    Capacity is per office per day from ``policy``; ``red_budget``/``yellow_budget`` instead give one budget
    for the whole frame (a batch or a replay window).
    """
    if frame.height == 0:
        return pl.DataFrame(schema=DECISION_SCHEMA)
    prepared = _prepare(frame, policy, aeo)
    if red_budget is None:
        group = ["office", "declared_on"]
        prepared = prepared.join(_day_capacities(prepared, policy), on=group, how="left")
    else:
        group = ["_batch"]
        prepared = prepared.with_columns(
            pl.lit(0).alias("_batch"),
            pl.lit(red_budget, dtype=pl.Int64).alias("_red_cap"),
            pl.lit(yellow_budget if yellow_budget is not None else red_budget, dtype=pl.Int64).alias(
                "_yellow_cap"
            ),
        )
    # A forced red or green is final; a forced yellow is a floor (at least a documentary check): such a
    # declaration still competes for red on its expected value.
    forced_red = _FORCED == "red"
    forced_green = _FORCED == "green"
    forced_yellow = _FORCED == "yellow"
    fixed = forced_red | forced_green
    control = ~fixed & pl.col("control")
    candidate = ~fixed & ~pl.col("control")
    red_eligible = candidate & (pl.col("fraud_probability") >= policy.min_red_probability)
    ranked = prepared.with_columns(
        (pl.col("_red_cap") - forced_red.sum().over(group) - control.sum().over(group))
        .clip(lower_bound=0)
        .alias("_red_left"),
        pl.when(red_eligible).then(_rank_among(red_eligible, group)).alias("_red_rank"),
    )
    is_red = red_eligible & (pl.col("_red_rank") <= pl.col("_red_left"))
    ranked = ranked.with_columns(is_red.fill_null(False).alias("_score_red"))
    band = candidate & ~pl.col("_score_red") & ~forced_yellow
    ranked = ranked.with_columns(
        pl.when(band).then(_rank_among(band, group)).alias("_yellow_rank"),
        (pl.col("_yellow_cap") - (forced_yellow & ~pl.col("_score_red")).sum().over(group))
        .clip(lower_bound=0)
        .alias("_yellow_left"),
        pl.when(pl.col("_score_red"))
        .then(pl.col("priority"))
        .otherwise(None)
        .min()
        .over(group)
        .alias("_red_floor"),
    )
    in_band = band & (pl.col("_yellow_rank") <= pl.col("_yellow_left"))
    would_be_red = pl.col("_red_floor").is_not_null() & (pl.col("priority") >= pl.col("_red_floor"))
    decided = ranked.with_columns(
        _decided(score_red=pl.col("_score_red"), in_band=in_band, would_be_red=would_be_red, policy=policy)
    )
    return decided.select(_decision_columns())


# ------------------------------------------------------------------------------------ arrival-time selection
#
# A declaration that arrives alone cannot be ranked against the rest of its day, which has not arrived yet.
# Instead, thresholds are set on the recent days' declarations so that the expected share of red (and of
# yellow) matches the policy's capacity share, and each arriving declaration is compared with them at once.
# A key is (priority, control draw): the draw breaks ties the way the day-at-once engine does, so a long tie
# (many scores at one value) cannot overshoot the share.

CALIBRATION_COLUMNS: tuple[str, ...] = ("lrn", "declared_on", "office", "fraud_probability")


@dataclass(frozen=True)
class Thresholds:
    """Where arrival-time selection draws its lines: a free declaration (not forced, not in the control
    sample) goes red when its (priority, draw) key is at or above ``red``, yellow at or above ``yellow``."""

    red: tuple[float, float]
    yellow: tuple[float, float]
    red_share: float
    yellow_share: float
    sample: int

    def describe(self) -> dict[str, float | int]:
        return {
            "red_priority": self.red[0],
            "yellow_priority": self.yellow[0],
            "red_share": self.red_share,
            "yellow_share": self.yellow_share,
            "calibrated_on": self.sample,
        }


_NEVER = (float("inf"), 0.0)
_ALWAYS = (float("-inf"), 1.0)


def _key_at(frame: pl.DataFrame, position: int) -> tuple[float, float]:
    """The (priority, draw) key of the ``position``-th best row (1-based; a lower draw wins a tie, as in
    ``_rank_among``); below everything when there are fewer rows, above everything for position 0."""
    if position <= 0:
        return _NEVER
    if position > frame.height:
        return _ALWAYS
    ordered = frame.select("priority", "_draw").top_k(
        position, by=["priority", "_draw"], reverse=[False, True]
    )
    best = ordered.sort(["priority", "_draw"], descending=[False, True]).row(0)
    return float(best[0]), float(best[1])


def _count_at_or_above(frame: pl.DataFrame, key: tuple[float, float]) -> int:
    return frame.filter(
        (pl.col("priority") > key[0]) | ((pl.col("priority") == key[0]) & (pl.col("_draw") <= key[1]))
    ).height


def calibrate_thresholds(sample: pl.DataFrame, *, policy: LanePolicy) -> Thresholds:
    """Thresholds from ``sample``: recent scored declarations (columns lrn, declared_on, office,
    fraud_probability; optional score, expected_duty, forced_lane, importer_id, aeo), such that applying them
    to the sample sends the policy's share of it to red and to yellow, the forced lanes and the control
    sample counted in."""
    if sample.height == 0:
        return Thresholds(red=_NEVER, yellow=_NEVER, red_share=0.0, yellow_share=0.0, sample=0)
    prepared = _prepare(sample, policy, None)
    days = prepared.group_by("office", "declared_on").len()
    office_days = [(str(office), int(count)) for office, _, count in days.iter_rows()]
    red_share = policy.red.expected_share(office_days)
    yellow_share = policy.yellow.expected_share(office_days)
    forced = _FORCED
    fixed = forced.is_in(["red", "green"])
    n = prepared.height
    forced_red = prepared.filter(forced == "red").height
    control = prepared.filter(~fixed & pl.col("control")).height
    free = prepared.filter(~fixed & ~pl.col("control"))
    eligible = free.filter(pl.col("fraud_probability") >= policy.min_red_probability)
    red_count = max(0, round(red_share * n) - forced_red - control)
    red = _key_at(eligible, red_count)
    band = free.filter(forced != "yellow")
    forced_yellow = free.filter(forced == "yellow").height
    yellow_count = max(0, round(yellow_share * n) - forced_yellow)
    yellow = _key_at(band, _count_at_or_above(band, red) + yellow_count) if yellow_count else red
    return Thresholds(red=red, yellow=yellow, red_share=red_share, yellow_share=yellow_share, sample=n)


def assign_lanes_at_arrival(
    frame: pl.DataFrame, *, policy: LanePolicy, thresholds: Thresholds, aeo: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Lanes for arriving scored declarations (the columns of :func:`assign_lanes_frame`), each decided on
    its own against ``thresholds`` (:func:`calibrate_thresholds`): a forced lane first (red and green
    final, yellow a floor), then the control draw, then the red and yellow thresholds. Returns exactly
    :data:`DECISION_SCHEMA`; ``selection_probability`` as :func:`assign_lanes_frame` gives it."""
    if frame.height == 0:
        return pl.DataFrame(schema=DECISION_SCHEMA)
    prepared = _prepare(frame, policy, aeo)
    red_key, yellow_key = thresholds.red, thresholds.yellow

    def at_or_above(key: tuple[float, float]) -> pl.Expr:
        return (pl.col("priority") > key[0]) | ((pl.col("priority") == key[0]) & (pl.col("_draw") <= key[1]))

    fixed = _FORCED.is_in(["red", "green"])
    would_be_red = at_or_above(red_key) & (pl.col("fraud_probability") >= policy.min_red_probability)
    score_red = ~fixed & ~pl.col("control") & would_be_red
    in_band = ~fixed & ~pl.col("control") & ~would_be_red & at_or_above(yellow_key)
    decided = prepared.with_columns(
        _decided(score_red=score_red, in_band=in_band, would_be_red=would_be_red, policy=policy)
    )
    return decided.select(_decision_columns())
