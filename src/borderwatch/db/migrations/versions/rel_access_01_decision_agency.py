"""screening: decisions belong to an agency

Revision ID: rel_access_01
Revises: 0003_screening
Create Date: 2026-12-03 10:40:00

An analyst's "not a match" suppressed the hit for every agency. Existing decisions are kept under the agency
of the user who made them (``analyst`` is a username for decisions made in the workspace) or, for names no
user has (the CLI's free ``--analyst``), under 'default'.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "rel_access_01"
down_revision: str | Sequence[str] | None = "0003_screening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0005_access"


def upgrade() -> None:
    op.add_column(
        "screening_decisions",
        sa.Column("agency", sa.String(length=64), server_default="default", nullable=False),
    )
    op.execute(
        "UPDATE screening_decisions SET agency = "
        "(SELECT users.agency FROM users WHERE users.username = screening_decisions.analyst) "
        "WHERE EXISTS (SELECT 1 FROM users WHERE users.username = screening_decisions.analyst)"
    )
    op.create_index(
        "ix_screening_decisions_agency_key_entity",
        "screening_decisions",
        ["agency", "query_key", "entity_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_screening_decisions_agency_key_entity", table_name="screening_decisions")
    with op.batch_alter_table("screening_decisions", schema=None) as batch_op:
        batch_op.drop_column("agency")
