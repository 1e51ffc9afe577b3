"""Storage of movements (flights, voyages, vehicles), travellers, their documents, checks and quarantine.

A traveller's identity on a movement is the hash of what the list said about them, so a list sent again (or
a PAXLST sent in parts) does not store anyone twice. The agency's lost/stolen document list is kept here
too: it plays the role INTERPOL's SLTD database plays for a national border agency.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class MovementRow(Base):
    __tablename__ = "traveller_movements"
    __table_args__ = (Index("ix_traveller_movements_agency_key", "agency", "key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(160), doc="number/day/from-to")
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(64))
    carrier: Mapped[str | None] = mapped_column(String(64))
    departure_place: Mapped[str | None] = mapped_column(String(64))
    departure_at: Mapped[datetime | None] = mapped_column(DateTime)
    arrival_place: Mapped[str | None] = mapped_column(String(64))
    arrival_at: Mapped[datetime | None] = mapped_column(DateTime)
    reporting_party: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TravellerRow(Base):
    __tablename__ = "travellers"
    __table_args__ = (Index("ix_travellers_movement_hash", "movement_id", "content_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    movement_id: Mapped[int] = mapped_column(ForeignKey("traveller_movements.id", ondelete="CASCADE"))
    source_key: Mapped[str] = mapped_column(String(128))
    content_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    surname: Mapped[str] = mapped_column(String(128), index=True)
    given_names: Mapped[str] = mapped_column(String(255))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    nationality: Mapped[str | None] = mapped_column(String(3))
    embarkation: Mapped[str | None] = mapped_column(String(64))
    debarkation: Mapped[str | None] = mapped_column(String(64))
    itinerary: Mapped[str | None] = mapped_column(String(255), doc="places separated by spaces")
    birth_place: Mapped[str | None] = mapped_column(String(128))
    residence_country: Mapped[str | None] = mapped_column(String(3))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255))
    booking_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    booked_on: Mapped[date | None] = mapped_column(Date)
    one_way: Mapped[bool | None] = mapped_column(Boolean)
    seat: Mapped[str | None] = mapped_column(String(16))
    bags: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TravelDocumentRow(Base):
    __tablename__ = "travel_documents"
    __table_args__ = (Index("ix_travel_documents_agency_number", "agency", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    traveller_id: Mapped[int] = mapped_column(ForeignKey("travellers.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    doc_type: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    issuing_state: Mapped[str | None] = mapped_column(String(3))
    expiry: Mapped[date | None] = mapped_column(Date)
    issued: Mapped[date | None] = mapped_column(Date)
    mrz: Mapped[str | None] = mapped_column(Text)


class TravellerCheckRow(Base):
    """One reason a traveller or document drew attention, with its evidence (a fraud check, a watchlist hit,
    a travel pattern)."""

    __tablename__ = "traveller_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("travellers.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("travel_documents.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(32), doc="document, watchlist or pattern")
    points: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TravellerAssessmentRow(Base):
    """A traveller's risk score and referral decision (secondary inspection or not) on a movement."""

    __tablename__ = "traveller_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("travellers.id", ondelete="CASCADE"), index=True)
    movement_id: Mapped[int] = mapped_column(ForeignKey("traveller_movements.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    referred: Mapped[bool] = mapped_column(Boolean)
    basis: Mapped[str] = mapped_column(String(32), doc="risk, mandatory, control or none")
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LostStolenDocumentRow(Base):
    __tablename__ = "lost_stolen_documents"
    __table_args__ = (Index("ix_lost_stolen_agency_number", "agency", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(64))
    issuing_state: Mapped[str | None] = mapped_column(String(3))
    reported_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(
        String(16), default="stolen", doc="lost, stolen, revoked, invalidated"
    )
    source: Mapped[str | None] = mapped_column(String(255))


class TravellerQuarantineRow(Base):
    """A traveller or message that failed validation, kept whole so a person can fix it."""

    __tablename__ = "traveller_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    source_file: Mapped[str] = mapped_column(String(1024))
    record: Mapped[str] = mapped_column(String(255))
    field: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    raw_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
