"""inspections: cases looked up by (agency, LRN)

An LRN is unique within an agency only. Indexes only: every stored case is kept.

Revision ID: inspections_01_agency_keys
Revises: lanes_01_agency_keys
Create Date: 2026-12-03 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "inspections_01_agency_keys"
down_revision: str | Sequence[str] | None = "lanes_01_agency_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspection_cases", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_cases_agency_lrn", ["agency", "lrn"], unique=False)
        batch_op.drop_index("ix_inspection_cases_lrn")


def downgrade() -> None:
    with op.batch_alter_table("inspection_cases", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_cases_lrn", ["lrn"], unique=False)
        batch_op.drop_index("ix_inspection_cases_agency_lrn")
