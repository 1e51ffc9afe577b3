"""The two-objective ranking: most of every top-k by fraud probability, a fixed share by revenue at risk."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.scoring.ranking import RankingReference, position
from tests.hypothesis_profiles import examples


def _population(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    probability = rng.beta(0.6, 2.5, rows)
    duty = rng.lognormal(8, 2, rows)
    # The evaded-duty model agrees with probability × duty only roughly.
    evaded = np.log1p(probability * duty) + rng.normal(0, 1.0, rows)
    return {"probability": probability, "duty_at_stake": duty, "evaded_duty": evaded}


@pytest.mark.parametrize("share", [0.1, 0.25])
def test_every_top_k_holds_the_likeliest_frauds_and_the_highest_revenue(share: float) -> None:
    population = _population(20_000, seed=1)
    reference = RankingReference.fit(**population)
    positions = reference.positions(**population, revenue_share=share)
    assert positions.ranking.min() >= 0 and positions.ranking.max() <= 1
    order = np.argsort(-positions.ranking, kind="stable")
    slack = 2 / 1000  # positions are read off 1,001 reference quantiles
    for rate in (0.01, 0.05, 0.2):
        top = np.zeros(len(order), dtype=bool)
        top[order[: int(len(order) * rate)]] = True
        # The top (1 - s)·r by fraud probability and the top s·r by revenue at risk are all selected ...
        assert top[positions.fraud > 1 - (1 - share) * rate + slack].all(), rate
        assert top[positions.revenue > 1 - share * rate + slack].all(), rate
        # ... and revenue, not only probability, placed some of them.
        assert positions.revenue_led[top].sum() > 0, rate


def test_no_share_ranks_by_fraud_probability_alone() -> None:
    population = _population(5_000, seed=2)
    reference = RankingReference.fit(**population)
    positions = reference.positions(**population, revenue_share=0.0)
    assert not positions.revenue_led.any()
    order = np.argsort(-positions.ranking, kind="stable")
    assert np.all(np.diff(positions.fraud[order]) <= 0)


def test_scores_do_not_depend_on_the_batch() -> None:
    population = _population(5_000, seed=3)
    reference = RankingReference.fit(**population)
    whole = reference.positions(**population, revenue_share=0.12).ranking
    rows = (0, 17, 4_999)
    alone = [
        reference.positions(**{k: v[[row]] for k, v in population.items()}, revenue_share=0.12).ranking[0]
        for row in rows
    ]
    assert alone == [whole[row] for row in rows]


def test_reference_survives_its_json_form() -> None:
    population = _population(2_000, seed=4)
    reference = RankingReference.fit(**population)
    again = RankingReference.from_json(reference.to_json())
    first = reference.positions(**population, revenue_share=0.12)
    second = again.positions(**population, revenue_share=0.12)
    assert np.array_equal(first.ranking, second.ranking)


@settings(max_examples=examples(200), deadline=None)
@given(
    reference=st.lists(st.integers(-50, 50), min_size=1, max_size=60),
    values=st.lists(st.integers(-6000, 6000), min_size=1, max_size=60),  # hundredths
)
def test_positions_are_the_reference_share_at_or_below_and_grow_smoothly_between(
    reference: list[int], values: list[int]
) -> None:
    quantiles = np.sort(np.asarray(reference, dtype=np.float64))
    probe = np.sort(np.asarray(values, dtype=np.float64) / 100)
    found = position(quantiles, probe)
    assert np.all((found >= 0) & (found <= 1))
    assert np.all(np.diff(found) >= 0)  # a larger value never ranks lower
    # At a stored quantile: exactly the share of the reference at or below it.
    at_points = position(quantiles, quantiles)
    assert np.allclose(at_points, np.searchsorted(quantiles, quantiles, side="right") / len(quantiles))
    # Between two distinct quantiles: distinct values get distinct positions (no ties in a worklist).
    inside = (probe > quantiles[0]) & (probe < quantiles[-1])
    distinct = np.unique(probe[inside])
    assert np.unique(position(quantiles, distinct)).size == distinct.size
