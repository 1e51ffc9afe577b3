"""screening: the hits of arriving declarations' parties, with the analyst's verdict

Revision ID: screening_01_hits
Revises: rel_access_01
Create Date: 2026-12-03 14:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "screening_01_hits"
down_revision: str | Sequence[str] | None = "rel_access_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screening_hits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("lrn", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=True),
        sa.Column("party_name", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=False),
        sa.Column("list_name", sa.String(length=128), nullable=False),
        sa.Column("matched_name", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "screened_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_screening_hits_agency_status", "screening_hits", ["agency", "status"])
    op.create_index("ix_screening_hits_agency_lrn", "screening_hits", ["agency", "lrn"])


def downgrade() -> None:
    op.drop_index("ix_screening_hits_agency_lrn", table_name="screening_hits")
    op.drop_index("ix_screening_hits_agency_status", table_name="screening_hits")
    op.drop_table("screening_hits")
