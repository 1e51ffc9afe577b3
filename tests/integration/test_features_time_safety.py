"""History features use only the past: later outcomes and declarations change nothing, and the values agree
with a naive row-by-row count over strictly earlier days."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from borderwatch.features.build import (
    advance_snapshot,
    build_features,
    numeric_feature_names,
    prepare_snapshot,
)
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


def _varied(frames: tuple[pl.DataFrame, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The generated traffic with what a snapshot must also get right: missing origins and values, values
    repeated from earlier declarations (the declared-value hit rates), declarations of two goods items,
    outcomes recorded up to three weeks after the declaration and a few recorded before it."""
    declarations, outcomes = frames
    repeated = pl.when(pl.int_range(pl.len()) % 7 == 0).then(pl.col("customs_value").shift(20))
    numbered = declarations.with_columns(
        repeated.otherwise(pl.col("customs_value")).fill_null(pl.col("customs_value")).alias("customs_value")
    )
    numbered = numbered.with_row_index("_i").with_columns(
        pl.when(pl.col("_i") % 17 == 0)
        .then(None)
        .otherwise(pl.col("origin_country"))
        .alias("origin_country"),
        pl.when(pl.col("_i") % 23 == 0).then(None).otherwise(pl.col("customs_value")).alias("customs_value"),
    )
    second_items = numbered.filter(pl.col("_i") % 5 == 0).with_columns(
        pl.lit(2, dtype=pl.Int32).alias("item_no"),
        pl.col("hs_code").shuffle(seed=3),
        (pl.col("customs_value") * 0.4).alias("customs_value"),
    )
    lag = (pl.col("lrn").hash(7) % 22).cast(pl.Int64)
    # a few results dated before their declaration (a clerical error the features must still treat alike)
    lag = pl.when(pl.col("lrn").hash(9) % 13 == 0).then(-6).otherwise(lag)
    late = outcomes.with_columns((pl.col("recorded_on") + pl.duration(days=lag)).alias("recorded_on"))
    return pl.concat([numbered, second_items]).drop("_i"), late


