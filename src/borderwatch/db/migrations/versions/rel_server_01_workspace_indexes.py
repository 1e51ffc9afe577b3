"""lanes and inspections: index the workspace's queries (cases by decision, the worklist)

Without an index on inspection_cases.decision_id, SQLite's worklist joined every decision to every case of
the agency: 95 s for one page at 36,090 decisions x 19,624 cases (issue #22, defect 8).

Revision ID: rel_server_01_workspace_indexes
Revises: 0004_lanes
Create Date: 2026-12-03 10:55:38.835749
"""

from collections.abc import Sequence

from alembic import op

revision: str = "rel_server_01_workspace_indexes"
down_revision: str | Sequence[str] | None = "0004_lanes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspection_cases", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_cases_decision_id", ["decision_id"], unique=False)
    with op.batch_alter_table("lane_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lane_decisions_worklist", ["agency", "is_current", "lane", "score"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lane_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_lane_decisions_worklist")
    with op.batch_alter_table("inspection_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_cases_decision_id")
