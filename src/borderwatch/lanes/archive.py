"""Archive of old months of lane decisions on PostgreSQL (``borderwatch db archive``): their partitions are
detached (``db.partitions``), queryable as ``lane_decisions_pYYYYMM`` and attachable again. Cases keep their
``decision_id``: a case of an archived month shows again once its month is restored."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from borderwatch.db import partitions

__all__ = ["archive_decisions", "decision_partitions", "restore_decisions"]


def decision_partitions(connection: Connection) -> list[partitions.Partition]:
    return partitions.partitions(connection, "lane_decisions")


def archive_decisions(connection: Connection, *, before: date) -> list[partitions.Partition]:
    if not partitions.is_partitioned(connection, "lane_decisions"):
        raise partitions.NotPartitionedError(
            "lane decisions are not partitioned: archiving needs PostgreSQL (SQLite keeps one table)"
        )
    return partitions.archive_before(connection, "lane_decisions", before)


def restore_decisions(connection: Connection, *, month: date) -> partitions.Partition:
    return partitions.restore_month(connection, "lane_decisions", month)
