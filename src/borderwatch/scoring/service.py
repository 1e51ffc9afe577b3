"""Train a risk model on inspection outcomes and score declarations with it.

    model = train_risk_model(declarations=decl, outcomes=out, seed=42)
    scores = model.score(declarations=new, history=decl, outcomes=out, profiles=load_profiles(path))

``score`` returns one row per declaration: lrn, score (0-100), fraud_probability, expected_duty, forced_lane,
reasons (best first).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from borderwatch.features.basic import BASIC_NUMERIC, add_basic
from borderwatch.scoring.profiles import RiskProfile, evaluate_profiles

CATEGORICAL = ["office", "hs2", "hs4", "hs_code", "origin_country", "departure_country", "tax_type"]
FORMAT_VERSION = 1


def _encode(frame: pl.DataFrame, vocabulary: dict[str, dict[str, int]]) -> np.ndarray[Any, Any]:
    columns = [frame[name].cast(pl.Float64).to_numpy() for name in BASIC_NUMERIC]
    for name, mapping in vocabulary.items():
        codes = frame[name].replace_strict(mapping, default=None, return_dtype=pl.Float64)
        columns.append(codes.to_numpy())
    return np.column_stack(columns).astype(np.float64)


class RiskModel:
    """A trained fraud model (LightGBM) with what it needs to score new declarations the same way."""

    def __init__(
        self,
        *,
        booster: lgb.Booster,
        vocabulary: dict[str, dict[str, int]],
        version: str,
        trained_until: dt.date | None,
        metrics: dict[str, float],
    ) -> None:
        self.booster = booster
        self.vocabulary = vocabulary
        self.version = version
        self.trained_until = trained_until
        self.metrics = metrics

    @property
    def feature_names(self) -> list[str]:
        return [*BASIC_NUMERIC, *self.vocabulary]

    def score(
        self,
        *,
        declarations: pl.DataFrame,
        history: pl.DataFrame,
        outcomes: pl.DataFrame,
        profiles: Sequence[RiskProfile] = (),
    ) -> pl.DataFrame:
        """Scores ``declarations`` (one row per lrn) from history and outcomes dated before each one."""
        del history, outcomes  # the first model version uses row-local features only
        features = add_basic(declarations)
        probability = self.booster.predict(_encode(features, self.vocabulary))
        rules = evaluate_profiles(features, profiles)
        scored = features.select("lrn", "duty_at_stake").with_columns(
            pl.Series("fraud_probability", np.asarray(probability, dtype=np.float64)),
            rules["rule_points"],
            rules["forced_lane"],
            rules["rule_hits"],
        )
        scored = scored.with_columns(
            (pl.col("fraud_probability") * 100 + pl.col("rule_points")).clip(0, 100).alias("score"),
            (pl.col("fraud_probability") * pl.col("duty_at_stake").fill_null(0)).alias("expected_duty"),
            pl.col("rule_hits")
            .list.eval(pl.lit("risk profile ") + pl.element() + pl.lit(" hit"))
            .alias("reasons"),
        )
        return (
            scored.sort("score", descending=True)
            .group_by("lrn", maintain_order=True)
            .agg(
                pl.col("score").first(),
                pl.col("fraud_probability").first(),
                pl.col("expected_duty").sum(),
                pl.col("forced_lane").drop_nulls().first(),
                pl.col("reasons").first(),
            )
        )

    def save(self, path: Path) -> None:
        """Writes the model as one JSON file (no pickle: safe to load from a shared folder)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "format": FORMAT_VERSION,
            "version": self.version,
            "trained_until": self.trained_until.isoformat() if self.trained_until else None,
            "metrics": self.metrics,
            "vocabulary": self.vocabulary,
            "booster": self.booster.model_to_string(),
        }
        path.write_text(json.dumps(document), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RiskModel:
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            booster=lgb.Booster(model_str=document["booster"]),
            vocabulary=document["vocabulary"],
            version=document["version"],
            trained_until=dt.date.fromisoformat(document["trained_until"])
            if document["trained_until"]
            else None,
            metrics=document["metrics"],
        )


def train_risk_model(
    *,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    weights: pl.DataFrame | None = None,
    profiles: Sequence[RiskProfile] = (),
    seed: int = 42,
) -> RiskModel:
    """Trains on the declarations that have an outcome; ``weights`` (lrn, weight): optional sample weights."""
    del profiles  # rules are applied at scoring time; accepted here so callers can pass them uniformly
    labels = outcomes.group_by("lrn").agg(pl.col("fraud").max().cast(pl.Int8))
    rows = add_basic(declarations).join(labels, on="lrn", how="inner")
    if weights is not None:
        rows = rows.join(weights.select("lrn", pl.col("weight").cast(pl.Float64)), on="lrn", how="left")
    else:
        rows = rows.with_columns(pl.lit(1.0).alias("weight"))
    vocabulary = {
        name: {str(v): i for i, v in enumerate(rows[name].drop_nulls().unique().sort().to_list())}
        for name in CATEGORICAL
    }
    matrix = _encode(rows, vocabulary)
    dataset = lgb.Dataset(
        matrix,
        label=rows["fraud"].to_numpy(),
        weight=rows["weight"].fill_null(1.0).to_numpy(),
        feature_name=[*BASIC_NUMERIC, *vocabulary],
        categorical_feature=list(vocabulary),
        free_raw_data=False,
    )
    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 63,
        "min_data_in_leaf": 20,
        "seed": seed,
        "deterministic": True,
        "num_threads": 1,
        "verbose": -1,
    }
    booster = lgb.train(params, dataset, num_boost_round=300)
    trained_until = rows["declared_on"].max()
    return RiskModel(
        booster=booster,
        vocabulary=vocabulary,
        version=f"rm-{seed}-{rows.height}",
        trained_until=trained_until if isinstance(trained_until, dt.date) else None,
        metrics={"training_rows": float(rows.height), "fraud_rate": float(rows["fraud"].to_numpy().mean())},
    )
