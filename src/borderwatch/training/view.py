"""What an officer sees of each declaration in a queue: the declaration, the goods against their reference,
the route, the parties and their history, the documents, the screening hits and the network around the
importer.

Built from frames in the ingest schema (``ingest.frame.DECLARATION_SCHEMA``, plus the optional party names,
addresses, goods description and certificate columns when the source has them) and the history before the
queue with its outcomes. The view never holds an outcome of a queued declaration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from borderwatch.screening import compare_names
from borderwatch.synthetic import FTA_TAX_TYPES, HS_HEADINGS, ListedParty

NAME_MATCH = 0.75
"""``compare_names`` scores of at least this mean "same name" (its documented threshold)."""
MIN_REFERENCE_ROWS = 3
OPTIONAL_COLUMNS: dict[str, pl.DataType] = {
    "importer_name": pl.String(),
    "importer_address": pl.String(),
    "declarant_name": pl.String(),
    "seller_name": pl.String(),
    "seller_address": pl.String(),
    "seller_country": pl.String(),
    "courier_name": pl.String(),
    "description": pl.String(),
    "certificate_no": pl.String(),
    "certificate_issuer": pl.String(),
    "certificate_date": pl.Date(),
}


def with_optional(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every optional view column (null where the source has none)."""
    return frame.with_columns(
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in OPTIONAL_COLUMNS.items()
        if name not in frame.columns
    )


def _route_key() -> pl.Expr:
    return pl.concat_str(
        [
            pl.col("hs_code"),
            pl.col("origin_country").fill_null(""),
            pl.col("departure_country").fill_null(""),
            pl.col("transit_countries").fill_null(""),
        ],
        separator="|",
    ).alias("route_key")


def _unit_value() -> pl.Expr:
    return (pl.col("customs_value") / pl.when(pl.col("net_mass") > 0).then(pl.col("net_mass"))).alias(
        "unit_value"
    )


