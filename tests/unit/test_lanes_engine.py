"""Properties of the pure lane engine: capacity, mandatory rules, control sample, AEO, determinism."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.core.errors import ConfigError
from borderwatch.lanes.engine import DECISION_SCHEMA, assign_lanes_frame, control_draws
from borderwatch.lanes.policy import Capacity, LanePolicy, load_policy
from tests.hypothesis_profiles import examples

DAYS = [date(2024, 3, 4), date(2024, 3, 5)]


def scored(n: int, seed: int, *, forced_every: int = 0, offices: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "lrn": [f"L{seed}-{i:05d}" for i in range(n)],
            "declared_on": [DAYS[i % 2] for i in range(n)],
            "office": [f"O{i % offices}" for i in range(n)],
            "importer_id": [f"IMP{i % 40}" for i in range(n)],
            "score": rng.random(n) * 100,
            "fraud_probability": rng.random(n),
            "expected_duty": rng.random(n) * 1000,
            "forced_lane": [
                ("red" if (i // forced_every) % 2 == 0 else "green")
                if forced_every and i % forced_every == 0
                else None
                for i in range(n)
            ],
        },
        schema_overrides={"forced_lane": pl.String},
    )


@settings(max_examples=examples(25), deadline=None)
@given(
    n=st.integers(min_value=0, max_value=400),
    seed=st.integers(min_value=0, max_value=10_000),
    red=st.integers(min_value=0, max_value=30),
    yellow=st.integers(min_value=0, max_value=30),
    control=st.sampled_from([0.0, 0.01, 0.05]),
    forced_every=st.sampled_from([0, 50, 97]),
)
def test_capacity_is_never_exceeded_beyond_mandatory_and_control(
    n: int, seed: int, red: int, yellow: int, control: float, forced_every: int
) -> None:
    policy = LanePolicy(
        red=Capacity(default=red), yellow=Capacity(default=yellow), control_rate=control, seed=seed
    )
    frame = scored(n, seed, forced_every=forced_every)
    decisions = assign_lanes_frame(frame, policy=policy)
    assert decisions.height == n
    assert decisions.schema == pl.Schema(DECISION_SCHEMA)
    per_group = decisions.group_by("office", "declared_on").agg(
        (pl.col("lane") == "red").sum().alias("red"),
        (pl.col("basis") == "expected value within red capacity").sum().alias("by_score"),
        ((pl.col("basis") == "mandatory rule") & (pl.col("lane") == "red")).sum().alias("forced"),
        (pl.col("basis") == "control sample").sum().alias("control"),
        (pl.col("basis") == "next band within yellow capacity").sum().alias("yellow"),
    )
    for row in per_group.iter_rows(named=True):
        assert row["red"] == row["by_score"] + row["forced"] + row["control"]
        assert row["red"] <= max(red, row["forced"] + row["control"])
        assert row["yellow"] <= yellow


@pytest.mark.parametrize(
    ("objective", "column"),
    [("score", "score"), ("probability", "fraud_probability"), ("expected_duty", "expected_duty")],
)
def test_red_goes_to_the_best_expected_value(objective: str, column: str) -> None:
    frame = scored(300, 1, offices=1).with_columns(pl.lit(DAYS[0]).alias("declared_on"))
    policy = LanePolicy(red=Capacity(default=10), control_rate=0.0, objective=objective)
    decisions = assign_lanes_frame(frame, policy=policy)
    red = decisions.filter(pl.col("lane") == "red")[column]
    others = decisions.filter(pl.col("lane") != "red")[column]
    assert red.len() == 10
    assert red.min() > others.max()  # type: ignore[operator]


def test_the_default_policy_follows_the_risk_score() -> None:
    frame = scored(300, 4, offices=1).with_columns(pl.lit(DAYS[0]).alias("declared_on"))
    decisions = assign_lanes_frame(frame, policy=LanePolicy(red=Capacity(default=10), control_rate=0.0))
    red = decisions.filter(pl.col("lane") == "red")["lrn"].sort().to_list()
    assert red == frame.sort("score", descending=True).head(10)["lrn"].sort().to_list()


def test_forced_lanes_are_honoured_whatever_the_score() -> None:
    frame = scored(400, 2, forced_every=10).with_columns(
        pl.when(pl.col("forced_lane") == "green")
        .then(1.0)
        .otherwise(pl.col("fraud_probability"))
        .alias("fraud_probability")
    )
    decisions = assign_lanes_frame(frame, policy=LanePolicy(control_rate=0.0))
    forced = decisions.filter(pl.col("forced_lane").is_not_null())
    assert forced.height == 40
    assert (forced["lane"] == forced["forced_lane"]).all()
    assert (forced["basis"] == "mandatory rule").all()


def test_control_sample_ignores_the_score_and_the_row_order() -> None:
    frame = scored(3000, 3)
    policy = LanePolicy(control_rate=0.05, seed=11)
    first = assign_lanes_frame(frame, policy=policy)
    reversed_scores = frame.with_columns(
        (1 - pl.col("fraud_probability")).alias("fraud_probability"), (100 - pl.col("score")).alias("score")
    ).reverse()
    second = assign_lanes_frame(reversed_scores, policy=policy)
    control_first = set(first.filter(pl.col("control"))["lrn"])
    control_second = set(second.filter(pl.col("control"))["lrn"])
    assert control_first == control_second
    assert 0.03 < len(control_first) / 3000 < 0.07
    # Drawn from everything: low scores are as likely to be in it as high ones.
    low = first.filter(pl.col("fraud_probability") < 0.5)
    assert low["control"].sum() > 0.3 * len(control_first)
    assert (first.filter(pl.col("control"))["lane"] == "red").all()
    # Another seed draws another sample.
    other = assign_lanes_frame(frame, policy=policy.model_copy(update={"seed": 12}))
    assert set(other.filter(pl.col("control"))["lrn"]) != control_first


def test_control_draws_are_uniform() -> None:
    draws = control_draws([f"X{i}" for i in range(20_000)], seed=5).to_numpy()
    assert draws.min() >= 0
    assert draws.max() < 1
    counts = np.histogram(draws, bins=10, range=(0, 1))[0]
    assert counts.min() > 1800 and counts.max() < 2200


def test_aeo_traders_are_selected_less_but_stay_in_the_control_sample() -> None:
    frame = scored(4000, 4, offices=1)
    aeo = pl.DataFrame(
        {
            "trader_id": [f"IMP{i}" for i in range(20)],
            "valid_from": [date(2024, 1, 1)] * 20,
            "valid_to": [None] * 20,
        },
        schema={"trader_id": pl.String, "valid_from": pl.Date, "valid_to": pl.Date},
    )
    policy = LanePolicy(red=Capacity(default=200), control_rate=0.05, objective="probability")
    without = assign_lanes_frame(frame, policy=policy)
    with_aeo = assign_lanes_frame(frame, policy=policy, aeo=aeo)
    is_aeo = with_aeo["aeo"]
    assert is_aeo.sum() == 2000
    by_score = (pl.col("basis") == "expected value within red capacity") & pl.col("aeo")
    plain_share = without.with_columns(is_aeo.alias("aeo")).filter(by_score).height
    aeo_share = with_aeo.filter(by_score).height
    assert aeo_share < plain_share
    assert set(with_aeo.filter(pl.col("control"))["lrn"]) == set(without.filter(pl.col("control"))["lrn"])
    assert with_aeo.filter(pl.col("control") & pl.col("aeo")).height > 0


def test_aeo_certificate_counts_only_while_valid() -> None:
    frame = scored(10, 5).with_columns(pl.lit("IMPX").alias("importer_id"))
    aeo = pl.DataFrame(
        {"trader_id": ["IMPX"], "valid_from": [date(2024, 3, 5)], "valid_to": [date(2024, 12, 31)]},
        schema={"trader_id": pl.String, "valid_from": pl.Date, "valid_to": pl.Date},
    )
    decisions = assign_lanes_frame(frame, policy=LanePolicy(), aeo=aeo)
    assert decisions.filter(pl.col("aeo"))["declared_on"].unique().to_list() == [DAYS[1]]


def test_budget_mode_selects_exactly_the_budget() -> None:
    decisions = assign_lanes_frame(
        scored(1000, 6), policy=LanePolicy(control_rate=0.01), red_budget=100, yellow_budget=50
    )
    assert (decisions["lane"] == "red").sum() == 100
    assert (decisions["lane"] == "yellow").sum() == 50
    control = decisions.filter(pl.col("control"))
    assert (control["selection_probability"] <= 1).all()
    by_score = decisions.filter(pl.col("basis") == "expected value within red capacity")
    assert (by_score["selection_probability"] == 1.0).all()


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="fraud_probability"):
        assign_lanes_frame(scored(5, 7).drop("fraud_probability"), policy=LanePolicy())


def test_policy_file_errors_name_the_file_and_field(tmp_path: Path) -> None:
    good = tmp_path / "policy.yaml"
    good.write_text("version: v2\ncontrol_rate: 0.02\nred:\n  default: 5\n  per_office:\n    '030': 12\n")
    policy = load_policy(good)
    assert policy.red.for_office("030") == 12 and policy.red.for_office("040") == 5
    bad = tmp_path / "bad.yaml"
    bad.write_text("control_rate: 2.5\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*control_rate"):
        load_policy(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("controll_rate: 0.1\n")
    with pytest.raises(ConfigError, match="controll_rate"):
        load_policy(typo)


def test_forced_yellow_is_a_floor_not_a_ceiling() -> None:
    frame = scored(200, 8, offices=1).with_columns(
        pl.lit(DAYS[0]).alias("declared_on"),
        pl.when(pl.int_range(pl.len()) < 20).then(pl.lit("yellow")).otherwise(None).alias("forced_lane"),
        pl.when(pl.int_range(pl.len()) < 10)
        .then(1.0)
        .when(pl.int_range(pl.len()) < 20)
        .then(0.0)
        .otherwise(pl.col("fraud_probability") * 0.9)
        .alias("fraud_probability"),
    )
    policy = LanePolicy(
        red=Capacity(default=15), yellow=Capacity(default=5), control_rate=0.0, objective="probability"
    )
    decisions = assign_lanes_frame(frame, policy=policy)
    forced = decisions.head(20)
    # The ten forced-yellow declarations with the best probability are red; the others stay yellow.
    assert forced.head(10)["lane"].to_list() == ["red"] * 10
    assert forced.tail(10)["lane"].to_list() == ["yellow"] * 10
    assert (forced.tail(10)["basis"] == "mandatory rule").all()
    assert (decisions["lane"] == "red").sum() == 15
