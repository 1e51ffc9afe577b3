"""The columnar view of declarations that features, scoring, lanes and simulation work on.

One row per goods item of the current version of each declaration. Outcomes are a separate frame, because a
feature for a declaration may only use outcomes recorded before its date. Both the database loader and the
direct file readers produce exactly these schemas.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

DECLARATION_SCHEMA: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "declared_on": pl.Date(),
    "agency": pl.String(),
    "office": pl.String(),
    "process_type": pl.String(),
    "import_type": pl.String(),
    "import_use": pl.String(),
    "payment_type": pl.String(),
    "transport_mode": pl.String(),
    "departure_country": pl.String(),
    "origin_country": pl.String(),
    "origin_indicator": pl.String(),
    "transit_countries": pl.String(),
    "importer_id": pl.String(),
    "declarant_id": pl.String(),
    "seller_id": pl.String(),
    "courier_id": pl.String(),
    "item_no": pl.Int32(),
    "hs_code": pl.String(),
    "net_mass": pl.Float64(),
    "customs_value": pl.Float64(),
    "currency": pl.String(),
    "tax_rate": pl.Float64(),
    "tax_type": pl.String(),
}

# The documents a declaration states (its current version), one row each (``store.load_documents``).
DOCUMENT_SCHEMA: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "doc_type": pl.String(),
    "number": pl.String(),
    "issuer": pl.String(),
    "sha256": pl.String(),
}

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "recorded_on": pl.Date(),
    "fraud": pl.Int8(),
    "critical_fraud": pl.Int8(),
}

# What reconciliation compares with a manifest: one row per goods item of a current declaration, with the
# containers and the numbers of the documents (a bill of lading, an air waybill) the declaration states.
LINK_SCHEMA: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "declared_on": pl.Date(),
    "importer_id": pl.String(),
    "container_ids": pl.List(pl.String()),
    "documents": pl.List(pl.String()),
    "item_no": pl.Int32(),
    "hs_code": pl.String(),
    "net_mass": pl.Float64(),
}

# Manifest lines (CUSCAR, IFTMCS) as stored: one row per goods item a carrier reported.
MANIFEST_SCHEMA: dict[str, pl.DataType] = {
    "message_type": pl.String(),
    "manifest_ref": pl.String(),
    "arrival_on": pl.Date(),
    "consignment_ref": pl.String(),
    "consignee": pl.String(),
    "item_no": pl.Int32(),
    "hs_code": pl.String(),
    "description": pl.String(),
    "packages": pl.Float64(),
    "gross_mass": pl.Float64(),
    "container_ids": pl.List(pl.String()),
}

KCS_COLUMNS: dict[str, str] = {
    "Declaration ID": "lrn",
    "Date": "declared_on",
    "Office ID": "office",
    "Process Type": "process_type",
    "Import Type": "import_type",
    "Import Use": "import_use",
    "Payment Type": "payment_type",
    "Mode of Transport": "transport_mode",
    "Declarant ID": "declarant_id",
    "Importer ID": "importer_id",
    "Seller ID": "seller_id",
    "Courier ID": "courier_id",
    "HS6 Code": "hs_code",
    "Country of Departure": "departure_country",
    "Country of Origin": "origin_country",
    "Tax Rate": "tax_rate",
    "Tax Type": "tax_type",
    "Country of Origin Indicator": "origin_indicator",
    "Net Mass": "net_mass",
    "Item Price": "customs_value",
    "Fraud": "fraud",
    "Critical Fraud": "critical_fraud",
}
KCS_CURRENCY = "KRW"


def empty_declarations() -> pl.DataFrame:
    return pl.DataFrame(schema=DECLARATION_SCHEMA)


def empty_outcomes() -> pl.DataFrame:
    return pl.DataFrame(schema=OUTCOME_SCHEMA)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with exactly the columns of ``schema``, in order and of its types (missing ones null)."""
    if list(frame.schema.items()) == list(schema.items()):
        return frame  # already conforming: the select would copy nothing, yet costs a query per call
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )


def read_kcs_frames(path: Path, *, agency: str = "default") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Declarations and outcomes of a clean KCS-layout CSV, straight into frames (no database, no quarantine).

    For evaluation and replay on files known to be clean; ``borderwatch ingest`` is the validated path.
    Outcomes are dated at the declaration date, as the KCS release gives no inspection date.
    """
    raw = pl.read_csv(path, infer_schema=False).rename(KCS_COLUMNS)
    frame = raw.with_columns(
        pl.col("declared_on").str.to_date("%Y-%m-%d"),
        pl.col("hs_code").str.zfill(6),
        pl.lit(agency).alias("agency"),
        pl.lit(1).alias("item_no"),
        pl.lit(KCS_CURRENCY).alias("currency"),
        pl.col("tax_rate", "net_mass", "customs_value").cast(pl.Float64),
        pl.col("courier_id").replace("", None),
    )
    declarations = conform(frame, DECLARATION_SCHEMA)
    outcomes = conform(
        frame.select(
            "lrn",
            pl.col("declared_on").alias("recorded_on"),
            pl.col("fraud").cast(pl.Int8),
            pl.col("critical_fraud").cast(pl.Int8),
        ),
        OUTCOME_SCHEMA,
    )
    return declarations, outcomes
