"""intel: no single-column collection index on objects

Revision ID: intel_02_objects_index
Revises: 0110_intel
Create Date: 2026-12-03 14:13:35.339731
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intel_02_objects_index"
down_revision: str | Sequence[str] | None = "0110_intel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intel_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intel_objects_collection_id"))


def downgrade() -> None:
    with op.batch_alter_table("intel_objects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intel_objects_collection_id"), ["collection_id"], unique=False)
