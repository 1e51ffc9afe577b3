"""Small statistics the feedback loop reports: Wilson intervals, population stability index, calibration."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

Z95 = 1.959963984540054


def wilson_interval(hits: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion ``hits / n`` (``(0, 1)`` when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= hits <= n:
        raise ValueError(f"hits must be between 0 and n ({hits} of {n})")
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 or n the bound is exactly 0 or 1; the formula leaves a rounding error there.
    low = 0.0 if hits == 0 else max(0.0, centre - half)
    high = 1.0 if hits == n else min(1.0, centre + half)
    return low, high


def psi(
    expected: np.ndarray[Any, Any] | pl.Series,
    actual: np.ndarray[Any, Any] | pl.Series,
    *,
    bins: int = 10,
    floor: float = 1e-4,
) -> float:
    """Population stability index of ``actual`` against ``expected``, over decile bins of ``expected``.

    sum((a - e) * ln(a / e)), bin shares floored at ``floor``: < 0.1 stable, 0.1-0.25 shifting, > 0.25 drift.
    """
    reference = np.asarray(expected, dtype=np.float64)
    current = np.asarray(actual, dtype=np.float64)
    reference = reference[~np.isnan(reference)]
    current = current[~np.isnan(current)]
    if reference.size == 0 or current.size == 0:
        raise ValueError("PSI needs values in both samples")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=edges.size + 1)
    a = np.bincount(np.searchsorted(edges, current, side="right"), minlength=edges.size + 1)
    e_share = np.maximum(e / reference.size, floor)
    a_share = np.maximum(a / current.size, floor)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def calibration_table(
    probability: np.ndarray[Any, Any] | pl.Series, label: np.ndarray[Any, Any] | pl.Series, *, bins: int = 10
) -> pl.DataFrame:
    """Per equal-width probability bin: n, mean predicted probability, observed fraud rate."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(label, dtype=np.float64)
    index = np.clip((p * bins).astype(np.int64), 0, bins - 1)
    frame = pl.DataFrame({"bin": index, "p": p, "y": y})
    return (
        frame.group_by("bin")
        .agg(pl.len().alias("n"), pl.col("p").mean().alias("predicted"), pl.col("y").mean().alias("observed"))
        .sort("bin")
        .with_columns((pl.col("bin") / bins).alias("low"), ((pl.col("bin") + 1) / bins).alias("high"))
        .select("low", "high", "n", "predicted", "observed")
    )


def expected_calibration_error(table: pl.DataFrame) -> float:
    total = int(table["n"].sum())
    if total == 0:
        return 0.0
    gaps = (table["predicted"] - table["observed"]).abs() * table["n"]
    return float(gaps.sum() / total)
