"""Live scoring of one declaration takes plain-Python paths for a few rows (``SMALL_FRAME``); each must give
exactly what the columnar path gives the same rows in a large batch, down to the last bit of every score."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from borderwatch.features.basic import add_basic
from borderwatch.features.build import build_features
from borderwatch.scoring import model as model_module
from borderwatch.scoring import profiles as profiles_module
from borderwatch.scoring.model import ModelParams
from borderwatch.scoring.profiles import evaluate_profiles, parse_profiles
from borderwatch.scoring.risk_model import RiskModel, train_risk_model
from tests.unit.scoring_support import traffic_frames

CUT = date(2024, 4, 1)
FAST = ModelParams(fraud_rounds=40, duty_rounds=20, learning_rate=0.1)


@pytest.fixture(scope="module")
def scoring() -> tuple[RiskModel, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    declarations, outcomes = traffic_frames()
    train = declarations.filter(pl.col("declared_on") < CUT)
    known = outcomes.filter(pl.col("recorded_on") < CUT)
    model = train_risk_model(declarations=train, outcomes=known, seed=5, params=FAST)
    day = declarations.filter(pl.col("declared_on") == CUT)
    return model, train, known, day


def _profiles() -> list[profiles_module.RiskProfile]:
    # fractional and negative points (a sum's order and -0.0 show), forced lanes, a disabled rule
    return parse_profiles(
        {
            "profiles": [
                {
                    "id": "LOW",
                    "name": "low unit value",
                    "rationale": "r",
                    "author": "a",
                    "when": {"all": [{"field": "unit_value_z", "op": "lt", "value": -0.5}]},
                    "effect": {"add_points": 0.1},
                },
                {
                    "id": "KNOWN",
                    "name": "known importer",
                    "rationale": "r",
                    "author": "a",
                    "when": {"all": [{"field": "importer_count", "op": "ge", "value": 3}]},
                    "effect": {"add_points": -2.7, "force_lane": "green"},
                },
                {
                    "id": "DUTY",
                    "name": "duty",
                    "rationale": "r",
                    "author": "a",
                    "when": {"any": [{"field": "duty_at_stake", "op": "ge", "value": 100}]},
                    "effect": {"add_points": 0.2, "force_lane": "yellow"},
                },
                {
                    "id": "OFF",
                    "name": "off",
                    "rationale": "r",
                    "author": "a",
                    "enabled": False,
                    "when": {"all": [{"field": "office", "op": "not_null"}]},
                    "effect": {"force_lane": "red"},
                },
            ]
        },
        source="test",
    )


def test_one_declaration_at_a_time_scores_as_in_a_batch(
    scoring: tuple[RiskModel, pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    model, train, known, day = scoring
    profiles = _profiles()
    snapshot = RiskModel.prepare(history=train, outcomes=known)
    # Each row's features as live scoring builds them; the batch scores the same frame. (Polars may compute
    # an expression over one row and over many a last bit apart, e.g. value × rate / 100: not compared here.)
    features = pl.concat(
        [
            model.features(declarations=day.slice(row, 1), history=train, outcomes=known, snapshot=snapshot)
            for row in range(day.height)
        ],
        rechunk=False,  # many chunks, as a concatenation gives: the batch anomaly plan must take them too
    )
    assert features.height > model_module.SMALL_FRAME
    batch = model.score_features(features, profiles=profiles).sort("lrn")
    alone = pl.concat(
        [model.score_features(features.slice(row, 1), profiles=profiles) for row in range(features.height)]
    ).sort("lrn")
    assert_frame_equal(alone, batch, check_exact=True)
    # the same bits, not merely close (assert_frame_equal takes -0.0 for 0.0)
    assert np.array_equal(alone["score"].to_numpy().view(np.int64), batch["score"].to_numpy().view(np.int64))
    # live scoring is score_features of that one row
    first = model.score(
        declarations=day.slice(0, 1), history=train, outcomes=known, profiles=profiles, snapshot=snapshot
    )
    assert_frame_equal(first, model.score_features(features.slice(0, 1), profiles=profiles), check_exact=True)
    # not vacuous: rules, lanes, anomalies and model sentences all show up
    assert batch["forced_lane"].n_unique() >= 2
    assert batch["reasons"].list.len().max() >= 4  # type: ignore[operator]
    assert batch["reasons"].list.eval(pl.element().str.starts_with("anomaly")).list.any().any()


def test_a_few_rows_encode_to_the_batch_matrix(
    scoring: tuple[RiskModel, pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    model, train, known, day = scoring
    features = model.features(declarations=day, history=train, outcomes=known)
    whole = model.encoder.matrix(features)
    for row in range(features.height):
        alone = model.encoder.matrix(features.slice(row, 1))
        assert np.array_equal(alone, whole[row : row + 1], equal_nan=True)
    assert np.isnan(whole).any()  # missing values and unseen categories are part of what is compared


def test_a_few_rows_get_the_rule_results_of_a_batch(
    scoring: tuple[RiskModel, pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    model, train, known, day = scoring
    features = model.features(declarations=day, history=train, outcomes=known)
    profiles = _profiles()
    batch = evaluate_profiles(features, profiles)
    alone = pl.concat([evaluate_profiles(features.slice(row, 1), profiles) for row in range(features.height)])
    assert_frame_equal(alone, batch, check_exact=True)
    assert np.array_equal(
        alone["rule_points"].to_numpy().view(np.int64), batch["rule_points"].to_numpy().view(np.int64)
    )
    assert batch["rule_hits"].list.len().max() >= 2  # type: ignore[operator]


def test_transit_count_counts_the_countries_between_spaces() -> None:
    frame = build_features(
        declarations=traffic_frames()[0]
        .head(7)
        .with_columns(pl.Series("transit_countries", [None, "", " ", "CN", "CN KR", " CN  KR ", "ÄÖ\tX Y"])),
        history=traffic_frames()[0].head(0),
        outcomes=traffic_frames()[1].head(0),
    )
    assert frame["transit_count"].to_list() == [0, 0, 0, 1, 2, 2, 2]
    assert add_basic(frame.select(pl.exclude("transit_count")))["transit_count"].dtype == pl.Int16
