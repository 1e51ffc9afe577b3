"""Arrival-time selection: each declaration decided as it arrives against thresholds calibrated on the
recent days, so that the share of red (and yellow) follows the policy's capacity shares."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from borderwatch.core.vocabulary import BASIS_CONTROL, BASIS_MANDATORY
from borderwatch.lanes.engine import (
    DECISION_SCHEMA,
    assign_lanes_at_arrival,
    assign_lanes_frame,
    calibrate_thresholds,
)
from borderwatch.lanes.policy import EXAMPLE_POLICY, Capacity, LanePolicy, load_policy

START = date(2026, 3, 2)


def week(seed: int, *, per_day: int = 400, tied_share: float = 0.08) -> pl.DataFrame:
    """A generated week of scored traffic in three offices of different sizes, with a long tie at 100 and a
    few lanes forced by risk profiles, in arrival order."""
    rng = np.random.default_rng(seed)
    n = per_day * 7
    score = rng.beta(2, 5, n) * 100
    score[rng.random(n) < tied_share] = 100.0  # rule points push many to the cap
    forced = rng.random(n)
    return pl.DataFrame(
        {
            "lrn": [f"W{seed}-{i:06d}" for i in range(n)],
            "declared_on": [START + timedelta(days=i // per_day) for i in range(n)],
            "office": rng.choice(["030", "040", "050"], size=n, p=[0.6, 0.3, 0.1]).tolist(),
            "importer_id": [f"IMP{i % 97}" for i in range(n)],
            "score": score,
            "fraud_probability": score / 100,
            "expected_duty": rng.random(n) * 1000,
            "forced_lane": pl.Series(
                ["red" if f < 0.004 else "yellow" if f < 0.006 else None for f in forced.tolist()],
                dtype=pl.String,
            ),
        }
    )


def arrive(traffic: pl.DataFrame, policy: LanePolicy, *, batch: int) -> pl.DataFrame:
    """Decide ``traffic`` ``batch`` declarations at a time, each batch against thresholds calibrated on the
    decisions of the recent days and the batch itself, as ``lanes.service.decide_at_arrival`` does."""
    decided: list[pl.DataFrame] = []
    for start in range(0, traffic.height, batch):
        arriving = traffic.slice(start, batch)
        last = arriving["declared_on"].max()
        assert isinstance(last, date)
        earlier = pl.concat(decided) if decided else pl.DataFrame(schema=DECISION_SCHEMA)
        recent = earlier.filter(
            pl.col("declared_on") > last - timedelta(days=policy.calibration_days)
        ).with_columns(
            pl.when(pl.col("basis") == BASIS_MANDATORY)
            .then(pl.col("lane"))
            .otherwise(None)
            .alias("forced_lane")
        )
        sample = pl.concat(
            [
                recent.select(
                    "lrn",
                    "declared_on",
                    "office",
                    "score",
                    "fraud_probability",
                    "expected_duty",
                    "aeo",
                    "forced_lane",
                ),
                arriving.with_columns(pl.lit(False).alias("aeo")).select(
                    "lrn",
                    "declared_on",
                    "office",
                    "score",
                    "fraud_probability",
                    "expected_duty",
                    "aeo",
                    "forced_lane",
                ),
            ]
        )
        thresholds = calibrate_thresholds(sample, policy=policy)
        decided.append(assign_lanes_at_arrival(arriving, policy=policy, thresholds=thresholds))
    return pl.concat(decided)


@pytest.mark.parametrize(("seed", "batch"), [(1, 25), (2, 60), (3, 8)])
def test_red_share_stays_within_a_point_of_the_policy_over_a_generated_week(seed: int, batch: int) -> None:
    policy = LanePolicy(red=Capacity(share=0.05), yellow=Capacity(share=0.10), control_rate=0.01, seed=seed)
    traffic = week(seed, per_day=400)
    decisions = arrive(traffic, policy, batch=batch)
    assert decisions.height == traffic.height
    # the first batch of the week calibrates on itself alone: judge the days that have a history
    later = decisions.filter(pl.col("declared_on") > START)
    red = later["lane"].eq("red").mean()
    yellow = later["lane"].eq("yellow").mean()
    assert isinstance(red, float) and isinstance(yellow, float)
    assert abs(red - 0.05) <= 0.01, red
    assert abs(yellow - 0.10) <= 0.02, yellow
    # every forced red stays red, the control sample is drawn at arrival whatever the score
    forced = traffic.filter(pl.col("forced_lane") == "red")["lrn"]
    assert decisions.filter(pl.col("lrn").is_in(forced))["lane"].eq("red").all()
    control = decisions.filter(pl.col("basis") == BASIS_CONTROL)
    assert 0 < control.height < 0.02 * decisions.height
    assert set(control["selection_probability"].to_list()) <= {policy.control_rate, 1.0}


def test_a_long_tie_at_the_top_does_not_overshoot_the_share() -> None:
    """A third of the traffic at score 100: the draw breaks the tie, red stays at the share."""
    policy = LanePolicy(red=Capacity(share=0.05), yellow=Capacity(share=0.10), control_rate=0.0)
    traffic = week(7, per_day=300, tied_share=0.33)
    decisions = arrive(traffic, policy, batch=50).filter(pl.col("declared_on") > START)
    red = decisions["lane"].eq("red").mean()
    assert isinstance(red, float) and abs(red - 0.05) <= 0.01, red


def test_the_old_absolute_default_on_a_busy_day_sent_far_more_than_the_share_to_red() -> None:
    """What share capacities fix: 20 red a day per office is 41 % of a quiet office's 49 declarations."""
    quiet = (
        week(5, per_day=49).filter(pl.col("declared_on") == START).with_columns(pl.lit("030").alias("office"))
    )
    absolute = assign_lanes_frame(
        quiet, policy=LanePolicy(red=Capacity(default=20), yellow=Capacity(default=40))
    )
    shares = assign_lanes_frame(quiet, policy=LanePolicy())
    assert absolute.filter(pl.col("lane") == "red").height > 0.4 * quiet.height
    forced_red = quiet.filter(pl.col("forced_lane") == "red").height
    assert shares.filter(pl.col("lane") == "red").height <= round(0.05 * quiet.height) + forced_red


def test_the_shipped_example_policy_loads_and_holds_shares() -> None:
    policy = load_policy(EXAMPLE_POLICY)
    assert policy.red.share == 0.05 and policy.yellow.share == 0.10 and policy.red.default is None
    assert policy.red.for_office("030", 1000) == 50 and policy.red.for_office("030", 10) == 0
    both = Capacity(share=0.1, default=3)
    assert both.for_office("030", 100) == 3 and both.for_office("030", 20) == 2
    with pytest.raises(ValueError, match="share"):
        Capacity()


def test_with_no_history_and_a_single_arrival_only_forced_lanes_and_the_control_draw_select() -> None:
    policy = LanePolicy(control_rate=0.0)
    one = (
        week(9, per_day=1)
        .head(1)
        .with_columns(pl.lit(99.0).alias("score"), pl.lit(None, dtype=pl.String).alias("forced_lane"))
    )
    thresholds = calibrate_thresholds(one, policy=policy)
    assert assign_lanes_at_arrival(one, policy=policy, thresholds=thresholds)["lane"].to_list() == ["green"]
    forced = one.with_columns(pl.lit("red").alias("forced_lane"))
    assert assign_lanes_at_arrival(forced, policy=policy, thresholds=thresholds)["lane"].to_list() == ["red"]
