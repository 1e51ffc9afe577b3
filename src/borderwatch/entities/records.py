"""Party records: one row per (declaration, role) with the party's id, name, address and declarant.

The common input of entity resolution and of the trader network, built from a KCS-layout frame with the
agreed extra columns (generated traffic, files) or from stored declarations (their ``parties`` JSON).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
from sqlalchemy import Engine, select

from borderwatch.core.vocabulary import PARTY_ROLES

RECORD_SCHEMA: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "declared_on": pl.Date(),
    "role": pl.String(),
    "party_id": pl.String(),
    "name": pl.String(),
    "address": pl.String(),
    "country": pl.String(),
    "declarant_id": pl.String(),
}
ROLES = PARTY_ROLES
_KCS_ROLE_COLUMNS = {
    "importer": ("Importer ID", "Importer Name", "Importer Address", "Importer Country"),
    "declarant": ("Declarant ID", "Declarant Name", None, None),
    "seller": ("Seller ID", "Seller Name", "Seller Address", "Seller Country"),
    "courier": ("Courier ID", "Courier Name", None, None),
}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=RECORD_SCHEMA)


def records_from_kcs(frame: pl.DataFrame) -> pl.DataFrame:
    """Party records of a KCS-layout frame (optional name/address/country columns may be missing)."""
    parts = []
    declared_on = pl.col("Date")
    if frame.schema.get("Date") == pl.String:
        declared_on = declared_on.str.to_date("%Y-%m-%d")
    for role, (id_col, name_col, address_col, country_col) in _KCS_ROLE_COLUMNS.items():
        if id_col not in frame.columns:
            continue
        parts.append(
            frame.select(
                pl.col("Declaration ID").cast(pl.String).alias("lrn"),
                declared_on.alias("declared_on"),
                pl.lit(role).alias("role"),
                pl.col(id_col).cast(pl.String).alias("party_id"),
                *[
                    (
                        pl.col(c).cast(pl.String) if c and c in frame.columns else pl.lit(None, pl.String)
                    ).alias(alias)
                    for c, alias in ((name_col, "name"), (address_col, "address"), (country_col, "country"))
                ],
                pl.col("Declarant ID").cast(pl.String).alias("declarant_id"),
            )
        )
    if not parts:
        return _empty()
    records = pl.concat(parts)
    return records.filter(pl.col("party_id").is_not_null() & (pl.col("party_id") != ""))


def records_from_db(
    engine: Engine,
    *,
    agency: str | None = None,
    until: date | None = None,
    lrns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Party records of the current stored declarations (``agency``'s when given: an LRN is unique within an
    agency only; optionally only those declared before ``until``)."""
    from borderwatch.ingest.models import DeclarationRow

    query = select(
        DeclarationRow.lrn,
        DeclarationRow.declared_on,
        DeclarationRow.declarant_id,
        DeclarationRow.importer_id,
        DeclarationRow.seller_id,
        DeclarationRow.courier_id,
        DeclarationRow.parties,
    ).where(DeclarationRow.is_current.is_(True))
    if agency is not None:
        query = query.where(DeclarationRow.agency == agency)
    if until is not None:
        query = query.where(DeclarationRow.declared_on < until)
    if lrns is not None:
        query = query.where(DeclarationRow.lrn.in_(list(lrns)))
    rows = []
    with engine.connect() as connection:
        for lrn, declared_on, declarant_id, importer_id, seller_id, courier_id, parties in connection.execute(
            query
        ):
            ids = {
                "importer": importer_id,
                "declarant": declarant_id,
                "seller": seller_id,
                "courier": courier_id,
            }
            details = parties or {}
            for role, party_id in ids.items():
                if not party_id:
                    continue
                party = details.get(role) or {}
                rows.append(
                    (
                        lrn,
                        declared_on,
                        role,
                        party_id,
                        party.get("name"),
                        party.get("address"),
                        party.get("country"),
                        declarant_id,
                    )
                )
    if not rows:
        return _empty()
    return pl.DataFrame(rows, schema=RECORD_SCHEMA, orient="row")
