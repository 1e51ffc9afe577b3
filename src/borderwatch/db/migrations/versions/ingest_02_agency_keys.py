"""ingest: declarations and outcomes keyed by (agency, LRN)

An LRN is unique within an agency, not across agencies: the unique index on (lrn, version) refused a second
agency's declaration under an LRN the first one used. Indexes only: every stored row is kept as it is (an
existing database has at most one agency per LRN, which the new key allows).

Revision ID: ingest_02_agency_keys
Revises: ingest_01_manifest_lines
Create Date: 2026-12-03 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ingest_02_agency_keys"
down_revision: str | Sequence[str] | None = "ingest_01_manifest_lines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.create_index("ix_declarations_agency_lrn_version", ["agency", "lrn", "version"], unique=True)
        batch_op.drop_index("ix_declarations_lrn_version")
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outcomes_agency_lrn_recorded", ["agency", "lrn", "recorded_on"], unique=False
        )
        batch_op.drop_index("ix_outcomes_lrn_recorded")


def downgrade() -> None:
    # Fails (unique index) when two agencies already hold declarations under the same LRN and version.
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index("ix_outcomes_lrn_recorded", ["lrn", "recorded_on"], unique=False)
        batch_op.drop_index("ix_outcomes_agency_lrn_recorded")
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.create_index("ix_declarations_lrn_version", ["lrn", "version"], unique=True)
        batch_op.drop_index("ix_declarations_agency_lrn_version")
