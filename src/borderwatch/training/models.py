"""Storage of training attempts: who played which exercise, what they chose, and how they scored.

The exercise itself (queue, truth, the model's choice) is stored with the attempt, so a debrief and a
re-grade never depend on rebuilding it, and the instructor's dashboard reads one table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class TrainingAttemptRow(Base):
    __tablename__ = "training_attempts"
    __table_args__ = (
        Index("ix_training_attempts_agency_user", "agency", "username"),
        Index("ix_training_attempts_agency_scenario", "agency", "scenario_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    scenario_id: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    aids: Mapped[bool] = mapped_column(Boolean)
    time_limit_seconds: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exercise: Mapped[dict[str, Any]] = mapped_column(JSON, doc="training.exercise.Exercise.to_dict()")
    choices: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="training.grading.Grade.as_dict()")
    hit_rate: Mapped[float | None] = mapped_column(Float)
    duty_recovered_share: Mapped[float | None] = mapped_column(Float)
    brier: Mapped[float | None] = mapped_column(Float)
    late: Mapped[bool] = mapped_column(Boolean, default=False, doc="submitted after the time limit")
