"""Storage of resolved entities: clusters of party records (ids across declarations) judged one trader."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class ResolvedEntityRow(Base):
    __tablename__ = "resolved_entities"
    __table_args__ = (Index("ix_resolved_entities_run_key", "run_id", "entity_key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    entity_key: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    canonical_name: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    member_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ResolvedMemberRow(Base):
    __tablename__ = "resolved_entity_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resolved_id: Mapped[int] = mapped_column(
        ForeignKey("resolved_entities.id", ondelete="CASCADE"), index=True
    )
    party_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text, doc="why this record joined the cluster")
