"""Wilson interval, PSI, calibration and IPW weights against independent computations."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.feedback.stats import calibration_table, expected_calibration_error, psi, wilson_interval
from borderwatch.feedback.weights import ipw_weights, label_weights
from tests.hypothesis_profiles import examples

Z = 1.959963984540054


def wilson_by_bisection(hits: int, n: int) -> tuple[float, float]:
    """The Wilson interval by its definition: the p for which |p_hat - p| <= z * sqrt(p(1-p)/n)."""
    p_hat = hits / n

    def inside(p: float) -> bool:
        return abs(p_hat - p) <= Z * math.sqrt(p * (1 - p) / n)

    def boundary(lo: float, hi: float, lo_inside: bool) -> float:
        for _ in range(200):
            mid = (lo + hi) / 2
            if inside(mid) == lo_inside:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    lower = 0.0 if inside(0.0) or hits == 0 else boundary(0.0, p_hat, False)
    upper = 1.0 if inside(1.0) or hits == n else boundary(p_hat, 1.0, True)
    return lower, upper


@settings(max_examples=examples(60), deadline=None)
@given(n=st.integers(min_value=1, max_value=5000), share=st.floats(min_value=0, max_value=1))
def test_wilson_matches_its_definition(n: int, share: float) -> None:
    hits = round(share * n)
    low, high = wilson_interval(hits, n)
    expected_low, expected_high = wilson_by_bisection(hits, n)
    assert low == pytest.approx(expected_low, abs=1e-7)
    assert high == pytest.approx(expected_high, abs=1e-7)
    assert low <= hits / n <= high


def test_wilson_known_value_and_errors() -> None:
    # Textbook example (Newcombe 1998): 81 of 263 -> 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


def test_psi_against_a_hand_computation() -> None:
    rng = np.random.default_rng(0)
    reference = rng.random(10_000)
    shifted = np.clip(rng.random(10_000) * 0.5 + 0.5, 0, 0.999999)
    edges = np.quantile(reference, np.linspace(0, 1, 11)[1:-1])
    e = np.histogram(reference, bins=[-np.inf, *edges, np.inf])[0] / reference.size
    a = np.histogram(shifted, bins=[-np.inf, *edges, np.inf])[0] / shifted.size
    e, a = np.maximum(e, 1e-4), np.maximum(a, 1e-4)
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert psi(reference, shifted) == pytest.approx(expected, rel=1e-6)
    assert psi(reference, shifted) > 0.25
    assert psi(reference, rng.random(10_000)) < 0.01
    with pytest.raises(ValueError):
        psi(np.array([]), shifted)


def test_calibration_of_a_calibrated_model_is_close() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(50_000)
    y = (rng.random(50_000) < p).astype(int)
    table = calibration_table(p, y)
    assert table["n"].sum() == 50_000
    assert expected_calibration_error(table) < 0.02
    skewed = calibration_table(np.clip(p * 0.5, 0, 1), y)
    assert expected_calibration_error(skewed) > 0.2


def test_ipw_weights_invert_the_propensity_with_a_cap() -> None:
    weights = ipw_weights(pl.Series([1.0, 0.5, 0.01, None]), clip=20)
    assert weights.to_list() == [1.0, 2.0, 20.0, 1.0]
    assert ipw_weights(pl.Series([0.01]), clip=None).to_list() == [pytest.approx(100.0)]
    with pytest.raises(ValueError):
        ipw_weights(pl.Series([0.0]))
    with pytest.raises(ValueError):
        ipw_weights(pl.Series([0.5]), clip=0.5)


def test_ipw_makes_a_control_sample_estimate_unbiased() -> None:
    # Selected by score (propensity 1) plus a 2 % control sample of the rest: the weighted fraud rate of the
    # labels estimates the population's, the unweighted one does not.
    rng = np.random.default_rng(2)
    n = 200_000
    risk = rng.random(n)
    fraud = rng.random(n) < risk * 0.4
    top = risk > np.quantile(risk, 0.9)
    control = ~top & (rng.random(n) < 0.02)
    labelled = top | control
    propensity = np.where(top, 1.0, 0.02)[labelled]
    weights = ipw_weights(pl.Series(propensity), clip=None).to_numpy()
    weighted = float(np.sum(weights * fraud[labelled]) / np.sum(weights))
    assert weighted == pytest.approx(fraud.mean(), abs=0.01)
    assert abs(fraud[labelled].mean() - fraud.mean()) > 0.1


def test_label_weights_join_decisions_to_outcomes() -> None:
    decisions = pl.DataFrame({"lrn": ["a", "b"], "selection_probability": [1.0, 0.05]})
    outcomes = pl.DataFrame({"lrn": ["a", "b", "c"], "fraud": [1, 0, 1]})
    weights = label_weights(decisions, outcomes, clip=10).sort("lrn")
    assert weights.to_dict(as_series=False) == {"lrn": ["a", "b", "c"], "weight": [1.0, 10.0, 1.0]}
