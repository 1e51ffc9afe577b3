"""ingest: index current declarations by LRN

Revision ID: 0007_declaration_lookup
Revises: 0001_foundation
Create Date: 2026-11-24 23:28:59.052985
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_declaration_lookup"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.create_index("ix_declarations_lrn_current", ["lrn", "is_current", "agency"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.drop_index("ix_declarations_lrn_current")
