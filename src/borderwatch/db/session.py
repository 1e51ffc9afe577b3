"""Engine and session factory, built from settings on demand (never at import time)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web workspace read while an ingest writes; NORMAL sync is safe with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# The execution option that marks a transaction as a writer's: see ``write_transaction``.
_WRITES = "borderwatch_writes"


def _sqlite_begin(connection: Connection) -> None:
    # pysqlite's own transaction control stays on for everything else: it emits BEGIN just before the first
    # INSERT/UPDATE/DELETE, so a request that reads and then writes its audit row reads outside any
    # transaction (never blocked, always the latest commit) and its transaction starts with a write, which
    # waits for the lock. Emitting a plain BEGIN here for every transaction (SQLAlchemy's recipe) would
    # instead make that write an upgrade of a read transaction, which SQLite refuses at once: "database is
    # locked" on every request that meets a concurrent writer.
    if connection.get_execution_options().get(_WRITES):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# A web request may hold SQLite's single write lock for as long as it scores (seconds on a busy laptop);
# other writers queue for this long before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_SECONDS = 60.0
SQLITE_ANALYSIS_LIMIT = 1000  # rows sampled per index by ANALYZE


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and patient writers; PostgreSQL pre-ping."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def write_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """A transaction on ``engine`` for work that decides what to write from what it reads (the next version of
    a declaration, whether a record is already quarantined); commits on success, rolls back on error.

    On SQLite it begins IMMEDIATE: it takes the one write lock before its first read, waiting for it as
    long as any writer (the busy timeout), so no other writer can commit between its reads and its writes.
    Readers are not held up: WAL lets them read meanwhile. On PostgreSQL it is ``engine.begin()`` (READ
    COMMITTED: there, two such transactions on the same rows can still both read before either writes, unless
    each first takes ``lock_keys`` on what it reads)."""
    return engine.execution_options(**{_WRITES: True}).begin()


# PostgreSQL keeps advisory locks in its shared lock table, sized for max_locks_per_transaction (64 by
# default) times max_connections locks in all, for every transaction of the server: a lock per LRN of a
# 5000-record batch would take most of it (on the test server 12,000 locks fit, 14,000 did not: a third such
# batch, or any other transaction meanwhile, would fail with "out of shared memory"). A transaction with more
# keys than this locks its scope whole.
ADVISORY_KEYS_MAX = 64


def _key32(text: str) -> int:
    # Stable across processes (unlike hash()); a collision only makes two keys wait for each other.
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big", signed=True)


def _key64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def lock_keys(connection: Connection, keys: Collection[str], *, scope: str) -> None:
    """Wait until no other transaction holds any of ``keys`` (of ``scope``), then hold them until this one
    ends. Call it once, first thing in a ``write_transaction``, with every key of what the transaction reads
    to decide what it writes: two transactions sharing a key then run one after the other, and the second
    reads what the first committed.

    On PostgreSQL these are transaction-level advisory locks: the scope's lock, shared, then a lock per key
    (32-bit hashes of the scope and of the key) in ascending order, so that two transactions cannot each hold
    a lock the other waits for (a second call could take its keys out of order). More than
    ``ADVISORY_KEYS_MAX`` keys take the scope's lock exclusively instead: it waits for, and holds off, every
    other transaction of the scope. This relies on READ COMMITTED (PostgreSQL's default), where each statement
    reads the latest commit; under REPEATABLE READ the transaction's snapshot would predate the wait.
    On SQLite, nothing: ``write_transaction`` already holds the one write lock."""
    if connection.dialect.name != "postgresql" or not keys:
        return
    # The scope's lock is a bigint key, its keys' two int4 keys: PostgreSQL keeps the two key spaces apart.
    whole = _key64(f"borderwatch:{scope}")
    if len(set(keys)) > ADVISORY_KEYS_MAX:
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (whole,))
        return
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock_shared(%s)", (whole,))
    hashed = sorted({_key32(key) for key in keys})
    # unnest returns the array in its order, so the locks are taken in that (ascending) order.
    connection.exec_driver_sql(
        "SELECT count(pg_advisory_xact_lock(%s, key)) FROM unnest(%s::integer[]) AS key",
        (_key32(f"borderwatch:{scope}"), hashed),
    )


def hold_append_lock(connection: Connection, *, scope: str) -> None:
    """Hold, until the transaction of ``connection`` ends, the lock that makes appends to ``scope`` (a table
    whose rows each depend on the row before: the audit log's hash chain) run one at a time, so that each
    reads the tail the previous one committed.

    On PostgreSQL a transaction-level advisory lock of the scope, taken before the tail is read (READ
    COMMITTED: the read then sees the previous append's commit). On SQLite the database's one write lock:
    a transaction that has written holds it already; one that has not (pysqlite begins a transaction only
    at its first write) begins IMMEDIATE, so that no other writer commits between its read and its write."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(%s)", (_key64(f"borderwatch:append:{scope}"),)
        )
        return
    if connection.dialect.name == "sqlite":
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None and not getattr(dbapi, "in_transaction", True):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_migrations(connection: Connection) -> None:
    """Make concurrent ``migrate`` calls on one PostgreSQL schema run one after the other (three commands
    started at once on an empty database would each try to create the same tables): a transaction-level
    advisory lock keyed by the schema, taken before Alembic reads the schema's version. On SQLite the
    migration's ``write_transaction`` (BEGIN IMMEDIATE) already holds the one write lock."""
    if connection.dialect.name != "postgresql":
        return
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_key64(f"borderwatch:migrate:{schema}"),))


