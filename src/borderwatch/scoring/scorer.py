"""The production scorer on a feature matrix: fit from labels, rank, score; one implementation for all.

``RiskModel`` wraps it with the feature builder, the risk profiles, the explanations and persistence; the
replay (``feedback.replay``) calls it directly on its incremental feature matrix, so what the replay measures
is the scorer that runs in production, not a copy of it.

    scorer = Scorer.fit(matrix, fraud=labels, duty_at_stake=duty, weight=w, names=..., categorical=...,
                        params=ModelParams(), seed=42)
    ranked = scorer.rank(matrix, duty_at_stake=duty)           # fraud probability, positions, ranking
    shap = scorer.contributions(matrix)                        # TreeSHAP, for the reasons
    scores = scorer.score(matrix, duty_at_stake=duty, anomaly_points=a, rule_points=r)   # 0-100
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from borderwatch.scoring.model import ModelParams, train_boosters
from borderwatch.scoring.ranking import Positions, RankingReference

Matrix = np.ndarray[Any, np.dtype[np.float64]]


def risk_score(
    ranking: pl.Expr, anomaly_points: pl.Expr, rule_points: pl.Expr, screening_points: pl.Expr | None = None
) -> pl.Expr:
    """The score 0-100 from the model's ranking (0..1) and the points of anomaly flags, risk profiles and
    watchlist hits."""
    return (
        ranking * 100
        # Anomaly flags weigh in where the model is unsure; the model has seen the same signals, and letting
        # them overtake near-certain frauds lowered precision at 1-2 % (inner 2020 split).
        + anomaly_points * (1 - ranking)
        + rule_points
        + (pl.lit(0.0) if screening_points is None else screening_points)
    ).clip(0, 100)


@dataclass(frozen=True)
class Ranked:
    """The models' outputs for rows of a matrix: fraud probability and where each row ranks."""

    probability: np.ndarray[Any, np.dtype[np.float64]]
    positions: Positions


@dataclass(frozen=True)
class Scorer:
    """The fraud model, the evaded-duty model and the ranking reference (their in-sample predictions)."""

    fraud: lgb.Booster
    duty: lgb.Booster
    reference: RankingReference
    revenue_share: float

    @classmethod
    def fit(
        cls,
        matrix: Matrix,
        *,
        fraud: np.ndarray[Any, Any],
        duty_at_stake: np.ndarray[Any, Any],
        weight: np.ndarray[Any, Any],
        names: list[str],
        categorical: list[str],
        params: ModelParams,
        seed: int,
    ) -> Scorer:
        """Both models on labelled rows (``weight``: inverse-propensity or ones); the training population's
        own predictions become the reference that places new declarations (``scoring.ranking``)."""
        duty = np.asarray(duty_at_stake, dtype=np.float64)
        fraud_booster, duty_booster = train_boosters(
            matrix,
            fraud=fraud,
            duty=np.nan_to_num(duty, nan=0.0),
            weight=weight,
            names=names,
            categorical=categorical,
            params=params,
            seed=seed,
        )
        reference = RankingReference.fit(
            probability=_predict(fraud_booster, matrix),
            duty_at_stake=duty,
            evaded_duty=_predict(duty_booster, matrix),
        )
        return cls(
            fraud=fraud_booster, duty=duty_booster, reference=reference, revenue_share=params.revenue_share
        )

    def probability(self, matrix: Matrix) -> np.ndarray[Any, np.dtype[np.float64]]:
        return _predict(self.fraud, matrix)

    def rank(
        self,
        matrix: Matrix,
        *,
        duty_at_stake: np.ndarray[Any, Any],
        probability: np.ndarray[Any, np.dtype[np.float64]] | None = None,
    ) -> Ranked:
        """Fraud probability (computed unless given) and positions: revenue, the blended ranking, and
        whether revenue at risk placed the row."""
        probability = self.probability(matrix) if probability is None else probability
        positions = self.reference.positions(
            probability=probability,
            duty_at_stake=np.asarray(duty_at_stake, dtype=np.float64),
            evaded_duty=_predict(self.duty, matrix),
            revenue_share=self.revenue_share,
        )
        return Ranked(probability=probability, positions=positions)

    def score(
        self,
        matrix: Matrix,
        *,
        duty_at_stake: np.ndarray[Any, Any],
        anomaly_points: np.ndarray[Any, Any],
        rule_points: np.ndarray[Any, Any],
        probability: np.ndarray[Any, np.dtype[np.float64]] | None = None,
    ) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The risk score 0-100 of each row (``risk_score`` of its ranking, anomaly and profile points)."""
        ranking = self.rank(matrix, duty_at_stake=duty_at_stake, probability=probability).positions.ranking
        frame = pl.DataFrame({"ranking": ranking, "anomaly": anomaly_points, "points": rule_points})
        score = frame.select(risk_score(pl.col("ranking"), pl.col("anomaly"), pl.col("points")))
        return score.to_series().to_numpy().astype(np.float64)

    def contributions(self, matrix: Matrix) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The fraud model's TreeSHAP contributions (LightGBM's ``pred_contrib``): one row per matrix row, a
        column per feature in log-odds, then the bias. The one place the scorer is explained."""
        return np.asarray(self.fraud.predict(matrix, pred_contrib=True, num_threads=1), dtype=np.float64)


def _predict(booster: lgb.Booster, matrix: Matrix) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray(booster.predict(matrix, num_threads=1), dtype=np.float64)
