"""lanes: on PostgreSQL, lane_decisions partitioned by month of declared_on (issue #21)

The worklist reads an agency's current red and yellow decisions of a date range: with a partition per month
it reads only those months' indexes. The primary key becomes (id, declared_on); the foreign keys that
referenced lane_decisions.id (inspection_cases.decision_id, lane_decisions.supersedes_id) are dropped, since
PostgreSQL cannot reference a partitioned table by a key without its partition column (the ids stay unique:
one sequence). SQLite is left as it is. See db/partitions.py.

Revision ID: lanes_03_partitions
Revises: lanes_02_reason_codes
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

from alembic import op

from borderwatch.db.partitions import convert_to_monthly, convert_to_plain

revision: str = "lanes_03_partitions"
down_revision: str | Sequence[str] | None = "lanes_02_reason_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "inspections_01_agency_keys"  # drops its table's foreign key


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    convert_to_monthly(bind, "lane_decisions", key="declared_on")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    convert_to_plain(bind, "lane_decisions", key="declared_on")
    op.create_foreign_key(
        "fk_lane_decisions_supersedes_id_lane_decisions",
        "lane_decisions",
        "lane_decisions",
        ["supersedes_id"],
        ["id"],
    )
    op.create_foreign_key(
        "fk_inspection_cases_decision_id_lane_decisions",
        "inspection_cases",
        "lane_decisions",
        ["decision_id"],
        ["id"],
    )
