"""ledger: logs, append-only entries, tiles that only grow, checkpoints, cosignatures, witness state, alerts

Revision ID: 0101_ledger
Revises: 0001_foundation
Create Date: 2026-12-03 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0101_ledger"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def upgrade() -> None:
    op.create_table(
        "ledger_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_logs")),
        sa.UniqueConstraint("agency", name=op.f("uq_ledger_logs_agency")),
        sa.UniqueConstraint("origin", name=op.f("uq_ledger_logs_origin")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("issuer", sa.String(length=128), nullable=False),
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("submitter", sa.String(length=128), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"], ["ledger_logs.id"], name=op.f("fk_ledger_entries_log_id_ledger_logs")
        ),
        sa.PrimaryKeyConstraint("log_id", "idx", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_fingerprint", "ledger_entries", ["log_id", "fingerprint"])
    op.create_index("ix_ledger_entries_document", "ledger_entries", ["log_id", "issuer", "number"])
    op.create_table(
        "ledger_tiles",
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"], ["ledger_logs.id"], name=op.f("fk_ledger_tiles_log_id_ledger_logs")
        ),
        sa.PrimaryKeyConstraint("log_id", "level", "idx", name=op.f("pk_ledger_tiles")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"], ["ledger_logs.id"], name=op.f("fk_ledger_checkpoints_log_id_ledger_logs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_index("ix_ledger_checkpoints_log_size", "ledger_checkpoints", ["log_id", "size"])
    op.create_table(
        "ledger_cosignatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["ledger_checkpoints.id"],
            name=op.f("fk_ledger_cosignatures_checkpoint_id_ledger_checkpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cosignatures")),
    )
    op.create_index(op.f("ix_ledger_cosignatures_checkpoint_id"), "ledger_cosignatures", ["checkpoint_id"])
    op.create_table(
        "ledger_witnessed",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_ledger_witnessed")),
    )
    op.create_table(
        "ledger_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("first_note", sa.Text(), nullable=False),
        sa.Column("second_note", sa.Text(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_alerts")),
    )
    op.create_index(op.f("ix_ledger_alerts_origin"), "ledger_alerts", ["origin"])
    _guards()


APPEND_ONLY = ("ledger_entries", "ledger_checkpoints", "ledger_cosignatures", "ledger_alerts")
# A tile may only grow: same key, a wider width, its old hashes as the prefix of the new ones.
TILE_CHANGE = (
    "NEW.log_id <> OLD.log_id OR NEW.level <> OLD.level OR NEW.idx <> OLD.idx OR NEW.width < OLD.width"
)
LOG_CHANGE = "NEW.id <> OLD.id OR NEW.origin <> OLD.origin OR NEW.agency <> OLD.agency OR NEW.size < OLD.size"


def _guards() -> None:
    """The database itself refuses to rewrite the ledger: no UPDATE or DELETE of entries, checkpoints,
    cosignatures and alerts, no DELETE of tiles or logs, a tile only grows, a log never shrinks."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse()"
            )
        for table in ("ledger_tiles", "ledger_logs"):
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse()"
            )
        op.execute(
            "CREATE FUNCTION ledger_tiles_grow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF {TILE_CHANGE} OR substring(NEW.hashes from 1 for length(OLD.hashes)) <> OLD.hashes THEN "
            "RAISE EXCEPTION 'ledger_tiles only grow'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_tiles_grow BEFORE UPDATE ON ledger_tiles "
            "FOR EACH ROW EXECUTE FUNCTION ledger_tiles_grow()"
        )
        op.execute(
            "CREATE FUNCTION ledger_logs_grow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF {LOG_CHANGE} THEN RAISE EXCEPTION 'ledger_logs only grow'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_logs_grow BEFORE UPDATE ON ledger_logs "
            "FOR EACH ROW EXECUTE FUNCTION ledger_logs_grow()"
        )
        return
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    for table in ("ledger_tiles", "ledger_logs"):
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
    op.execute(
        "CREATE TRIGGER ledger_tiles_grow BEFORE UPDATE ON ledger_tiles "
        f"WHEN {TILE_CHANGE} OR substr(NEW.hashes, 1, length(OLD.hashes)) <> OLD.hashes "
        "BEGIN SELECT RAISE(ABORT, 'ledger_tiles only grow'); END"
    )
    op.execute(
        f"CREATE TRIGGER ledger_logs_grow BEFORE UPDATE ON ledger_logs WHEN {LOG_CHANGE} "
        "BEGIN SELECT RAISE(ABORT, 'ledger_logs only grow'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        for table in ("ledger_tiles", "ledger_logs"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
        op.execute("DROP TRIGGER IF EXISTS ledger_tiles_grow ON ledger_tiles")
        op.execute("DROP TRIGGER IF EXISTS ledger_logs_grow ON ledger_logs")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse()")
        op.execute("DROP FUNCTION IF EXISTS ledger_tiles_grow()")
        op.execute("DROP FUNCTION IF EXISTS ledger_logs_grow()")
    for table in (
        "ledger_alerts",
        "ledger_witnessed",
        "ledger_cosignatures",
        "ledger_checkpoints",
        "ledger_tiles",
        "ledger_entries",
        "ledger_logs",
    ):
        op.drop_table(table)
