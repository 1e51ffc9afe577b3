"""Storage of declarations, their goods items, inspection outcomes and quarantined records.

A declaration's identity is its agency and LRN: an LRN is unique within an agency only, and two agencies'
declarations under the same LRN are two declarations. Every amendment is a new row (``version`` + 1) and
only the newest row has ``is_current`` set, so history is never overwritten. Parties are kept as flat id
columns (what scoring and network queries join on) plus their full details as JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from borderwatch.db.base import Base


class DeclarationRow(Base):
    __tablename__ = "declarations"
    __table_args__ = (
        # An LRN is unique within an agency, not across agencies: (agency, LRN) is a declaration's key.
        Index("ix_declarations_agency_lrn_version", "agency", "lrn", "version", unique=True),
        # The look-up of current versions by LRN (scoring what was just submitted, amendments): with all
        # three equalities it wins in SQLite's planner even without statistics (a database that was empty
        # when last analysed), where (is_current, declared_on) would walk every current declaration.
        Index("ix_declarations_lrn_current", "lrn", "is_current", "agency"),
        Index("ix_declarations_current_date", "is_current", "declared_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lrn: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(64), default="default", index=True)
    declared_on: Mapped[date] = mapped_column(Date)
    office: Mapped[str] = mapped_column(String(32))
    process_type: Mapped[str | None] = mapped_column(String(16))
    import_type: Mapped[str | None] = mapped_column(String(16))
    import_use: Mapped[str | None] = mapped_column(String(16))
    payment_type: Mapped[str | None] = mapped_column(String(16))
    transport_mode: Mapped[str | None] = mapped_column(String(16))
    departure_country: Mapped[str | None] = mapped_column(String(2))
    transit_countries: Mapped[str | None] = mapped_column(String(128), doc="space-separated ISO codes")
    origin_country: Mapped[str | None] = mapped_column(String(2))
    origin_indicator: Mapped[str | None] = mapped_column(String(16))
    means_id: Mapped[str | None] = mapped_column(String(64))
    container_ids: Mapped[str | None] = mapped_column(Text, doc="space-separated container numbers")
    importer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    declarant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    seller_id: Mapped[str | None] = mapped_column(String(64), index=True)
    courier_id: Mapped[str | None] = mapped_column(String(64))
    parties: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="role -> {id, name, address, country}")
    documents: Mapped[list[Any] | None] = mapped_column(JSON, doc="[{type, number, sha256}]")
    source: Mapped[str | None] = mapped_column(String(255))
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    items: Mapped[list[GoodsItemRow]] = relationship(
        back_populates="declaration", order_by="GoodsItemRow.item_no"
    )


class GoodsItemRow(Base):
    __tablename__ = "goods_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declarations.id", ondelete="CASCADE"), index=True)
    item_no: Mapped[int] = mapped_column(Integer, default=1)
    hs_code: Mapped[str] = mapped_column(String(10), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    net_mass: Mapped[float | None] = mapped_column(Float)
    quantity: Mapped[float | None] = mapped_column(Float)
    quantity_unit: Mapped[str | None] = mapped_column(String(16))
    customs_value: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate: Mapped[float | None] = mapped_column(Float)
    tax_type: Mapped[str | None] = mapped_column(String(16))

    declaration: Mapped[DeclarationRow] = relationship(back_populates="items")


class OutcomeRow(Base):
    """An inspection result, linked by agency and LRN (it applies to the declaration whatever its version)."""

    __tablename__ = "outcomes"
    __table_args__ = (Index("ix_outcomes_agency_lrn_recorded", "agency", "lrn", "recorded_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lrn: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(64), default="default", index=True)
    recorded_on: Mapped[date] = mapped_column(Date)
    fraud: Mapped[bool] = mapped_column(Boolean)
    critical_fraud: Mapped[int] = mapped_column(Integer, default=0)
    duty_recovered: Mapped[float | None] = mapped_column(Float)
    findings: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), default="inspection")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QuarantineRow(Base):
    """A record that failed validation, kept whole so a person can fix and release it."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), default="default", index=True)
    source_file: Mapped[str] = mapped_column(String(1024))
    line: Mapped[int | None] = mapped_column(Integer)
    record_key: Mapped[str | None] = mapped_column(String(64), doc="the LRN, when it could be read")
    field: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    reader: Mapped[str] = mapped_column(String(32), doc="which reader to re-submit through")
    context: Mapped[str | None] = mapped_column(
        Text, doc="what re-reading the raw text needs: the CSV header line and column mapping (JSON)"
    )
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    raw_hash: Mapped[str] = mapped_column(
        String(64), index=True, doc="so re-ingest does not quarantine twice"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ManifestLineRow(Base):
    """A goods item (or a consignment) as a carrier reported it in a CUSCAR or IFTMCS message.

    Stored once per agency and content (``content_hash``): a manifest read again adds nothing."""

    __tablename__ = "manifest_lines"
    __table_args__ = (
        Index("ix_manifest_lines_agency_hash", "agency", "content_hash", unique=True),
        Index("ix_manifest_lines_agency_arrival", "agency", "arrival_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    message_type: Mapped[str] = mapped_column(String(16))
    manifest_ref: Mapped[str] = mapped_column(String(64))
    arrival_on: Mapped[date | None] = mapped_column(Date)
    voyage: Mapped[str | None] = mapped_column(String(64))
    carrier_id: Mapped[str | None] = mapped_column(String(64))
    means_id: Mapped[str | None] = mapped_column(String(64))
    loading_port: Mapped[str | None] = mapped_column(String(16))
    discharge_port: Mapped[str | None] = mapped_column(String(16))
    consignment_ref: Mapped[str] = mapped_column(String(64), index=True)
    consignor: Mapped[str | None] = mapped_column(String(256))
    consignee: Mapped[str | None] = mapped_column(String(256))
    item_no: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str | None] = mapped_column(Text)
    hs_code: Mapped[str | None] = mapped_column(String(10))
    packages: Mapped[float | None] = mapped_column(Float)
    package_type: Mapped[str | None] = mapped_column(String(16))
    gross_mass: Mapped[float | None] = mapped_column(Float)
    container_ids: Mapped[str | None] = mapped_column(Text, doc="space-separated container numbers")
    source: Mapped[str | None] = mapped_column(String(255))
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
