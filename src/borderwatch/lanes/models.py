"""Stored lane decisions (one current decision per declaration; overrides supersede, never overwrite) and
the AEO registry."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class LaneDecisionRow(Base):
    __tablename__ = "lane_decisions"
    __table_args__ = (
        Index("ix_lane_decisions_agency_lrn_current", "agency", "lrn", "is_current"),
        # the worklist: an agency's current decisions of some lanes, riskiest first
        Index("ix_lane_decisions_worklist", "agency", "is_current", "lane", "score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lrn: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(64), default="default", index=True)
    declared_on: Mapped[date] = mapped_column(Date, index=True)
    office: Mapped[str] = mapped_column(String(32))
    lane: Mapped[str] = mapped_column(String(8), index=True)
    basis: Mapped[str] = mapped_column(
        String(64), doc="mandatory rule, control sample, ..., supervisor override"
    )
    score: Mapped[float | None] = mapped_column(Float)
    fraud_probability: Mapped[float | None] = mapped_column(Float)
    expected_duty: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    reason_codes: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON, doc="one per reason, same order: its stable id, family and figures (core.reasons.Reason)"
    )
    control: Mapped[bool] = mapped_column(Boolean, default=False)
    aeo: Mapped[bool] = mapped_column(Boolean, default=False)
    selection_probability: Mapped[float] = mapped_column(Float)
    policy_version: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(64))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("lane_decisions.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(64), default="system")
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AeoCertificateRow(Base):
    """An Authorised Economic Operator certificate: the trader is treated as lower risk while it is valid."""

    __tablename__ = "aeo_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), default="default", index=True)
    trader_id: Mapped[str] = mapped_column(String(64), index=True)
    certificate_no: Mapped[str | None] = mapped_column(String(64))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
