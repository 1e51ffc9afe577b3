"""Unit-value quantiles from a sorted reference plus newer values equal those of the merged values."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from borderwatch.features.peers import build_reference, peer_quantiles

KEYS = ("hs_code", "origin_country")


def _frame(rng: np.random.Generator, rows: int, first_day: date, days: int) -> pl.DataFrame:
    # few distinct values: ties everywhere, the hard case for positions in a merged order
    return pl.DataFrame(
        {
            "hs_code": rng.choice(["610910", "852872", "940360"], size=rows).tolist(),
            "origin_country": rng.choice(np.array(["CN", "VN", None], dtype=object), size=rows).tolist(),
            "declared_on": [first_day + timedelta(days=int(d)) for d in rng.integers(0, days, size=rows)],
            "log_unit_value": rng.integers(0, 6, size=rows).astype(np.float64),
        }
    )


def test_quantiles_equal_those_of_the_reference_and_earlier_newer_values() -> None:
    rng = np.random.default_rng(5)
    old = _frame(rng, 300, date(2024, 1, 1), 30)
    # a group the reference lacks (HS 999999) and a row without a value
    newer = pl.concat(
        [
            _frame(rng, 120, date(2024, 2, 1), 10),
            pl.DataFrame(
                {
                    "hs_code": ["999999", "999999", "999999", "610910"],
                    "origin_country": ["CN", "CN", "CN", "CN"],
                    "declared_on": [date(2024, 2, d) for d in (1, 2, 5, 3)],
                    "log_unit_value": [2.5, 7.0, 1.0, None],
                }
            ),
        ]
    ).with_row_index("row_id")
    found = peer_quantiles(build_reference(old, KEYS), newer, newer)
    checked = 0
    for row, got in zip(newer.to_dicts(), found.to_dicts(), strict=True):
        if row["log_unit_value"] is None:
            assert got["_peers"] is None
            continue
        key = pl.col("hs_code").eq_missing(row["hs_code"]) & pl.col("origin_country").eq_missing(
            row["origin_country"]
        )
        peers = np.concatenate(
            [
                old.filter(key)["log_unit_value"].to_numpy(),
                newer.filter(key & (pl.col("declared_on") < row["declared_on"]))["log_unit_value"]
                .drop_nulls()
                .to_numpy(),
            ]
        )
        assert got["_peers"] == peers.size
        if peers.size == 0:
            assert got["_med"] is None
            continue
        assert got["_med"] == np.quantile(peers, 0.5)
        assert np.isclose(got["_iqr"], np.quantile(peers, 0.75) - np.quantile(peers, 0.25), rtol=1e-12)
        checked += 1
    assert checked > 100
