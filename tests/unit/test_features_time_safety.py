"""History features use only the past: later outcomes and declarations change nothing, and the values agree
with a naive row-by-row count over strictly earlier days."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from borderwatch.features.build import build_features, numeric_feature_names, prepare_snapshot
from tests.unit.scoring_support import traffic_frames

CUT = date(2024, 3, 1)
FEATURES = [*numeric_feature_names(), "unit_value_median_log"]


def _assert_same(left: pl.DataFrame, right: pl.DataFrame) -> None:
    for name in FEATURES:
        a = left[name].cast(pl.Float64).to_numpy()
        b = right[name].cast(pl.Float64).to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        assert np.allclose(np.nan_to_num(a), np.nan_to_num(b), rtol=1e-9, atol=1e-9), name


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    return traffic_frames()


def test_later_outcomes_and_declarations_change_no_feature(frames: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    declarations, outcomes = frames
    early = declarations.filter(pl.col("declared_on") < CUT)
    known_then = outcomes.filter(pl.col("recorded_on") < CUT)
    then = build_features(declarations=early, history=early, outcomes=known_then)
    # Everything that happened later, and every later outcome, is now known too.
    now = build_features(declarations=early, history=declarations, outcomes=outcomes)
    _assert_same(then, now)
    assert then["lrn"].to_list() == early["lrn"].to_list()


def test_outcomes_of_the_scored_period_do_not_reach_its_features(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    declarations, outcomes = frames
    late = declarations.filter(pl.col("declared_on") >= CUT)
    known = outcomes.filter(pl.col("recorded_on") < CUT)
    flipped = outcomes.filter(pl.col("recorded_on") >= CUT).with_columns(
        (1 - pl.col("fraud")).cast(pl.Int8).alias("fraud"),
        pl.lit(CUT - timedelta(days=1)).alias("recorded_on"),
    )
    blank = build_features(declarations=late, history=declarations, outcomes=known)
    # Outcomes recorded on the scored day or later are invisible even when present...
    same_day = outcomes.filter(pl.col("lrn").is_in(late["lrn"].implode()))
    with_own = build_features(declarations=late, history=declarations, outcomes=pl.concat([known, same_day]))
    first_day = pl.col("declared_on") == pl.col("declared_on").min()
    assert blank.filter(first_day).height > 0
    _assert_same(blank.filter(first_day), with_own.filter(first_day))
    # ...while an outcome recorded before the day does count (the check above is not vacuous).
    changed = build_features(declarations=late, history=declarations, outcomes=pl.concat([known, flipped]))
    assert not np.allclose(blank["importer_hit_rate"].to_numpy(), changed["importer_hit_rate"].to_numpy())


def test_counts_and_hit_rates_match_a_naive_count(frames: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    declarations, outcomes = frames
    features = build_features(declarations=declarations, history=declarations, outcomes=outcomes)
    rows = declarations.to_dicts()
    labels = {o["lrn"]: (o["recorded_on"], o["fraud"]) for o in outcomes.to_dicts()}
    rng = np.random.default_rng(0)
    for index in rng.choice(len(rows), size=40, replace=False):
        row = rows[index]
        earlier = [
            r
            for r in rows
            if r["importer_id"] == row["importer_id"] and r["declared_on"] < row["declared_on"]
        ]
        assert features["importer_count"][int(index)] == len(earlier)
        if earlier:
            gap = (row["declared_on"] - max(r["declared_on"] for r in earlier)).days
            assert features["importer_days_since"][int(index)] == gap
        inspected = [
            labels[r["lrn"]][1]
            for r in rows
            if r["importer_id"] == row["importer_id"] and labels[r["lrn"]][0] < row["declared_on"]
        ]
        assert features["importer_inspected"][int(index)] == len(inspected)
        assert features["importer_frauds"][int(index)] == sum(inspected)
        pair = [
            r
            for r in rows
            if (r["importer_id"], r["hs_code"]) == (row["importer_id"], row["hs_code"])
            and r["declared_on"] < row["declared_on"]
        ]
        assert features["new_importer_hs"][int(index)] == (0 if pair else 1)


def test_unit_value_reference_is_the_median_of_earlier_peers(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    declarations, outcomes = frames
    features = build_features(declarations=declarations, history=declarations, outcomes=outcomes)
    logs = features["log_unit_value"].to_list()
    rows = features.select("hs_code", "origin_country", "declared_on").to_dicts()
    checked = 0
    for index in range(0, len(rows), 7):
        row = rows[index]
        peers = [
            logs[j]
            for j, other in enumerate(rows)
            if (other["hs_code"], other["origin_country"]) == (row["hs_code"], row["origin_country"])
            and other["declared_on"] < row["declared_on"]
        ]
        if len(peers) >= 5:
            assert features["unit_value_peers"][index] == len(peers)
            assert features["unit_value_median_log"][index] == pytest.approx(statistics.median(peers))
            checked += 1
    assert checked > 10


def test_snapshot_gives_the_same_features_as_the_full_computation(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    declarations, outcomes = frames
    monday = date(2024, 3, 4)
    history = declarations.filter(pl.col("declared_on") < monday)
    known = outcomes.filter(pl.col("recorded_on") < monday)
    day = declarations.filter(pl.col("declared_on") == monday)
    assert day.height > 20
    full = build_features(declarations=day, history=history, outcomes=known)
    snapshot = prepare_snapshot(history=history, outcomes=known)
    fast = build_features(declarations=day, history=history, outcomes=known, snapshot=snapshot)
    _assert_same(full, fast)
    for start in range(5):  # the look-up path for a handful of declarations
        one = day.slice(start, 1)
        alone = build_features(declarations=one, history=history, outcomes=known, snapshot=snapshot)
        _assert_same(full.slice(start, 1), alone)
