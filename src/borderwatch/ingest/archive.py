"""Archive of old months of declarations on PostgreSQL (``borderwatch db archive``): their partitions are
detached (``db.partitions``) and their goods items moved to a table per month beside them, so the live tables
hold only the months still worked on, and an archived month stays queryable (``declarations_pYYYYMM``,
``goods_items_pYYYYMM``) and can be attached again."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from borderwatch.db import partitions

__all__ = ["archive_declarations", "declaration_partitions", "restore_declarations"]


def declaration_partitions(connection: Connection) -> list[partitions.Partition]:
    return partitions.partitions(connection, "declarations")


def _require_partitioned(connection: Connection) -> None:
    if not partitions.is_partitioned(connection, "declarations"):
        raise partitions.NotPartitionedError(
            "declarations are not partitioned: archiving needs PostgreSQL (SQLite keeps one table)"
        )


def archive_declarations(connection: Connection, *, before: date) -> list[partitions.Partition]:
    """Detach the declarations of every month before ``before`` (a month's first day), with their goods
    items; returns the partitions detached. Run it in one transaction: all of it or nothing."""
    _require_partitioned(connection)
    detached = partitions.archive_before(connection, "declarations", before)
    for partition in detached:
        items = partition.name.replace("declarations_", "goods_items_", 1)
        connection.exec_driver_sql(
            f"CREATE TABLE {items} AS SELECT g.* FROM goods_items g "
            f"WHERE g.declaration_id IN (SELECT id FROM {partition.name})"
        )
        connection.exec_driver_sql(
            f"DELETE FROM goods_items WHERE declaration_id IN (SELECT id FROM {partition.name})"
        )
    return detached


def restore_declarations(connection: Connection, *, month: date) -> partitions.Partition:
    """Attach the archived declarations of ``month`` again, with their goods items."""
    _require_partitioned(connection)
    restored = partitions.restore_month(connection, "declarations", month)
    items = restored.name.replace("declarations_", "goods_items_", 1)
    connection.exec_driver_sql(f"INSERT INTO goods_items SELECT * FROM {items}")
    connection.exec_driver_sql(f"DROP TABLE {items}")
    return restored
