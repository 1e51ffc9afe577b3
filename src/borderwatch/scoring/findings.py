"""What a check found about declarations, per declaration: the shape document findings and manifest
discrepancies share (``scoring.documents``, ``scoring.manifest``).

Each finding is of one kind; a declaration gets each kind's points once, one reason per distinct sentence
with its code (``<FAMILY>-<KIND>`` and the kind's points, ``core.reasons``), and per kind the count
``<family>_<kind>`` a risk profile may test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import polars as pl

from borderwatch.core.reasons import ReasonFamily, code, no_codes

Kind = TypeVar("Kind", bound=str)


def findings_evidence(
    lrns: pl.Series,
    findings: pl.DataFrame | None,
    *,
    family: ReasonFamily,
    kind: str,
    points: Mapping[Kind, float],
    sentence: pl.Expr,
    what: str,
) -> pl.DataFrame:
    """Per element of ``lrns`` (in order): ``<family>_points``, ``<family>_reasons``, ``<family>_codes`` and
    a ``<family>_<kind>`` count per kind in ``points``, from ``findings`` (``lrn``, the ``kind`` column and
    what ``sentence`` reads). ``what`` names the findings in the error an unknown kind raises."""
    prefix, kinds = family, [str(k) for k in points]  # the family names the columns too
    counts = [f"{prefix}_{k}" for k in kinds]
    frame = lrns.alias("lrn").to_frame()
    if findings is None or findings.height == 0:
        return frame.select(
            pl.lit(0.0).alias(f"{prefix}_points"),
            pl.lit([], dtype=pl.List(pl.String)).alias(f"{prefix}_reasons"),
            no_codes().alias(f"{prefix}_codes"),
            *[pl.lit(0, dtype=pl.Int32).alias(name) for name in counts],
        )
    unknown = set(findings[kind].unique().to_list()) - set(kinds)
    if unknown:
        raise ValueError(f"{what}: unknown {kind} {sorted(unknown)[0]!r}")
    worth = pl.col(kind).replace_strict(dict(points), return_dtype=pl.Float64)
    reason_id = pl.lit(f"{prefix.upper()}-") + pl.col(kind).str.to_uppercase().str.replace_all("_", "-")
    per_lrn = (
        findings.with_columns(sentence.alias("_sentence"), worth.alias("_points"))
        .with_columns(
            code(reason_id, family, points=pl.col("_points")).alias("_code"),
            pl.col("_sentence").is_first_distinct().over("lrn").alias("_first"),
        )
        .group_by("lrn", maintain_order=True)
        .agg(
            pl.col("_points").filter(pl.col(kind).is_first_distinct()).sum().alias(f"{prefix}_points"),
            pl.col("_sentence").filter("_first").alias(f"{prefix}_reasons"),
            pl.col("_code").filter("_first").alias(f"{prefix}_codes"),
            *[(pl.col(kind) == k).sum().cast(pl.Int32).alias(f"{prefix}_{k}") for k in kinds],
        )
    )
    return frame.join(per_lrn, on="lrn", how="left", maintain_order="left").select(
        pl.col(f"{prefix}_points").fill_null(0.0),
        pl.col(f"{prefix}_reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col(f"{prefix}_codes").fill_null(no_codes()),
        *[pl.col(name).fill_null(0) for name in counts],
    )
