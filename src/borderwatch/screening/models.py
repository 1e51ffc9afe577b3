"""Storage of watchlist versions and their entries, and of analysts' screening decisions.

Every load of a list is a new ``WatchlistVersionRow``; its entries, aliases, identifiers and addresses are
kept per version (keyed by ``version_id`` + ``entity_id``) so a reload can be compared with the version it
replaces and an earlier version stays inspectable. Exactly one version of each list is active.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
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


class WatchlistVersionRow(Base):
    __tablename__ = "watchlist_versions"
    __table_args__ = (Index("ix_watchlist_versions_list_active", "list_name", "is_active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_name: Mapped[str] = mapped_column(String(64))
    fmt: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text, doc="the files read")
    content_hash: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WatchlistEntryRow(Base):
    __tablename__ = "watchlist_entries"
    __table_args__ = (Index("ix_watchlist_entries_version_entity", "version_id", "entity_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("watchlist_versions.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(128), index=True)
    list_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    programmes: Mapped[list[str]] = mapped_column(JSON, default=list)
    dobs: Mapped[list[str]] = mapped_column(JSON, default=list)
    nationalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    remarks: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))


class WatchlistAliasRow(Base):
    __tablename__ = "watchlist_aliases"
    __table_args__ = (Index("ix_watchlist_aliases_version_entity", "version_id", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("watchlist_versions.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(Text)
    weak: Mapped[bool] = mapped_column(Boolean, default=False)
    alias_type: Mapped[str] = mapped_column(String(32), default="aka")


class WatchlistIdentifierRow(Base):
    __tablename__ = "watchlist_identifiers"
    __table_args__ = (Index("ix_watchlist_identifiers_version_entity", "version_id", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("watchlist_versions.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(128))
    id_type: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(64))


class WatchlistAddressRow(Base):
    __tablename__ = "watchlist_addresses"
    __table_args__ = (Index("ix_watchlist_addresses_version_entity", "version_id", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("watchlist_versions.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(8))


class ScreeningDecisionRow(Base):
    """An analyst's verdict on one (screened name, listed entity) pair; ``not_match`` suppresses it later in
    the screenings of the analyst's agency, never in another agency's."""

    __tablename__ = "screening_decisions"
    __table_args__ = (
        Index("ix_screening_decisions_key_entity", "query_key", "entity_id"),
        Index("ix_screening_decisions_agency_key_entity", "agency", "query_key", "entity_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(
        String(64),
        server_default="default",
        doc="the agency whose analyst decided; it binds only that agency",
    )
    query_key: Mapped[str] = mapped_column(String(512), doc="the normalised screened name")
    query_name: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16), doc="not_match or match")
    party_id: Mapped[str | None] = mapped_column(String(64))
    analyst: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ScreeningHitRow(Base):
    """A watchlist hit of an arriving declaration's party, kept for the worklist, the network and the
    screening review queue, where an analyst confirms or dismisses it (``status`` open until then: there is
    no default verdict)."""

    __tablename__ = "screening_hits"
    __table_args__ = (
        Index("ix_screening_hits_agency_status", "agency", "status"),
        Index("ix_screening_hits_agency_lrn", "agency", "lrn"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    lrn: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    party_id: Mapped[str | None] = mapped_column(String(64))
    party_name: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(String(128))
    list_name: Mapped[str] = mapped_column(String(128))
    matched_name: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", doc="open, confirmed or dismissed")
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    screened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ScreeningAlertRow(Base):
    """A hit found when a list version changed: a known party (of a recent declaration) against an added
    or changed entry. One per (agency, screened name, entity): a second reload raises no second alert."""

    __tablename__ = "screening_alerts"
    __table_args__ = (
        UniqueConstraint("agency", "query_key", "entity_id", name="uq_screening_alerts_agency_key_entity"),
        Index("ix_screening_alerts_agency_created", "agency", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    query_key: Mapped[str] = mapped_column(String(512), doc="the normalised screened name")
    party_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    party_id: Mapped[str | None] = mapped_column(String(64))
    lrn: Mapped[str] = mapped_column(String(64), doc="a declaration the party appears in")
    entity_id: Mapped[str] = mapped_column(String(128))
    list_name: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer, doc="the list version whose change raised it")
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
