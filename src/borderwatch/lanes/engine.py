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

import polars as pl

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
    "aeo": pl.Boolean(),
    "control": pl.Boolean(),
    "priority": pl.Float64(),
    "lane": pl.String(),
    "basis": pl.String(),
    "selection_probability": pl.Float64(),
}

_HASH_SPAN = float(2**64)


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
            if name in {"importer_id", "score", "expected_duty", "forced_lane", "reasons"}
        )
    ).unique("lrn", keep="first", maintain_order=True)
    aeo_flags = mark_aeo(base, aeo)
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


def _rank_among(eligible: pl.Expr, group: list[str]) -> pl.Expr:
    """1-based rank by descending priority (ties: the control draw) among the eligible rows of a group."""
    key = pl.when(eligible).then(pl.col("priority").neg()).otherwise(float("inf"))
    return pl.struct(key, pl.col("_draw")).rank("ordinal").over(group)


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
        prepared = prepared.with_columns(
            pl.col("office")
            .cast(pl.String)
            .map_elements(policy.red.for_office, return_dtype=pl.Int64)
            .alias("_red_cap"),
            pl.col("office")
            .cast(pl.String)
            .map_elements(policy.yellow.for_office, return_dtype=pl.Int64)
            .alias("_yellow_cap"),
        )
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
    forced_red = pl.col("forced_lane").fill_null("") == "red"
    forced_green = pl.col("forced_lane").fill_null("") == "green"
    forced_yellow = pl.col("forced_lane").fill_null("") == "yellow"
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
    lane = (
        pl.when(fixed)
        .then(pl.col("forced_lane"))
        .when(control | pl.col("_score_red"))
        .then(pl.lit("red"))
        .when(forced_yellow | in_band)
        .then(pl.lit("yellow"))
        .otherwise(pl.lit("green"))
    )
    basis = (
        pl.when(fixed)
        .then(pl.lit(BASIS_MANDATORY))
        .when(control)
        .then(pl.lit(BASIS_CONTROL))
        .when(pl.col("_score_red"))
        .then(pl.lit(BASIS_RED_CAPACITY))
        .when(forced_yellow)
        .then(pl.lit(BASIS_MANDATORY))
        .when(in_band)
        .then(pl.lit(BASIS_YELLOW_BAND))
        .otherwise(pl.lit(BASIS_BELOW))
    )
    would_be_red = pl.col("_red_floor").is_not_null() & (pl.col("priority") >= pl.col("_red_floor"))
    propensity = (
        pl.when(forced_red)
        .then(1.0)
        .when(forced_green)
        .then(0.0)
        .when(pl.col("_score_red"))
        .then(1.0)
        .when(control & would_be_red)
        .then(1.0)
        .otherwise(pl.lit(policy.control_rate))
    )
    decided = ranked.with_columns(
        lane.alias("lane"), basis.alias("basis"), propensity.cast(pl.Float64).alias("selection_probability")
    )
    return decided.select(
        [
            pl.col(name).cast(dtype) if name != "reasons" else pl.col(name)
            for name, dtype in DECISION_SCHEMA.items()
        ]
    )
