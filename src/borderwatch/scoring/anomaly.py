"""Anomaly detectors: simple, explainable flags that need no labels.

Each detector is a vectorised Polars expression over the feature frame (built only from earlier declarations)
and carries a sentence template a person can check against the declaration.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import polars as pl

from borderwatch.core.reasons import Reason, family_id, fixed_codes

UNIT_VALUE_Z_LIMIT = 3.5
MASS_VALUE_Z_LIMIT = 6.0
MIN_PEERS = 5
SMALL_FRAME = 16  # up to this many rows, plain Python around two selects beats the per-detector plan
ANOMALY_SCHEMA: dict[str, pl.DataType] = {
    "anomaly_points": pl.Float64(),
    "anomaly_reasons": pl.List(pl.String()),
    "anomaly_flags": pl.List(pl.String()),
}


@dataclass(frozen=True)
class Detector:
    id: str
    points: float
    flag: pl.Expr
    sentence: pl.Expr


def _pct(expr: pl.Expr) -> pl.Expr:
    return (expr * 100).round(0).cast(pl.Int64).cast(pl.String)


def _num(expr: pl.Expr) -> pl.Expr:
    return expr.round(0).cast(pl.Int64).cast(pl.String)


def unit_value_peers() -> pl.Expr:
    """Which declarations a unit value is compared with, as a sentence says it: "HS 610910 from CN" (by
    origin when the feature compared within the origin, else the HS code alone)."""
    return pl.concat_str(
        pl.lit("HS "),
        pl.col("hs_code"),
        pl.when(pl.col("unit_value_by_origin"))
        .then(pl.lit(" from ") + pl.col("origin_country"))
        .otherwise(pl.lit("")),
    )


@cache
def detectors() -> tuple[Detector, ...]:
    """The detectors, built once (their expressions are immutable)."""
    peers = pl.col("unit_value_peers").fill_null(0) >= MIN_PEERS
    z = pl.col("unit_value_z")
    ratio = pl.col("unit_value_ratio")
    where = unit_value_peers()
    return (
        Detector(
            id="unit_value_low",
            points=4.0,
            flag=peers & (z < -UNIT_VALUE_Z_LIMIT),
            sentence=pl.format(
                "anomaly: unit value {} % below the median for {} ({} earlier declarations)",
                _pct(1 - ratio),
                where,
                _num(pl.col("unit_value_peers")),
            ),
        ),
        Detector(
            id="unit_value_high",
            points=2.0,
            flag=peers & (z > UNIT_VALUE_Z_LIMIT),
            sentence=pl.format(
                "anomaly: unit value {} % above the median for {} ({} earlier declarations)",
                _pct(ratio - 1),
                where,
                _num(pl.col("unit_value_peers")),
            ),
        ),
        Detector(
            id="mass_value_inconsistent",
            points=3.0,
            # value with no mass, mass with no value, or a value per kg far outside anything seen for the line
            flag=(
                ((pl.col("net_mass").fill_null(0) <= 0) & (pl.col("customs_value").fill_null(0) > 0))
                | ((pl.col("customs_value").fill_null(0) <= 0) & (pl.col("net_mass").fill_null(0) > 0))
                | (peers & (z.abs() > MASS_VALUE_Z_LIMIT))
            ),
            sentence=pl.format(
                "anomaly: net mass {} kg and value {} {} do not fit together for HS {}",
                pl.col("net_mass").round(1).cast(pl.String),
                _num(pl.col("customs_value")),
                pl.col("currency").fill_null(""),
                pl.col("hs_code"),
            ),
        ),
        Detector(
            id="new_trader",
            points=2.0,
            flag=pl.col("new_importer") == 1,
            sentence=pl.format("anomaly: first declaration seen for importer {}", pl.col("importer_id")),
        ),
        Detector(
            id="new_hs_for_trader",
            points=1.0,
            flag=(pl.col("new_importer") == 0) & (pl.col("new_importer_hs") == 1),
            sentence=pl.format(
                "anomaly: importer {} declares HS {} for the first time ({} earlier declarations)",
                pl.col("importer_id"),
                pl.col("hs_code"),
                _num(pl.col("importer_count")),
            ),
        ),
        Detector(
            id="new_route_for_trader",
            points=1.0,
            flag=(pl.col("new_importer") == 0) & (pl.col("new_importer_route") == 1),
            sentence=pl.format(
                "anomaly: importer {} uses the route {} → {} for the first time",
                pl.col("importer_id"),
                pl.col("origin_country").fill_null("?"),
                pl.col("departure_country").fill_null("?"),
            ),
        ),
    )


def detect_anomalies(features: pl.DataFrame) -> pl.DataFrame:
    """Per row: ``anomaly_points``, ``anomaly_reasons`` (sentences of the detectors that fired) and
    ``anomaly_flags`` (their ids, one per sentence; :func:`anomaly_codes` makes them reason codes)."""
    found = detectors()
    if features.height > SMALL_FRAME:
        return _detect_many(features, found)
    # A few rows: the flags first, then the sentences of the detectors that fired on one of them only. On a
    # row or two each expression costs tens of microseconds whatever it computes, and most rows fire none.
    flags = features.select(_flag_columns()).rows()
    fired = [position for position in range(len(found)) if any(row[position] for row in flags)]
    texts = features.select([found[p].sentence.alias(found[p].id) for p in fired]).rows() if fired else []
    reasons: list[list[str]] = []
    ids: list[list[str]] = []
    for index, row in enumerate(flags):
        hits = [(p, texts[index][column]) for column, p in enumerate(fired) if row[p]]
        reasons.append([text for _, text in hits if text is not None])
        ids.append([found[p].id for p, text in hits if text is not None])  # one id per sentence
    return pl.DataFrame(
        {
            # the same left-to-right sum as the batch plan's sum_horizontal
            "anomaly_points": [
                functools.reduce(
                    operator.add, [float(flag) * d.points for flag, d in zip(row, found, strict=True)]
                )
                for row in flags
            ],
            "anomaly_reasons": reasons,
            "anomaly_flags": ids,
        },
        schema=ANOMALY_SCHEMA,
    )


@cache
def _flag_columns() -> tuple[pl.Expr, ...]:
    return tuple(d.flag.fill_null(False).alias(d.id) for d in detectors())


def _detect_many(features: pl.DataFrame, found: Sequence[Detector]) -> pl.DataFrame:
    """:func:`detect_anomalies` for many rows: each detector writes sentences for its flagged rows only, and
    the (row, detector) pairs are grouped into lists (list concatenation over every row costs ten times
    more than the sentences themselves)."""
    # Polars 2.1 panics ("assertion failed: i < self.len()" in binview) running this plan on a frame of
    # several chunks, as a concatenation of per-day feature frames is; one chunk costs a copy at most.
    features = features.rechunk()
    flags = features.select(_flag_columns()).with_row_index("_row")
    rows = features.lazy().with_row_index("_row")
    fired = (
        pl.concat(
            [
                rows.filter(d.flag.fill_null(False)).select(
                    "_row",
                    pl.lit(position, dtype=pl.Int8).alias("_order"),
                    d.sentence.alias("_text"),
                    pl.lit(d.id).alias("_id"),
                )
                for position, d in enumerate(found)
            ]
        )
        .sort("_row", "_order")
        .group_by("_row", maintain_order=True)
        .agg("_text", "_id")
        .collect()
    )
    none = pl.lit([], dtype=pl.List(pl.String))
    return flags.join(fired, on="_row", how="left", maintain_order="left").select(
        pl.sum_horizontal([pl.col(d.id).cast(pl.Float64) * d.points for d in found]).alias("anomaly_points"),
        pl.col("_text").fill_null(none).alias("anomaly_reasons"),
        pl.col("_id").fill_null(none).alias("anomaly_flags"),
    )


def anomaly_codes(flags: pl.Series) -> pl.Series:
    """``anomaly_flags`` as reason codes (``core.reasons``): ``ANOMALY-<DETECTOR>`` with its points."""
    return flags.list.eval(fixed_codes(pl.element(), _detector_codes())).alias("anomaly_codes")


@cache
def _detector_codes() -> dict[str, Reason]:
    return {d.id: Reason(family_id("anomaly", d.id), "anomaly", {"points": d.points}) for d in detectors()}