def test_a_snapshot_scores_a_multi_day_batch_with_the_full_features(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    declarations, outcomes = _varied(frames)
    as_of, now = CUT, CUT + timedelta(days=15)
    batch = declarations.filter(pl.col("declared_on").is_between(as_of + timedelta(days=1), now))
    known = outcomes.filter(pl.col("recorded_on") < now)
    # late results: of declarations the snapshot holds, and of the batch's own earlier days
    assert known.filter(pl.col("recorded_on") > as_of).height > 50
    assert batch["declared_on"].n_unique() > 10
    full = build_features(declarations=batch, history=declarations, outcomes=known)
    assert (full["value_inspected"] > 0).sum() > 10  # repeated values meet earlier inspections
    snapshot = prepare_snapshot(history=declarations, outcomes=outcomes, as_of=as_of)
    # The snapshot stands for everything up to as_of: the history of those days is not read again, but for
    # the declarations whose results came later.
    pending = known.filter(pl.col("recorded_on") > as_of)["lrn"].implode()
    blurred = declarations.with_columns(
        pl.when((pl.col("declared_on") <= as_of) & ~pl.col("lrn").is_in(pending))
        .then(pl.lit("someone else"))
        .otherwise(pl.col("importer_id"))
        .alias("importer_id")
    )
    fast = build_features(declarations=batch, history=blurred, outcomes=known, snapshot=snapshot)
    _assert_same(full, fast)
    assert fast["lrn"].to_list() == batch["lrn"].to_list()
    for day in (as_of + timedelta(days=1), now):  # one day, then a handful of declarations (look-ups)
        one_day = batch.filter(pl.col("declared_on") == day)
        expected = build_features(declarations=one_day, history=declarations, outcomes=known)
        _assert_same(
            expected, build_features(declarations=one_day, history=blurred, outcomes=known, snapshot=snapshot)
        )
        few = one_day.head(3)
        _assert_same(
            expected.head(3),
            build_features(declarations=few, history=blurred, outcomes=known, snapshot=snapshot),
        )


def test_a_snapshot_defers_to_the_full_computation_for_an_amended_declaration(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    declarations, outcomes = _varied(frames)
    batch = declarations.filter(
        pl.col("declared_on").is_between(CUT + timedelta(days=1), CUT + timedelta(days=6))
    )
    # an amendment of a declaration the snapshot holds, lodged again in the batch with another value
    amended = (
        declarations.filter(pl.col("declared_on") < CUT)
        .head(1)
        .with_columns(pl.lit(CUT + timedelta(days=3)).alias("declared_on"), pl.col("customs_value") * 3)
    )
    batch = pl.concat([batch, amended])
    known = outcomes.filter(pl.col("recorded_on") <= CUT + timedelta(days=6))
    full = build_features(declarations=batch, history=declarations, outcomes=known)
    snapshot = prepare_snapshot(history=declarations, outcomes=known, as_of=CUT)
    _assert_same(
        full, build_features(declarations=batch, history=declarations, outcomes=known, snapshot=snapshot)
    )


def test_an_advanced_snapshot_equals_one_prepared_at_the_later_day(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    declarations, outcomes = _varied(frames)
    later = CUT + timedelta(days=9)
    batch = declarations.filter(
        pl.col("declared_on").is_between(later + timedelta(days=1), later + timedelta(days=5))
    )
    known = outcomes.filter(pl.col("recorded_on") < later + timedelta(days=5))
    full = build_features(declarations=batch, history=declarations, outcomes=known)
    advanced = prepare_snapshot(history=declarations, outcomes=known, as_of=CUT)
    for day in range(1, 10):  # one day at a time, as a service would
        advanced = advance_snapshot(
            advanced, history=declarations, outcomes=known, until=CUT + timedelta(days=day)
        )
    prepared = prepare_snapshot(history=declarations, outcomes=known, as_of=later)
    assert advanced.totals == prepared.totals
    assert advanced.lrns == prepared.lrns
    # what a snapshot as of ``later`` still needs: later declarations, and those with later results
    pending = known.filter(pl.col("recorded_on") > later)["lrn"].implode()
    recent = declarations.filter((pl.col("declared_on") > later) | pl.col("lrn").is_in(pending))
    for snapshot in (advanced, prepared):
        _assert_same(
            full, build_features(declarations=batch, history=recent, outcomes=known, snapshot=snapshot)
        )
    with pytest.raises(ValueError, match="cannot be advanced"):
        advance_snapshot(prepared, history=declarations, outcomes=known, until=CUT)


def test_declarations_repeating_an_earlier_value_see_its_inspection_results(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    declarations, outcomes = frames
    # Generated values are continuous, so plant repeats: every 7th declaration re-uses the value of one
    # declared 20 rows earlier (often another HS code, sometimes the same).
    values = declarations["customs_value"].to_list()
    for index in range(20, len(values), 7):
        values[index] = values[index - 20]
    planted = declarations.with_columns(pl.Series("customs_value", values, dtype=pl.Float64))
    features = build_features(declarations=planted, history=planted, outcomes=outcomes)
    rows = planted.to_dicts()
    labels = {o["lrn"]: (o["recorded_on"], o["fraud"]) for o in outcomes.to_dicts()}
    seen = 0
    for index in range(20, len(rows), 7):
        row = rows[index]
        for name, keys in (("value", ("customs_value",)), ("hs_value", ("hs_code", "customs_value"))):
            earlier = [
                labels[r["lrn"]][1]
                for r in rows
                if all(r[k] == row[k] for k in keys)
                and r["lrn"] in labels
                and labels[r["lrn"]][0] < row["declared_on"]
            ]
            assert features[f"{name}_inspected"][index] == len(earlier), (name, index)
            assert features[f"{name}_frauds"][index] == sum(earlier), (name, index)
            seen += len(earlier) > 0
    assert seen > 50  # the planted repeats were found, not only missed consistently