def engine_from_settings(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (every migration branch: ``upgrade heads``) and refresh SQLite's
    planner statistics."""
    command.upgrade(alembic_config(engine), "heads")
    refresh_statistics(engine)


def migrate_for(settings: Settings, engine: Engine) -> None:
    """``migrate`` the database of ``engine`` (the application's), as the owner role of
    ``settings.migration_database_url`` when that is set."""
    if not settings.migration_database_url:
        migrate(engine)
        return
    owner = make_engine(settings.migration_database_url)
    try:
        migrate(owner)
    finally:
        owner.dispose()


def refresh_statistics(engine: Engine) -> None:
    """On SQLite, refresh the query planner's table statistics (PostgreSQL's autovacuum does it itself).

    Without them SQLite's planner can pick an index that walks every declaration (15 ms instead of 3 ms for
    100 LRNs on 20 000 declarations). Sampled (``SQLITE_ANALYSIS_LIMIT`` rows per index): 1 to 3 ms on
    100,000 declarations; run at every start of the server or of a command, after a file is ingested (a new
    database holds no statistics until then), and after a submission that doubled the declarations
    (``refresh_statistics_when_grown``)."""
    if engine.dialect.name == "sqlite":
        with write_transaction(engine) as connection:
            connection.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
            connection.exec_driver_sql("ANALYZE")


STATISTICS_GROWTH = 2.0


def refresh_statistics_when_grown(engine: Engine, *, table: str, growth: float = STATISTICS_GROWTH) -> bool:
    """On SQLite, ``refresh_statistics`` once ``table`` has rows and ``growth`` times as many as its
    statistics were taken on (or none were); returns whether it did. For paths that add rows a few at a
    time (API submissions), where a server started on a near-empty database would otherwise plan with the
    statistics of a few rows for good.

    ``table`` must only ever gain rows, with integer ids from 1: its rows are counted by its largest id,
    one index descent, where ``count(*)`` reads a whole index on every check (0.05 ms in all). Doubling
    keeps refreshes rare, about twenty up to a million rows, and statistics within a factor of two."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as connection:
        rows, analysed = connection.exec_driver_sql(
            # sqlite_stat1's stat starts with the rows of the table each index counted (CAST keeps that
            # number); ANALYZE creates the table, which ``migrate`` runs.
            f"SELECT (SELECT coalesce(max(id), 0) FROM {table}), "
            "(SELECT coalesce(max(CAST(stat AS INTEGER)), 0) FROM sqlite_stat1 WHERE tbl = ?)",
            (table,),
        ).one()
    if rows == 0 or rows < growth * analysed:
        return False
    refresh_statistics(engine)
    return True


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
