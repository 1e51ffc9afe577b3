"""lanes: lane decisions looked up by (agency, LRN)

An LRN is unique within an agency only. Indexes only: every stored decision is kept.

Revision ID: lanes_01_agency_keys
Revises: rel_server_01_workspace_indexes
Create Date: 2026-12-03 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "lanes_01_agency_keys"
down_revision: str | Sequence[str] | None = "rel_server_01_workspace_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lane_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lane_decisions_agency_lrn_current", ["agency", "lrn", "is_current"], unique=False
        )
        batch_op.drop_index("ix_lane_decisions_lrn_current")


def downgrade() -> None:
    with op.batch_alter_table("lane_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_lane_decisions_lrn_current", ["lrn", "is_current"], unique=False)
        batch_op.drop_index("ix_lane_decisions_agency_lrn_current")
