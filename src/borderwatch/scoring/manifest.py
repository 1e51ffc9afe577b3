"""Manifest discrepancies as scoring evidence: points, reasons and risk-profile fields.

Reconciliation (``features.reconcile``) finds them; each one with an LRN (``DISCREPANCY_SCHEMA`` rows) gives
its declaration the points of its kind (once per kind), one reason per finding, and the counts
``manifest_<kind>`` a risk profile may test, e.g. ``{field: manifest_container_conflict, op: gt, value: 0}``
with ``force_lane: red``. Findings without an LRN (undeclared goods) are alerts on the manifest, not scores.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from borderwatch.core.reasons import code, no_codes
from borderwatch.core.vocabulary import MANIFEST_DISCREPANCIES, ManifestDiscrepancy

MANIFEST_POINTS: Final[dict[ManifestDiscrepancy, float]] = {
    "undeclared_consignment": 0.0,  # no declaration to score: an alert
    "undeclared_container": 20.0,
    "weight_gap": 15.0,
    "hs_conflict": 20.0,
    "container_check_digit": 10.0,
    "container_conflict": 25.0,
}
MANIFEST_FIELDS: Final[tuple[str, ...]] = tuple(f"manifest_{kind}" for kind in MANIFEST_DISCREPANCIES)


def _sentence() -> pl.Expr:
    kind, container, ref = pl.col("kind"), pl.col("container_id").fill_null("?"), pl.col("consignment_ref")
    return (
        pl.when(kind == "weight_gap")
        .then(
            pl.format(
                "manifest: {} kg net declared against {} kg gross manifested for consignment {}",
                pl.col("declared").round(1),
                pl.col("manifested").round(1),
                ref,
            )
        )
        .when(kind == "hs_conflict")
        .then(pl.format("manifest: no goods item of an HS chapter consignment {} carries", ref))
        .when(kind == "undeclared_container")
        .then(pl.format("manifest: container {} of consignment {} is declared by nobody", container, ref))
        .when(kind == "container_check_digit")
        .then(pl.format("manifest: container number {} fails its ISO 6346 check digit", container))
        .when(kind == "container_conflict")
        .then(
            pl.format(
                "manifest: full container {} is also declared by {}, another importer",
                container,
                pl.col("other_lrn").fill_null("?"),
            )
        )
        .otherwise(pl.format("manifest: {} ({})", kind, ref))
    )


def manifest_evidence(lrns: pl.Series, discrepancies: pl.DataFrame | None) -> pl.DataFrame:
    """Per element of ``lrns`` (in order): ``manifest_points``, ``manifest_reasons``, ``manifest_codes``
    (``MANIFEST-<KIND>`` with its points, one per sentence) and the ``manifest_*`` counts, from
    reconciliation's discrepancies (those naming a declaration)."""
    frame = lrns.alias("lrn").to_frame()
    named = None if discrepancies is None else discrepancies.filter(pl.col("lrn").is_not_null())
    if named is None or named.height == 0:
        return frame.select(
            pl.lit(0.0).alias("manifest_points"),
            pl.lit([], dtype=pl.List(pl.String)).alias("manifest_reasons"),
            no_codes().alias("manifest_codes"),
            *[pl.lit(0, dtype=pl.Int32).alias(name) for name in MANIFEST_FIELDS],
        )
    unknown = set(named["kind"].unique().to_list()) - set(MANIFEST_DISCREPANCIES)
    if unknown:
        raise ValueError(f"manifest discrepancies: unknown kind {sorted(unknown)[0]!r}")
    points = pl.col("kind").replace_strict(MANIFEST_POINTS, return_dtype=pl.Float64)
    per_lrn = (
        named.with_columns(_sentence().alias("_sentence"), points.alias("_points"))
        .with_columns(
            code(
                pl.lit("MANIFEST-") + pl.col("kind").str.to_uppercase().str.replace_all("_", "-"),
                "manifest",
                points=pl.col("_points"),
            ).alias("_code"),
            pl.col("_sentence").is_first_distinct().over("lrn").alias("_first"),
        )
        .group_by("lrn", maintain_order=True)
        .agg(
            pl.col("_points").filter(pl.col("kind").is_first_distinct()).sum().alias("manifest_points"),
            pl.col("_sentence").filter("_first").alias("manifest_reasons"),
            pl.col("_code").filter("_first").alias("manifest_codes"),
            *[
                (pl.col("kind") == k).sum().cast(pl.Int32).alias(f"manifest_{k}")
                for k in MANIFEST_DISCREPANCIES
            ],
        )
    )
    return frame.join(per_lrn, on="lrn", how="left", maintain_order="left").select(
        pl.col("manifest_points").fill_null(0.0),
        pl.col("manifest_reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("manifest_codes").fill_null(no_codes()),
        *[pl.col(name).fill_null(0) for name in MANIFEST_FIELDS],
    )
