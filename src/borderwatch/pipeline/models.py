"""What the pipeline's workers have done, so that a message delivered twice has its effect once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class PipelineEffectRow(Base):
    """One stage's effect for one declaration content: written in the same transaction as the effect (the
    scores, the lane decisions), so a redelivered or republished message finds it and stores nothing."""

    __tablename__ = "pipeline_effects"

    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    agency: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(
        String(64), primary_key=True, doc="SHA-256 of the declaration's canonical JSON (messages.content_key)"
    )
    lrn: Mapped[str] = mapped_column(String(64), index=True)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
