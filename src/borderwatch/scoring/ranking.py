"""One ranking from two objectives: the chance of fraud and the duty a fraud would evade.

A plain fraud ranking fills the top of the worklist with near-certain frauds of little value, and a duty
ranking with high-value declarations that are mostly compliant. Agencies want both: most of the inspections
where fraud is likeliest, and a share where the most revenue is at risk. Each declaration gets two positions
against the training population (quantiles of reference distributions stored with the model, so a score
does not depend on which other declarations are in the batch):

- ``fraud_position``: of the fraud probability;
- ``revenue_position``: of the revenue at risk, which combines the two estimates of evaded duty — fraud
  probability × duty at stake (value × tax rate), and the evaded-duty model's own prediction.

``ranking = 1 − (1 − s) · min((1 − fraud_position) / (1 − s), (1 − revenue_position) / s)``: selecting the top
k of a population by this ranking takes about ``(1 − s)·k`` by fraud position and ``s·k`` by revenue position,
at every k. The revenue share ``s`` (``ModelParams.revenue_share`` = 0.14) is the smallest candidate whose
scores beat the plain baseline on both precision and duty recall at every rate (1, 2, 5, 10, 20 %) on a time
split inside 2020 (Jan–Sep → Oct–Dec); ``bench/revenue_share.py`` runs that rule and prints every candidate.
The positions are against the training population's in-sample predictions, which run higher than
out-of-sample ones, so the effective share on new declarations is somewhat lower than ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

REFERENCE_POINTS = 1001

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def position(reference: FloatArray, values: FloatArray) -> FloatArray:
    """Share of the reference population at or below each value (0..1), interpolated between the stored
    quantiles: steps of 1/``REFERENCE_POINTS`` would tie whole bands of declarations at the top of a
    worklist, where the order matters most."""
    if len(reference) == 0:
        return np.zeros(len(values), dtype=np.float64)
    levels = np.arange(1, len(reference) + 1, dtype=np.float64) / len(reference)
    # a value held by several quantiles (many zero duties, say) takes the highest of their levels
    last = np.r_[reference[1:] != reference[:-1], True]
    return np.asarray(np.interp(values, reference[last], levels[last], left=0.0, right=1.0), dtype=np.float64)


def _quantiles(values: FloatArray) -> FloatArray:
    return np.asarray(np.quantile(values, np.linspace(0, 1, REFERENCE_POINTS)), dtype=np.float64)


@dataclass(frozen=True)
class Positions:
    """Per row: both positions and the blended ranking (all 0..1)."""

    fraud: FloatArray
    revenue: FloatArray
    ranking: FloatArray
    revenue_led: np.ndarray[Any, np.dtype[np.bool_]]  # ranked where it is by revenue rather than fraud


@dataclass(frozen=True)
class RankingReference:
    """Quantiles of the training population's fraud probability, expected duty, evaded-duty prediction and
    their combined revenue position."""

    fraud: FloatArray
    expected_duty: FloatArray
    evaded_duty: FloatArray
    revenue: FloatArray

    @classmethod
    def fit(
        cls, *, probability: FloatArray, duty_at_stake: FloatArray, evaded_duty: FloatArray
    ) -> RankingReference:
        expected = probability * np.nan_to_num(duty_at_stake, nan=0.0)
        expected_reference, evaded_reference = _quantiles(expected), _quantiles(evaded_duty)
        combined = position(expected_reference, expected) + position(evaded_reference, evaded_duty)
        return cls(
            fraud=_quantiles(probability),
            expected_duty=expected_reference,
            evaded_duty=evaded_reference,
            revenue=_quantiles(combined),
        )

    def positions(
        self,
        *,
        probability: FloatArray,
        duty_at_stake: FloatArray,
        evaded_duty: FloatArray,
        revenue_share: float,
    ) -> Positions:
        fraud = position(self.fraud, probability)
        expected = probability * np.nan_to_num(duty_at_stake, nan=0.0)
        combined = position(self.expected_duty, expected) + position(self.evaded_duty, evaded_duty)
        revenue = position(self.revenue, combined)
        share = min(max(revenue_share, 0.0), 1.0)
        if share == 0.0:
            return Positions(fraud, revenue, fraud, np.zeros(len(fraud), dtype=np.bool_))
        if share == 1.0:
            return Positions(fraud, revenue, revenue, np.ones(len(fraud), dtype=np.bool_))
        by_fraud = (1 - fraud) / (1 - share)
        by_revenue = (1 - revenue) / share
        ranking = 1 - (1 - share) * np.minimum(by_fraud, by_revenue)
        return Positions(fraud, revenue, np.asarray(ranking, dtype=np.float64), by_revenue < by_fraud)

    def to_json(self) -> dict[str, list[float]]:
        return {
            "fraud": self.fraud.tolist(),
            "expected_duty": self.expected_duty.tolist(),
            "evaded_duty": self.evaded_duty.tolist(),
            "revenue": self.revenue.tolist(),
        }

    @classmethod
    def from_json(cls, document: dict[str, list[float]]) -> RankingReference:
        return cls(
            **{name: np.asarray(document[name], dtype=np.float64) for name in cls.__dataclass_fields__}
        )
