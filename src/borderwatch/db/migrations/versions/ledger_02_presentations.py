"""ledger: presentations of documents with declarations

Revision ID: ledger_02_presentations
Revises: 0101_ledger
Create Date: 2026-12-03 13:45:50.215159
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ledger_02_presentations"
down_revision: str | Sequence[str] | None = "0101_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_presentations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("lrn", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("issuer", sa.String(length=128), nullable=False),
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("entry_idx", sa.BigInteger(), nullable=False),
        sa.Column("appended", sa.Boolean(), nullable=False),
        sa.Column(
            "presented_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_presentations")),
    )
    with op.batch_alter_table("ledger_presentations", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_presentations_entry", ["agency", "entry_idx"], unique=False)
        batch_op.create_index("ix_ledger_presentations_fingerprint", ["agency", "fingerprint"], unique=False)
        batch_op.create_index("ix_ledger_presentations_lrn", ["agency", "lrn", "fingerprint"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("ledger_presentations", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_presentations_lrn")
        batch_op.drop_index("ix_ledger_presentations_fingerprint")
        batch_op.drop_index("ix_ledger_presentations_entry")

    op.drop_table("ledger_presentations")
