"""Storage of intelligence shared over TAXII 2.1: collections and who may read or write them, the STIX objects
they hold (every version, with provenance), status resources, sharing groups and their agreements, the
recorded decisions to share, sightings, and partner servers to pull from and push to.

Objects are kept apart per agency: a collection belongs to one agency, and an object row records the agency
that sent it (``source_agency``), its TLP level and, for TLP:RED, its named recipients. Who may see an object
is decided by :func:`borderwatch.access.policy.decide_intel_read`, never here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class IntelCollectionRow(Base):
    """A TAXII collection owned by one agency; ``IntelCollectionAccessRow`` names the partners' rights."""

    __tablename__ = "intel_collections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, doc="a UUIDv4, the TAXII collection id")
    agency: Mapped[str] = mapped_column(String(64), index=True, doc="the owner")
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    alias: Mapped[str | None] = mapped_column(String(64))
    default_tlp: Mapped[str] = mapped_column(String(16), default="amber", doc="for objects sent unmarked")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IntelCollectionAccessRow(Base):
    __tablename__ = "intel_collection_access"
    __table_args__ = (UniqueConstraint("collection_id", "agency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("intel_collections.id", ondelete="CASCADE"), index=True
    )
    agency: Mapped[str] = mapped_column(String(64))
    can_read: Mapped[bool] = mapped_column(Boolean, default=False)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)


class IntelObjectRow(Base):
    """One version of one STIX object in one collection; the row id orders the collection (``next``)."""

    __tablename__ = "intel_objects"
    __table_args__ = (
        UniqueConstraint("collection_id", "stix_id", "modified", name="uq_intel_objects_version"),
        Index("ix_intel_objects_collection_latest", "collection_id", "is_latest", "id"),
        Index("ix_intel_objects_collection_added", "collection_id", "date_added"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No index of its own: the three composite indexes lead with it (one index less to keep up on ingest).
    collection_id: Mapped[str] = mapped_column(ForeignKey("intel_collections.id", ondelete="CASCADE"))
    # No index of its own: queries by STIX id name the collection (the unique version index serves them).
    stix_id: Mapped[str] = mapped_column(String(128))
    stix_type: Mapped[str] = mapped_column(String(64))
    spec_version: Mapped[str] = mapped_column(String(8), default="2.1")
    modified: Mapped[str] = mapped_column(String(32), doc="the version: modified, else created, as sent")
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    date_added: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source_agency: Mapped[str] = mapped_column(String(64), doc="who sent it (the owner for its own shares)")
    source: Mapped[str | None] = mapped_column(String(255), doc="where it came from: a partner URL or user")
    tlp: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[int | None] = mapped_column(Integer, doc="the sharing group of an AMBER share")
    recipients: Mapped[list[str] | None] = mapped_column(JSON, doc="named recipients of a TLP:RED object")
    released: Mapped[bool] = mapped_column(Boolean, default=False, doc="a share decision let it leave")
    decision_id: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, doc="the object as JSON, served byte for byte")


class IntelStatusRow(Base):
    """A TAXII status resource: what became of each object of one POSTed envelope."""

    __tablename__ = "intel_status"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(36), index=True)
    agency: Mapped[str] = mapped_column(String(64), doc="the agency that posted; only it may read the status")
    request_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    total_count: Mapped[int] = mapped_column(Integer)
    successes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class SharingGroupRow(Base):
    """A named set of partner agencies with its agreement: which kinds of records may leave, and whether
    personal data of natural persons may leave in clear (else as keyed pseudonyms), and whether sightings
    go back to the producer."""

    __tablename__ = "intel_sharing_groups"
    __table_args__ = (UniqueConstraint("agency", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), index=True, doc="the agency that set the group up")
    name: Mapped[str] = mapped_column(String(128))
    kinds: Mapped[list[str]] = mapped_column(
        JSON, doc="record kinds the agreement covers: seizure, indicator"
    )
    personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    sightings: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SharingGroupMemberRow(Base):
    __tablename__ = "intel_sharing_group_members"
    __table_args__ = (UniqueConstraint("group_id", "agency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("intel_sharing_groups.id", ondelete="CASCADE"), index=True
    )
    agency: Mapped[str] = mapped_column(String(64))


class ShareDecisionRow(Base):
    """A person's recorded decision to let records leave: what, to whom, under which TLP, and the objects."""

    __tablename__ = "intel_share_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    decided_by: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), doc="seizure or indicator")
    record_id: Mapped[str] = mapped_column(String(128), doc="the case id or the risk profile id")
    tlp: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("intel_sharing_groups.id"))
    recipients: Mapped[list[str] | None] = mapped_column(JSON)
    collection_id: Mapped[str] = mapped_column(String(36))
    object_ids: Mapped[list[str]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IntelKeyRow(Base):
    """An agency's secret for keyed pseudonyms of personal data; made once, never leaves the database."""

    __tablename__ = "intel_keys"

    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))


class SightingRow(Base):
    """Local matches of a received indicator (``direction`` local), or a partner's count of matches of one of
    this agency's indicators (``direction`` received)."""

    __tablename__ = "intel_sightings"
    __table_args__ = (Index("ix_intel_sightings_agency_indicator", "agency", "indicator_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8), doc="local or received")
    indicator_id: Mapped[str] = mapped_column(String(128))
    partner: Mapped[str | None] = mapped_column(String(255), doc="the producer, or who sighted")
    lrn: Mapped[str | None] = mapped_column(String(64), doc="the matching declaration (local only)")
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stix_id: Mapped[str | None] = mapped_column(String(128), doc="the sighting object, once sent or received")
    sent: Mapped[bool] = mapped_column(Boolean, default=False)


class IntelPartnerRow(Base):
    """A partner's TAXII collection this agency pulls from and/or pushes to; the token is not stored."""

    __tablename__ = "intel_partners"
    __table_args__ = (UniqueConstraint("agency", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64), doc="the partner agency's code")
    collection_url: Mapped[str] = mapped_column(String(1024))
    last_added: Mapped[str | None] = mapped_column(String(40), doc="X-TAXII-Date-Added-Last of the last pull")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
