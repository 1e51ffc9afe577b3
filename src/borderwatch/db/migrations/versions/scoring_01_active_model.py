"""scoring: one active model per agency (promote, roll back)

Revision ID: scoring_01_active_model
Revises: 0006_scores_explained
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scoring_01_active_model"
down_revision: str | Sequence[str] | None = "0006_scores_explained"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("risk_models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("activated_by", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("risk_models", schema=None) as batch_op:
        batch_op.drop_column("activated_by")
        batch_op.drop_column("activated_at")
        batch_op.drop_column("active")
