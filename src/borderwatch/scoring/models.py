"""Storage of trained risk models (the registry) and of the scores given to declarations, with reasons."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Index, Integer, String, false, func, true
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class RiskModelRow(Base):
    """One trained model version: its training window, features, metrics and where its file lives."""

    __tablename__ = "risk_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    agency: Mapped[str] = mapped_column(String(64), default="default", index=True)
    trained_from: Mapped[date | None] = mapped_column(Date)
    trained_until: Mapped[date | None] = mapped_column(Date)
    seed: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    path: Mapped[str] = mapped_column(String(1024), doc="the model file written by RiskModel.save")
    active: Mapped[bool] = mapped_column(
        Boolean,
        server_default=false(),
        default=False,
        doc="the one version that scores the agency's arriving declarations (registry.activate_model)",
    )
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    activated_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RiskScoreRow(Base):
    """A declaration's score from one model version; re-scoring adds a row, the newest one counts."""

    __tablename__ = "risk_scores"
    __table_args__ = (Index("ix_risk_scores_agency_lrn", "agency", "lrn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lrn: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(64), default="default")
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    score: Mapped[float] = mapped_column(Float)
    fraud_probability: Mapped[float] = mapped_column(Float)
    expected_duty: Mapped[float] = mapped_column(Float)
    forced_lane: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    reason_codes: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON, doc="one per reason, same order: its stable id, family and figures (core.reasons.Reason)"
    )
    explained: Mapped[bool] = mapped_column(
        Boolean,
        server_default=true(),
        doc="False while the model's own reasons are left to the first read (reasons then hold rule hits "
        "and anomaly flags only)",
    )
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
