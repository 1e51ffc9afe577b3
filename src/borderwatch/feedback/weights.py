"""Exploration-aware training weights: inverse propensity of having been inspected.

A label exists only because the policy chose to inspect: score-selected and mandatory inspections had
propensity 1, control-sample inspections the control rate. Weighting each label by 1 / propensity makes the
labelled set stand for the whole traffic again (the control sample speaks for everything that was released
unseen); clipping the weight bounds the variance a handful of control labels can add.
"""

from __future__ import annotations

import polars as pl

# The one cap on inverse-propensity weights, for retraining and for the replay alike (docs/decisions).
IPW_CAP = 20.0


def ipw_weights(propensity: pl.Series, *, clip: float | None = IPW_CAP) -> pl.Series:
    """1 / propensity per label, capped at ``clip`` (None: uncapped); a missing propensity counts as 1."""
    if clip is not None and clip < 1:
        raise ValueError("the weight cap must be at least 1")
    p = propensity.cast(pl.Float64).fill_null(1.0)
    if (p <= 0).any() or (p > 1).any():
        raise ValueError("propensities must lie in (0, 1]")
    weights = 1.0 / p
    if clip is not None:
        weights = weights.clip(upper_bound=clip)
    return weights.alias("weight")


def label_weights(
    decisions: pl.DataFrame, outcomes: pl.DataFrame, *, clip: float | None = IPW_CAP
) -> pl.DataFrame:
    """(lrn, weight) for every outcome, from the selection probability of the decision that led to it.

    Outcomes without a stored decision (imported history) get weight 1.
    """
    propensity = decisions.select("lrn", "selection_probability").unique("lrn", keep="last")
    labelled = outcomes.select("lrn").unique().join(propensity, on="lrn", how="left")
    return labelled.select("lrn", ipw_weights(labelled["selection_probability"], clip=clip))
