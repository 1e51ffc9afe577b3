"""intel: no single-column stix_id index on objects

Every query by STIX id names its collection, and the unique (collection_id, stix_id, modified) index serves
it; the separate index was a second index keyed by random UUIDs to keep up on every ingest (bench/intel.py,
decision intel-0001).

Revision ID: intel_03_no_stix_id_index
Revises: intel_02_objects_index
Create Date: 2026-12-03 18:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intel_03_no_stix_id_index"
down_revision: str | Sequence[str] | None = "intel_02_objects_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intel_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intel_objects_stix_id"))


def downgrade() -> None:
    with op.batch_alter_table("intel_objects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intel_objects_stix_id"), ["stix_id"], unique=False)
