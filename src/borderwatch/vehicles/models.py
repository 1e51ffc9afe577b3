"""Storage of cameras, plate reads, hotlists, vehicle alerts, declared vehicles, owners and quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class CameraRow(Base):
    __tablename__ = "vehicle_cameras"
    __table_args__ = (Index("ix_vehicle_cameras_agency_camera", "agency", "camera_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    camera_id: Mapped[str] = mapped_column(String(64))
    crossing: Mapped[str] = mapped_column(String(64), doc="the border crossing or road the camera watches")
    lane: Mapped[str | None] = mapped_column(String(32))
    direction: Mapped[str | None] = mapped_column(String(8), doc="in or out, when the camera sees one way")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    name: Mapped[str | None] = mapped_column(String(255))


class PlateReadRow(Base):
    __tablename__ = "plate_reads"
    __table_args__ = (
        Index("ix_plate_reads_agency_key", "agency", "read_key", unique=True),
        Index("ix_plate_reads_agency_plate", "agency", "plate", "read_at"),
        Index("ix_plate_reads_agency_plate_key", "agency", "plate_key"),
        Index("ix_plate_reads_agency_read_at", "agency", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    read_key: Mapped[str] = mapped_column(String(32), doc="hash of camera, time and text as read")
    camera_id: Mapped[str] = mapped_column(String(64))
    crossing: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str | None] = mapped_column(String(32))
    direction: Mapped[str | None] = mapped_column(String(8))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    plate: Mapped[str] = mapped_column(String(16), doc="normalised: letters and digits, repaired per country")
    plate_key: Mapped[str] = mapped_column(String(16), doc="confusion key (look-alikes folded)")
    country: Mapped[str | None] = mapped_column(String(2))
    original: Mapped[str] = mapped_column(String(512), doc="the text as the camera read it")
    confidence: Mapped[float] = mapped_column(Float)
    repairs: Mapped[str | None] = mapped_column(String(255))
    image: Mapped[str | None] = mapped_column(String(512))
    source_id: Mapped[str | None] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(255))


class HotlistEntryRow(Base):
    __tablename__ = "vehicle_hotlist"
    __table_args__ = (Index("ix_vehicle_hotlist_agency_list", "agency", "list_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    list_name: Mapped[str] = mapped_column(String(32), doc="national, partner, seizure or sanctions")
    plate: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(String(255))
    reference: Mapped[str | None] = mapped_column(String(255))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VehicleAlertRow(Base):
    """One reason a vehicle drew attention (a hotlist hit, a cloned plate, a convoy...), with its evidence."""

    __tablename__ = "vehicle_alerts"
    __table_args__ = (
        Index("ix_vehicle_alerts_agency_status", "agency", "status"),
        Index("ix_vehicle_alerts_agency_plate", "agency", "plate"),
        Index("ix_vehicle_alerts_agency_fingerprint", "agency", "fingerprint", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    read_id: Mapped[int | None] = mapped_column(Integer, doc="the read that raised it, for read-time alerts")
    code: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(32), doc="hotlist or pattern")
    points: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64), doc="the same finding is stored once")
    status: Mapped[str] = mapped_column(String(16), default="open", doc="open, confirmed or dismissed")
    latency_ms: Mapped[float | None] = mapped_column(
        Float, doc="from receiving the read to storing the alert"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeclaredVehicleRow(Base):
    """The means of transport a declaration names, and where and when it is expected to cross."""

    __tablename__ = "vehicle_declarations"
    __table_args__ = (
        Index("ix_vehicle_declarations_agency_lrn", "agency", "lrn", unique=True),
        Index("ix_vehicle_declarations_agency_plate", "agency", "plate"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    lrn: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    crossing: Mapped[str] = mapped_column(String(64))
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VehicleOwnerRow(Base):
    """Who a vehicle is registered to (the trader id when the owner is a trader)."""

    __tablename__ = "vehicle_owners"
    __table_args__ = (Index("ix_vehicle_owners_agency_plate", "agency", "plate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    owner_name: Mapped[str] = mapped_column(String(255))
    sanctioned: Mapped[bool] = mapped_column(Boolean, default=False)


class VehicleQuarantineRow(Base):
    """A read that failed validation, kept whole so a person can fix it."""

    __tablename__ = "vehicle_quarantine"

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


class HotlistVersionRow(Base):
    """A counter per agency, bumped in the same transaction by every change to its hotlists: a worker reads it
    (one primary-key look-up) to know whether its matching index is stale, instead of counting the entries."""

    __tablename__ = "vehicle_hotlist_versions"

    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
