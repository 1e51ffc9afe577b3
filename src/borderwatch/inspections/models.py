"""Inspection cases: one per declaration sent to red or yellow, with assignment, status history and the
finding that becomes the declaration's outcome (label)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from borderwatch.db.base import Base


class CaseRow(Base):
    __tablename__ = "inspection_cases"
    __table_args__ = (Index("ix_inspection_cases_agency_lrn", "agency", "lrn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), default="default", index=True)
    lrn: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("lane_decisions.id"), index=True)
    lane: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    officer: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome_id: Mapped[int | None] = mapped_column(ForeignKey("outcomes.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    history: Mapped[list[CaseStatusRow]] = relationship(order_by="CaseStatusRow.id")
    findings: Mapped[list[FindingRow]] = relationship(order_by="FindingRow.id")


class CaseStatusRow(Base):
    __tablename__ = "inspection_case_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("inspection_cases.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FindingRow(Base):
    """What the inspection found: no finding, an irregularity or a seizure."""

    __tablename__ = "inspection_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("inspection_cases.id", ondelete="CASCADE"), index=True)
    result: Mapped[str] = mapped_column(String(16))
    goods: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[float | None] = mapped_column(Float)
    quantity_unit: Mapped[str | None] = mapped_column(String(16))
    concealment: Mapped[str | None] = mapped_column(Text)
    duty_recovered: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_on: Mapped[date] = mapped_column(Date)

    evidence: Mapped[list[EvidenceRow]] = relationship(order_by="EvidenceRow.id")


class EvidenceRow(Base):
    """A document or photo backing a finding, kept as its SHA-256 fingerprint (the file stays elsewhere)."""

    __tablename__ = "inspection_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_findings.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
