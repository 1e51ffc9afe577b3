"""The two learned models and how features become their input matrix.

- fraud: LightGBM binary classifier on inspection outcomes (probability that an inspection finds fraud);
- duty: LightGBM Tweedie regressor on the duty at stake of the declarations found fraudulent (0 otherwise),
  i.e. the expected evaded duty, following the DATE paper's idea of learning illicitness and revenue together.

``scoring.ranking`` turns both into one ranking: most of any top-k by fraud probability, a share
(``revenue_share``) by the revenue at risk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from borderwatch.features.build import numeric_feature_names

CATEGORICAL = [
    "office",
    "hs2",
    "hs4",
    "hs_code",
    "origin_country",
    "departure_country",
    "tax_type",
    "process_type",
    "import_type",
    "import_use",
    "payment_type",
    "transport_mode",
    "origin_indicator",
]
MIN_CATEGORY_ROWS = 3
SMALL_FRAME = 16


@dataclass(frozen=True)
class ModelParams:
    """Hyper-parameters, chosen on a time split inside 2020 (see README), not on the validation quarter."""

    fraud_rounds: int = 300
    duty_rounds: int = 150
    learning_rate: float = 0.04
    max_depth: int = 6
    num_leaves: int = 31
    min_data_in_leaf: int = 30
    feature_fraction: float = 0.7
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    cat_smooth: float = 20.0
    revenue_share: float = 0.14
    outcome_lag_days: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def fit_vocabulary(features: pl.DataFrame, columns: list[str]) -> dict[str, dict[str, int]]:
    """Category → integer code, for values seen at least ``MIN_CATEGORY_ROWS`` times (rarer ones: missing)."""
    vocabulary: dict[str, dict[str, int]] = {}
    for name in columns:
        counts = features[name].drop_nulls().value_counts()
        kept = sorted(counts.filter(pl.col("count") >= MIN_CATEGORY_ROWS)[name].cast(pl.String).to_list())
        vocabulary[name] = {value: code for code, value in enumerate(kept)}
    return vocabulary


class Encoder:
    """Category codes as ready Polars Series, built once per model (not a dict converted on every call)."""

    def __init__(self, vocabulary: dict[str, dict[str, int]], numeric: list[str]) -> None:
        self.numeric = numeric
        self.codes = {
            name: (
                pl.Series(list(mapping), dtype=pl.String),
                pl.Series(list(mapping.values()), dtype=pl.Float64),
            )
            for name, mapping in vocabulary.items()
        }
        self.lookup = {
            name: {k: float(v) for k, v in mapping.items()} for name, mapping in vocabulary.items()
        }

    def matrix(self, features: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Numeric features then category codes, as one float matrix (nulls → NaN, LightGBM's missing)."""
        schema = features.schema
        if features.height <= SMALL_FRAME and all(schema[name] == pl.String for name in self.codes):
            # A few rows (live scoring): the rows as Python values in one conversion and plain look-ups, as a
            # Polars cast costs tens of microseconds per column even on one row (None becomes NaN, as in one)
            numbers = [features.get_column_index(name) for name in self.numeric]
            categories = [(features.get_column_index(name), self.lookup[name]) for name in self.codes]
            return np.array(
                [
                    [row[i] for i in numbers] + [lookup.get(row[i], np.nan) for i, lookup in categories]
                    for row in features.rows()
                ],
                dtype=np.float64,
            ).reshape(features.height, len(numbers) + len(categories))
        selected = features.select(
            *[pl.col(name).cast(pl.Float64) for name in self.numeric],
            *[
                pl.col(name).cast(pl.String).replace_strict(old, new, default=None).alias(name)
                for name, (old, new) in self.codes.items()
            ],
        )
        return selected.to_numpy().astype(np.float64, copy=False)


def feature_matrix(
    features: pl.DataFrame, vocabulary: dict[str, dict[str, int]], numeric: list[str]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Numeric features then category codes, as one float matrix (nulls → NaN, LightGBM's missing)."""
    return Encoder(vocabulary, numeric).matrix(features)


def lgb_params(params: ModelParams, seed: int, objective: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "objective": objective,
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        # bounded depth keeps TreeSHAP explanations cheap (cost grows with depth squared)
        "max_depth": params.max_depth,
        "min_data_in_leaf": params.min_data_in_leaf,
        "feature_fraction": params.feature_fraction,
        "bagging_fraction": params.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": params.lambda_l2,
        "cat_smooth": params.cat_smooth,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbose": -1,
    }
    if objective == "tweedie":
        base["tweedie_variance_power"] = 1.3
    base.update(params.extra)
    return base


def train_boosters(
    matrix: np.ndarray[Any, np.dtype[np.float64]],
    *,
    fraud: np.ndarray[Any, Any],
    duty: np.ndarray[Any, Any],
    weight: np.ndarray[Any, Any],
    names: list[str],
    categorical: list[str],
    params: ModelParams,
    seed: int,
) -> tuple[lgb.Booster, lgb.Booster]:
    """The fraud classifier and the evaded-duty regressor, both deterministic for a given seed."""
    fraud_set = lgb.Dataset(
        matrix, label=fraud, weight=weight, feature_name=names, categorical_feature=categorical
    )
    fraud_booster = lgb.train(lgb_params(params, seed, "binary"), fraud_set, params.fraud_rounds)
    # Revenue target in log space keeps a few huge consignments from dominating the trees.
    revenue = np.log1p(np.where(fraud > 0, np.nan_to_num(duty, nan=0.0), 0.0))
    duty_set = lgb.Dataset(
        matrix, label=revenue, weight=weight, feature_name=names, categorical_feature=categorical
    )
    duty_booster = lgb.train(lgb_params(params, seed, "tweedie"), duty_set, params.duty_rounds)
    return fraud_booster, duty_booster


def default_numeric() -> list[str]:
    return numeric_feature_names()
