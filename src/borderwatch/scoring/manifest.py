"""Manifest discrepancies as scoring evidence: points, reasons and risk-profile fields.

Reconciliation (``features.reconcile``) finds them; each one with an LRN (``DISCREPANCY_SCHEMA`` rows) gives
its declaration the points of its kind (once per kind), one reason per finding, and the counts
``manifest_<kind>`` a risk profile may test, e.g. ``{field: manifest_container_conflict, op: gt, value: 0}``
with ``force_lane: red``. Findings without an LRN (undeclared goods) are alerts on the manifest, not scores.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from borderwatch.core.vocabulary import MANIFEST_DISCREPANCIES, ManifestDiscrepancy
from borderwatch.scoring.findings import findings_evidence

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
    return findings_evidence(
        lrns,
        None if discrepancies is None else discrepancies.filter(pl.col("lrn").is_not_null()),
        family="manifest",
        kind="kind",
        points=MANIFEST_POINTS,
        sentence=_sentence(),
        what="manifest discrepancies",
    )
