"""Row-local features: what can be read off one declaration without any history."""

from __future__ import annotations

from functools import cache

import polars as pl

BASIC_NUMERIC = [
    "customs_value",
    "net_mass",
    "tax_rate",
    "log_value",
    "log_mass",
    "log_unit_value",
    "unit_value",
    "duty_at_stake",
    "log_duty",
    "origin_differs",
    "transit_count",
    "day_of_week",
]


def add_basic(frame: pl.DataFrame) -> pl.DataFrame:
    """Adds HS levels, unit value, duty at stake (value × tax rate / 100) and route shape columns."""
    return frame.with_columns(_basic_columns())


@cache
def _basic_columns() -> tuple[pl.Expr, ...]:
    """The expressions of :func:`add_basic`, built once (building them costs a third of running them on a
    row)."""
    value = pl.col("customs_value").clip(lower_bound=0)
    mass = pl.col("net_mass").clip(lower_bound=0)
    return (
        pl.col("hs_code").str.slice(0, 2).alias("hs2"),
        pl.col("hs_code").str.slice(0, 4).alias("hs4"),
        pl.when((mass > 0) & (value > 0)).then(value / mass).otherwise(None).alias("unit_value"),
        (value * pl.col("tax_rate").fill_null(0) / 100).alias("duty_at_stake"),
        (value + 1).log().alias("log_value"),
        (mass + 1).log().alias("log_mass"),
        # +1 keeps near-zero masses from producing absurd ratios; equal to log(value/mass) for real cargo
        ((value + 1) / (mass + 1)).log().alias("log_unit_value"),
        ((value * pl.col("tax_rate").fill_null(0) / 100) + 1).log().alias("log_duty"),
        (
            pl.col("origin_country").is_not_null()
            & pl.col("departure_country").is_not_null()
            & (pl.col("origin_country") != pl.col("departure_country"))
        )
        .cast(pl.Int8)
        .alias("origin_differs"),
        # the non-empty parts between spaces, counted without building their lists
        pl.col("transit_countries")
        .fill_null("")
        .str.count_matches("[^ ]+")
        .cast(pl.Int16)
        .alias("transit_count"),
        pl.col("declared_on").dt.weekday().cast(pl.Int8).alias("day_of_week"),
    )
