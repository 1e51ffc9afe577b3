"""Storage of the ledger: logs, their append-only entries, the tiles of their trees, signed checkpoints,
cosignatures, and what a witness last saw of each log it watches.

The database itself refuses UPDATE and DELETE of entries, checkpoints and cosignatures, any change of a tile
but its growth, and any shrinking of a log (triggers, see the migration ``0101_ledger``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from borderwatch.db.base import Base


class LedgerLogRow(Base):
    """One Merkle log, with its current size and root (updated by each committed batch, only ever growing)."""

    __tablename__ = "ledger_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64), unique=True)
    origin: Mapped[str] = mapped_column(String(255), unique=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerEntryRow(Base):
    """One registered document fingerprint: leaf ``idx`` of its log. ``data`` is the leaf's exact bytes."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_fingerprint", "log_id", "fingerprint"),
        Index("ix_ledger_entries_document", "log_id", "issuer", "number"),
    )

    log_id: Mapped[int] = mapped_column(ForeignKey("ledger_logs.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    doc_type: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(128))
    number: Mapped[str] = mapped_column(String(128))
    issued_on: Mapped[date | None] = mapped_column(Date)
    submitter: Mapped[str] = mapped_column(String(128))
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fingerprint: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerTileRow(Base):
    """A C2SP tlog tile: up to 256 hashes of tree level ``8 * level``, from node ``256 * idx``."""

    __tablename__ = "ledger_tiles"

    log_id: Mapped[int] = mapped_column(ForeignKey("ledger_logs.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    width: Mapped[int] = mapped_column(Integer)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerCheckpointRow(Base):
    """A signed checkpoint the log published (every one is kept: a witness or verifier may hold any)."""

    __tablename__ = "ledger_checkpoints"
    __table_args__ = (Index("ix_ledger_checkpoints_log_size", "log_id", "size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("ledger_logs.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerCosignatureRow(Base):
    """A witness's cosignature line of one published checkpoint."""

    __tablename__ = "ledger_cosignatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("ledger_checkpoints.id"), index=True)
    witness: Mapped[str] = mapped_column(String(255))
    line: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WitnessedLogRow(Base):
    """What this borderwatch, as a witness, last cosigned of another log (its newest checkpoint)."""

    __tablename__ = "ledger_witnessed"

    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    vkey: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerAlertRow(Base):
    """A split view: two checkpoints signed by one log for the same size with different roots, or a checkpoint
    not consistent with an earlier one. Both notes are kept, as the evidence."""

    __tablename__ = "ledger_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    first_note: Mapped[str] = mapped_column(Text)
    second_note: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerPresentationRow(Base):
    """A document presented with a declaration of this agency: which declaration (LRN) showed which
    fingerprint, and the log entry that records it. Private to the agency (the public log holds no LRN): it
    is what tells a document re-used for another consignment."""

    __tablename__ = "ledger_presentations"
    __table_args__ = (
        Index("ix_ledger_presentations_fingerprint", "agency", "fingerprint"),
        Index("ix_ledger_presentations_lrn", "agency", "lrn", "fingerprint", unique=True),
        Index("ix_ledger_presentations_entry", "agency", "entry_idx"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(64))
    lrn: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    doc_type: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(128))
    number: Mapped[str] = mapped_column(String(128))
    entry_idx: Mapped[int] = mapped_column(BigInteger)
    appended: Mapped[bool] = mapped_column(Boolean, doc="the presentation appended the entry (none held it)")
    presented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
