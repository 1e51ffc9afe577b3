"""ingest: on PostgreSQL, declarations partitioned by month of declared_on (issue #21)

Declarative range partitioning, a partition per month and a default one; the primary key becomes
(id, declared_on) and the unique (agency, lrn, version) index gains declared_on (PostgreSQL's rule for partitioned
unique keys; ingest still takes a lock per LRN before it numbers versions). goods_items' foreign key to
declarations.id is dropped: PostgreSQL cannot reference a partitioned table by a key without its partition
column. SQLite is left as it is. See db/partitions.py and docs/decisions/ingest-0003-monthly-partitions.md.

Revision ID: ingest_03_partitions
Revises: ingest_02_agency_keys
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

from alembic import op

from borderwatch.db.partitions import convert_to_monthly, convert_to_plain

revision: str = "ingest_03_partitions"
down_revision: str | Sequence[str] | None = "ingest_02_agency_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    convert_to_monthly(bind, "declarations", key="declared_on")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    convert_to_plain(bind, "declarations", key="declared_on")
    op.create_foreign_key(
        "fk_goods_items_declaration_id_declarations",
        "goods_items",
        "declarations",
        ["declaration_id"],
        ["id"],
        ondelete="CASCADE",
    )
