"""Monthly range partitions of PostgreSQL tables (declarative partitioning), and their archive.

On PostgreSQL the tables that grow with the traffic (``declarations``, ``lane_decisions``) are partitioned by
the month of ``declared_on`` (migrations ``ingest_03`` and ``lanes_03``; SQLite keeps plain tables): one
partition ``TABLE_pYYYYMM`` per month, and ``TABLE_default`` for the dates that have no partition yet. Every
index is declared on the parent, so PostgreSQL keeps one per partition and the worklist's date range and the
look-ups read only the months they name. Unique keys must hold the partition key (PostgreSQL's rule): the
primary key is ``(id, declared_on)`` and ids stay unique through the table's one sequence.

``ensure_months`` creates the partitions of the coming months (``borderwatch db partitions --ahead N``, run
monthly) and moves a month's rows out of the default partition into its own. ``archive_before`` detaches the
partitions of the months before a date: the rows leave the live table (worklist, look-ups, history) but stay
in the detached table of the same name, queryable for training and audit, and ``restore_month`` attaches it
again. No data is copied either way: detach and attach only change the catalogue.

``convert_to_monthly`` is what the migrations call; change it only compatibly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from borderwatch.core.errors import BorderwatchError

__all__ = [
    "NotPartitionedError",
    "Partition",
    "PartitionError",
    "archive_before",
    "convert_to_monthly",
    "convert_to_plain",
    "ensure_months",
    "is_partitioned",
    "month_of",
    "next_month",
    "partitions",
    "restore_month",
]

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class PartitionError(BorderwatchError):
    """A partition that cannot be archived, restored or created as asked."""


class NotPartitionedError(PartitionError):
    """The table is not partitioned (SQLite, or a PostgreSQL schema before the migration)."""


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    month: date | None  # the first day of its month; None for the default partition
    attached: bool
    rows: int  # PostgreSQL's estimate (pg_class.reltuples), -1 when never analysed


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


def _bounds(month: date) -> str:
    # DDL takes no bind parameters: dates as literals (isoformat: digits and dashes only)
    return f"FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"


def _name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _checked(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain table name: {name!r}")
    return name


def is_partitioned(connection: Connection, table: str) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    found = connection.exec_driver_sql(
        "SELECT 1 FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid "
        "WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace",
        (table,),
    ).first()
    return found is not None


def partitions(connection: Connection, table: str) -> list[Partition]:
    """The partitions of ``table``, attached or detached (archived), oldest month first, default last."""
    _checked(table)
    rows = connection.exec_driver_sql(
        "SELECT c.relname, c.relispartition, c.reltuples::bigint FROM pg_class c "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
        "AND (c.relname ~ %s OR c.relname = %s)",
        (f"^{table}_p[0-9]{{6}}$", f"{table}_default"),
    ).all()
    found = []
    for name, attached, estimate in rows:
        month = None if name.endswith("_default") else date(int(name[-6:-2]), int(name[-2:]), 1)
        found.append(Partition(table, name, month, bool(attached), int(estimate)))
    return sorted(found, key=lambda p: (p.month is None, p.month or date.min))


def _move_out_of_default(connection: Connection, table: str, key: str, month: date, name: str) -> int:
    default = f"{table}_default"
    exists = connection.exec_driver_sql(
        "SELECT 1 FROM pg_class WHERE relname = %s AND relnamespace = current_schema()::regnamespace",
        (default,),
    ).first()
    if exists is None:
        return 0
    moved = connection.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {default} WHERE {key} >= %s AND {key} < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        (month, next_month(month)),
    )
    return moved.rowcount


def ensure_months(
    connection: Connection, table: str, months: Iterable[date], *, key: str = "declared_on"
) -> list[str]:
    """Attach a partition of ``table`` for each of ``months`` that has none (archived months are left
    alone), moving that month's rows out of the default partition; returns the partitions created.

    Takes an ACCESS EXCLUSIVE lock on the default partition for the move: run it off-peak, monthly."""
    _checked(table), _checked(key)
    known = {p.month for p in partitions(connection, table) if p.month is not None}
    created = []
    for month in sorted({month_of(m) for m in months} - known):
        name = _name(table, month)
        connection.exec_driver_sql(
            f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        _move_out_of_default(connection, table, key, month, name)
        # Attaching builds the partition's copy of each of the parent's indexes.
        connection.exec_driver_sql(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {_bounds(month)}")
        created.append(name)
    return created


def _months_in_default(connection: Connection, table: str, key: str, before: date) -> list[date]:
    rows = connection.exec_driver_sql(
        f"SELECT DISTINCT date_trunc('month', {key})::date FROM {table}_default WHERE {key} < %s", (before,)
    ).all()
    return [row[0] for row in rows]


def archive_before(
    connection: Connection, table: str, before: date, *, key: str = "declared_on"
) -> list[Partition]:
    """Detach every month of ``table`` that ends on or before ``before`` (a month's first day); rows of
    those months still in the default partition get their own partition first. Returns what was detached."""
    if month_of(before) != before:
        raise ValueError(f"archive up to the first day of a month, not {before}")
    _checked(table), _checked(key)
    ensure_months(connection, table, _months_in_default(connection, table, key, before), key=key)
    detached = []
    for partition in partitions(connection, table):
        if partition.attached and partition.month is not None and next_month(partition.month) <= before:
            connection.exec_driver_sql(f"ALTER TABLE {table} DETACH PARTITION {partition.name}")
            detached.append(Partition(table, partition.name, partition.month, False, partition.rows))
    return detached


def restore_month(connection: Connection, table: str, month: date, *, key: str = "declared_on") -> Partition:
    """Attach the archived partition of ``month`` again (rows of that month that arrived in the default
    partition meanwhile are moved into it first)."""
    _checked(table), _checked(key)
    month = month_of(month)
    name = _name(table, month)
    found = [p for p in partitions(connection, table) if p.name == name]
    if not found or found[0].attached:
        raise PartitionError(f"{table} has no archived partition for {month:%Y-%m}")
    _move_out_of_default(connection, table, key, month, name)
    connection.exec_driver_sql(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {_bounds(month)}")
    return Partition(table, name, month, True, found[0].rows)


def convert_to_monthly(connection: Connection, table: str, *, key: str = "declared_on") -> list[str]:
    """Make the plain PostgreSQL table ``table`` a partitioned one by month of ``key``, keeping its rows,
    columns, defaults, id sequence and index names (unique indexes gain ``key``; the primary key becomes
    ``(id, key)``). Foreign keys that referenced it are dropped (PostgreSQL needs a unique key on the
    referenced columns, which ``id`` alone no longer is); their names are returned. For migrations."""
    _checked(table), _checked(key)
    old = f"{table}_unpartitioned"
    connection.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {old}")
    indexes = connection.exec_driver_sql(
        "SELECT i.relname, ix.indisunique, ix.indisprimary, array_agg(a.attname::text ORDER BY k.ord) "
        "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
        "CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum "
        "WHERE ix.indrelid = %s::regclass GROUP BY 1, 2, 3 ORDER BY 1",
        (old,),
    ).all()
    foreign = connection.exec_driver_sql(
        "SELECT conname, conrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid = %s::regclass",
        (old,),
    ).all()
    for name, referencing in foreign:
        connection.exec_driver_sql(f'ALTER TABLE {referencing} DROP CONSTRAINT "{name}"')
    sequence = connection.exec_driver_sql("SELECT pg_get_serial_sequence(%s, 'id')", (old,)).scalar_one()
    connection.exec_driver_sql(
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        f"PARTITION BY RANGE ({key})"
    )
    connection.exec_driver_sql(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    months = [
        row[0]
        for row in connection.exec_driver_sql(f"SELECT DISTINCT date_trunc('month', {key})::date FROM {old}")
    ]
    for month in sorted(months):
        connection.exec_driver_sql(
            f"CREATE TABLE {_name(table, month)} PARTITION OF {table} FOR VALUES {_bounds(month)}"
        )
    connection.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM {old}")
    if sequence is not None:
        connection.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    connection.exec_driver_sql(f"DROP TABLE {old}")
    for name, unique, primary, columns in indexes:
        wanted = list(columns) + ([key] if (unique or primary) and key not in columns else [])
        listed = ", ".join(_checked(c) for c in wanted)
        if primary:
            connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" PRIMARY KEY ({listed})')
        else:
            kind = "UNIQUE INDEX" if unique else "INDEX"
            connection.exec_driver_sql(f'CREATE {kind} "{name}" ON {table} ({listed})')
    return [name for name, _ in foreign]


def convert_to_plain(connection: Connection, table: str, *, key: str = "declared_on") -> None:
    """Undo ``convert_to_monthly``: ``table`` a plain table again with every row (archived months are not
    attached first: attach them with ``restore_month`` before), its primary key ``id`` and its unique indexes
    without ``key``. The foreign keys it dropped are the migration's to create again. For migrations."""
    _checked(table), _checked(key)
    old = f"{table}_partitioned"
    connection.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {old}")
    indexes = connection.exec_driver_sql(
        "SELECT i.relname, ix.indisunique, ix.indisprimary, array_agg(a.attname::text ORDER BY k.ord) "
        "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
        "CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum "
        "WHERE ix.indrelid = %s::regclass GROUP BY 1, 2, 3 ORDER BY 1",
        (old,),
    ).all()
    sequence = connection.exec_driver_sql("SELECT pg_get_serial_sequence(%s, 'id')", (old,)).scalar_one()
    connection.exec_driver_sql(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    connection.exec_driver_sql(f"INSERT INTO {table} SELECT * FROM {old}")
    if sequence is not None:
        connection.exec_driver_sql(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    connection.exec_driver_sql(f"DROP TABLE {old} CASCADE")  # its partitions with it
    for name, unique, primary, columns in indexes:
        wanted = [c for c in columns if not ((unique or primary) and c == key)]
        listed = ", ".join(_checked(c) for c in wanted)
        if primary:
            connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" PRIMARY KEY ({listed})')
        else:
            kind = "UNIQUE INDEX" if unique else "INDEX"
            connection.exec_driver_sql(f'CREATE {kind} "{name}" ON {table} ({listed})')