def _context(queue: pl.DataFrame, history: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """One row per queued declaration with the figures the view shows, computed column-wise."""
    frauds = outcomes.group_by("lrn").agg(pl.col("fraud").max().alias("fraud"))
    past = history.join(frauds, on="lrn", how="left").with_columns(_unit_value(), _route_key())
    both = pl.concat([history.select(queue.columns), queue], how="vertical_relaxed")
    # The reference price comes from declarations found clean: frauds in the history would drag it down
    # towards the very undervaluation it should reveal.
    clean = past.filter(pl.col("fraud").fill_null(0) == 0)
    by_origin = (
        clean.group_by("hs_code", "origin_country")
        .agg(pl.col("unit_value").median().alias("ref_origin"), pl.len().alias("n_origin"))
        .filter(pl.col("n_origin") >= MIN_REFERENCE_ROWS)
    )
    by_hs = (
        clean.group_by("hs_code")
        .agg(pl.col("unit_value").median().alias("ref_hs"), pl.len().alias("n_hs"))
        .filter(pl.col("n_hs") >= MIN_REFERENCE_ROWS)
    )
    importers = past.group_by("importer_id").agg(
        pl.len().alias("importer_before"),
        pl.col("declared_on").min().alias("importer_first"),
        pl.col("fraud").fill_null(0).sum().alias("importer_findings"),
    )
    sellers = past.group_by("seller_id").agg(pl.len().alias("seller_before"))
    at_address = (
        both.filter(pl.col("importer_address").is_not_null())
        .group_by("importer_address")
        .agg(pl.col("importer_id").n_unique().alias("importers_at_address"))
    )
    brokers = both.group_by("declarant_id").agg(
        pl.col("importer_id").n_unique().alias("importers_served"),
        pl.col("importer_address").drop_nulls().n_unique().alias("addresses_served"),
    )
    routes = past.group_by("route_key").agg(pl.len().alias("route_seen"))
    certificates = past.filter(pl.col("certificate_no").is_not_null()).select(
        "certificate_no", pl.col("importer_id").alias("holder")
    )
    reused = (
        queue.select("lrn", "importer_id", "certificate_no")
        .join(certificates, on="certificate_no", how="inner")
        .group_by("lrn")
        .agg(pl.len().alias("certificate_before"))
    )
    return (
        queue.with_columns(_unit_value(), _route_key())
        .join(by_origin, on=["hs_code", "origin_country"], how="left")
        .join(by_hs, on="hs_code", how="left")
        .join(importers, on="importer_id", how="left")
        .join(sellers, on="seller_id", how="left")
        .join(at_address, on="importer_address", how="left")
        .join(brokers, on="declarant_id", how="left")
        .join(routes, on="route_key", how="left")
        .join(reused, on="lrn", how="left")
        .with_columns(
            pl.coalesce("ref_origin", "ref_hs").alias("reference_unit_value"),
            pl.col(
                "importer_before", "seller_before", "importer_findings", "route_seen", "certificate_before"
            ).fill_null(0),
            pl.col("importers_at_address").fill_null(0),
        )
    )


def _screening(row: dict[str, Any], watchlist: Sequence[ListedParty]) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    for role in ("importer", "seller"):
        name, address = row.get(f"{role}_name"), row.get(f"{role}_address")
        for listed in watchlist:
            if address and address.strip().lower() == listed.address.strip().lower():
                hits.append(_hit(role, "address", address, listed, 1.0))
            if name:
                score = compare_names(name, listed.name, "organization")
                if score >= NAME_MATCH:
                    hits.append(_hit(role, "name", name, listed, score))
    return hits


def _hit(role: str, field: str, value: str, listed: ListedParty, score: float) -> dict[str, Any]:
    return {
        "role": role,
        "field": field,
        "value": value,
        "listed_name": listed.name,
        "list": listed.list_name,
        "entry": listed.entry,
        "score": round(score, 3),
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _one(row: dict[str, Any], watchlist: Sequence[ListedParty]) -> dict[str, Any]:
    reference = row["reference_unit_value"]
    unit_value = row["unit_value"]
    ratio = unit_value / reference if unit_value is not None and reference else None
    certificate = None
    if row["certificate_no"]:
        issued = row["certificate_date"]
        certificate = {
            "number": row["certificate_no"],
            "issuer": row["certificate_issuer"],
            "issued_on": issued.isoformat() if issued else None,
            "presented_before": int(row["certificate_before"]),
        }
    first = row["importer_first"]
    return {
        "lrn": row["lrn"],
        "declared_on": row["declared_on"].isoformat(),
        "office": row["office"],
        "transport_mode": row["transport_mode"],
        "goods": {
            "hs_code": row["hs_code"],
            "hs_heading": HS_HEADINGS.get(row["hs_code"] or ""),
            "description": row["description"],
            "net_mass": _round(row["net_mass"]),
            "customs_value": _round(row["customs_value"]),
            "currency": row["currency"],
            "unit_value": _round(unit_value),
            "reference_unit_value": _round(reference),
            "unit_value_ratio": _round(ratio, 3),
            "tax_type": row["tax_type"],
            "tax_rate": row["tax_rate"],
            "preferential": (row["tax_type"] or "") in FTA_TAX_TYPES,
        },
        "route": {
            "origin": row["origin_country"],
            "departure": row["departure_country"],
            "transit": row["transit_countries"],
            "seen_before": int(row["route_seen"]),
        },
        "parties": {
            "importer": {
                "id": row["importer_id"],
                "name": row["importer_name"],
                "address": row["importer_address"],
                "declarations_before": int(row["importer_before"]),
                "first_seen": first.isoformat() if first else None,
                "findings_before": int(row["importer_findings"]),
                "importers_at_address": int(row["importers_at_address"]),
            },
            "declarant": {
                "id": row["declarant_id"],
                "name": row["declarant_name"],
                "importers_served": int(row["importers_served"] or 0),
                "addresses_served": int(row["addresses_served"] or 0),
            },
            "seller": {
                "id": row["seller_id"],
                "name": row["seller_name"],
                "address": row["seller_address"],
                "country": row["seller_country"],
                "declarations_before": int(row["seller_before"]),
            },
            "courier": {"id": row["courier_id"], "name": row["courier_name"]} if row["courier_id"] else None,
        },
        "documents": {"certificate": certificate},
        "screening": _screening(row, watchlist),
        "model": None,
    }


def build_views(
    *,
    queue: pl.DataFrame,
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    watchlist: Sequence[ListedParty] = (),
) -> list[dict[str, Any]]:
    """The trainee's view of each declaration of ``queue`` (in its order), from ``history`` and its
    ``outcomes``; ``watchlist`` is screened against the importer's and seller's names and addresses."""
    queue, history = with_optional(queue), with_optional(history)
    context = _context(queue, history, outcomes)
    return [_one(row, watchlist) for row in context.iter_rows(named=True)]
