"""Alerts on a declaration's vehicle as scoring evidence: points, reasons and risk-profile fields.

The alerts themselves (a hotlist hit on the declared plate, a cloned plate, a convoy, a shuttle, a means of
transport that is not the vehicle that crossed) come from a later stage (``vehicles``); scoring states what it
expects of one, :class:`VehicleCheck`, and takes its alerts as rows of :data:`VEHICLE_ALERT_SCHEMA`, as it
takes the ledger's document findings (``scoring.documents``). Each declaration with alerts gets the points of
its alerts (each alert once), one reason per alert, and the counts ``vehicle_alert`` (all alerts) and
``vehicle_hotlist`` (hotlist hits) that a risk profile may test
(``{field: vehicle_hotlist, op: gt, value: 0}`` with ``force_lane: red``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

import polars as pl

from borderwatch.core.reasons import code, no_codes

VEHICLE_ALERT_SCHEMA: Final[dict[str, pl.DataType]] = {
    "lrn": pl.String(),
    "alert_id": pl.Int64(),
    "code": pl.String(),  # the vehicle alert's code, e.g. hotlist_national, cloned_plate, convoy
    "plate": pl.String(),
    "points": pl.Float64(),
}
VEHICLE_FIELDS: Final[tuple[str, ...]] = ("vehicle_alert", "vehicle_hotlist")
MAX_VEHICLE_POINTS: Final = 60.0
"""At most this many points from a declaration's vehicle alerts, however many it has."""


class VehicleCheck(Protocol):
    """The open alerts of the vehicles ``agency``'s declarations ``lrns`` name, as
    :data:`VEHICLE_ALERT_SCHEMA` rows (none for a declaration without a vehicle or without alerts)."""

    def __call__(self, lrns: Sequence[str], *, agency: str) -> pl.DataFrame: ...


def vehicle_evidence(lrns: pl.Series, alerts: pl.DataFrame | None) -> pl.DataFrame:
    """Per element of ``lrns`` (in order): ``vehicle_points``, ``vehicle_reasons`` (sentences),
    ``vehicle_codes`` (``VEHICLE-<CODE>`` with the alert's points and id, one per sentence) and the
    ``vehicle_alert`` and ``vehicle_hotlist`` counts."""
    frame = lrns.alias("lrn").to_frame()
    empty = pl.lit([], dtype=pl.List(pl.String))
    if alerts is None or alerts.height == 0:
        return frame.with_columns(  # with_columns, not select: literals are broadcast to every row
            pl.lit(0.0).alias("vehicle_points"),
            empty.alias("vehicle_reasons"),
            no_codes().alias("vehicle_codes"),
            *[pl.lit(0, dtype=pl.Int32).alias(name) for name in VEHICLE_FIELDS],
        ).drop("lrn")
    missing = set(VEHICLE_ALERT_SCHEMA) - set(alerts.columns)
    if missing:
        raise ValueError(f"vehicle alerts: missing column {sorted(missing)[0]!r}")
    sentence = pl.format(
        "vehicle {}: {} (alert {})",
        pl.col("plate"),
        pl.col("code").str.replace_all("_", " "),
        pl.col("alert_id"),
    )
    per_lrn = (
        alerts.unique(["lrn", "alert_id"], maintain_order=True)
        .with_columns(
            sentence.alias("_sentence"),
            code(
                pl.lit("VEHICLE-") + pl.col("code").str.to_uppercase().str.replace_all("_", "-"),
                "vehicle",
                points=pl.col("points").fill_null(0.0),
                alert_id=pl.col("alert_id"),
            ).alias("_code"),
        )
        .group_by("lrn", maintain_order=True)
        .agg(
            pl.col("points").fill_null(0.0).clip(lower_bound=0.0).sum().alias("vehicle_points"),
            pl.col("_sentence").alias("vehicle_reasons"),
            pl.col("_code").alias("vehicle_codes"),
            pl.len().cast(pl.Int32).alias("vehicle_alert"),
            pl.col("code").str.starts_with("hotlist").sum().cast(pl.Int32).alias("vehicle_hotlist"),
        )
    )
    return frame.join(per_lrn, on="lrn", how="left", maintain_order="left").select(
        pl.col("vehicle_points").fill_null(0.0).clip(upper_bound=MAX_VEHICLE_POINTS),
        pl.col("vehicle_reasons").fill_null(empty),
        pl.col("vehicle_codes").fill_null(no_codes()),
        *[pl.col(name).fill_null(0) for name in VEHICLE_FIELDS],
    )
