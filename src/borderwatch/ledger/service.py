"""The stored log: appends in durable batches, tiles, proofs, checkpoints and lookups (SQLite and PostgreSQL).

One log per agency. A batch of entries is one transaction: it locks the log, reads the tree's partial tiles,
writes the entries, the grown tiles and the new size and root, and commits; its callers are answered only
after the commit returns, so an acknowledged entry is durable (PostgreSQL commits synchronously; SQLite's
ledger transactions run with ``synchronous=FULL``). A proof reads the few tiles its nodes lie in: one indexed
read, whatever the size of the log.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, insert, select
from sqlalchemy.exc import DBAPIError

from borderwatch.db.session import write_transaction
from borderwatch.ledger.entries import DocumentEntry, LedgerError, leaf_time
from borderwatch.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Node,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    proof_nodes,
    tree_root,
)
from borderwatch.ledger.models import (
    LedgerCheckpointRow,
    LedgerCosignatureRow,
    LedgerEntryRow,
    LedgerLogRow,
    LedgerTileRow,
)
from borderwatch.ledger.note import Checkpoint, Signature, Signer, sign_note
from borderwatch.ledger.tiles import (
    TILE_WIDTH,
    TileKey,
    edge_tiles,
    extend,
    levels_of,
    node_from_levels,
    node_tile,
    tile_levels,
)

if TYPE_CHECKING:
    import psycopg

_T = TypeVar("_T")
_logs = cast(Table, LedgerLogRow.__table__)
_entries = cast(Table, LedgerEntryRow.__table__)
_tiles = cast(Table, LedgerTileRow.__table__)
_checkpoints = cast(Table, LedgerCheckpointRow.__table__)
_cosignatures = cast(Table, LedgerCosignatureRow.__table__)


@dataclass(frozen=True, slots=True)
class LogInfo:
    id: int
    agency: str
    origin: str
    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class Receipt:
    """An entry's place in the log, returned once the entry is durable."""

    index: int
    leaf_hash: bytes
    logged_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEntry:
    index: int
    doc_type: str
    issuer: str
    number: str
    issued_on: date | None
    submitter: str
    logged_at: datetime
    fingerprint: str
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    id: int
    size: int
    root: bytes
    note: str
    published_at: datetime


def _log_info(row: Any) -> LogInfo:
    return LogInfo(row.id, row.agency, row.origin, row.size, bytes(row.root))


def ensure_log(engine: Engine, *, agency: str, origin: str) -> LogInfo:
    """The agency's log, created empty with ``origin`` if it has none; an existing log keeps its origin."""
    with write_transaction(engine) as connection:
        row = connection.execute(select(_logs).where(_logs.c.agency == agency)).first()
        if row is None:
            connection.execute(insert(_logs).values(agency=agency, origin=origin, size=0, root=EMPTY_ROOT))
            row = connection.execute(select(_logs).where(_logs.c.agency == agency)).one()
        return _log_info(row)


def _mark(connection: Connection) -> str:
    return "?" if connection.dialect.name == "sqlite" else "%s"


def get_log(connection: Connection, *, agency: str, lock: bool = False) -> LogInfo:
    # Plain SQL: building and compiling the SQLAlchemy query cost more than running it (every proof asks).
    lock_clause = " FOR UPDATE" if lock and connection.dialect.name == "postgresql" else ""
    query = f"SELECT id, agency, origin, size, root FROM ledger_logs WHERE agency = {_mark(connection)}"
    row = connection.exec_driver_sql(query + lock_clause, (agency,)).first()
    if row is None:
        raise LedgerError(f"agency {agency!r} has no ledger: run 'borderwatch ledger keygen' first")
    return _log_info(row)


def log_info(engine: Engine, *, agency: str) -> LogInfo:
    with engine.connect() as connection:
        return get_log(connection, agency=agency)


@contextmanager
def durable_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction whose commit is on disk when it returns (SQLite: ``synchronous=FULL`` for it)."""
    if engine.dialect.name != "sqlite":
        with write_transaction(engine) as connection:
            yield connection
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA synchronous=FULL")
        connection.commit()
        try:
            with connection.execution_options(borderwatch_writes=True).begin():
                yield connection
        finally:
            # execution_options changed this connection itself: its next transaction is a plain one again.
            connection.execution_options(borderwatch_writes=False)
            connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            connection.commit()


# PostgreSQL: the engine each engine's one-statement reads (proofs, tiles) go through. The application's
# engine pings the server at every checkout (pool_pre_ping): one round trip more than the proof itself,
# 2.4 ms of a 5.4 ms proof on the loaded machine. This one does not ping (a read over a connection the
# server dropped is retried once) and runs in autocommit, so no BEGIN and no ROLLBACK go to the server
# either; one statement reads one snapshot. Disposed with its engine.
_readers: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def reader_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        return engine
    with _readers_lock:
        reader = _readers.get(engine)
        if reader is None:
            reader = create_engine(
                engine.url, pool_size=2, max_overflow=8, pool_recycle=600, isolation_level="AUTOCOMMIT"
            )
            event.listen(engine, "engine_disposed", _dispose_with(reader))
            _readers[engine] = reader
        return reader


def _dispose_with(reader: Engine) -> Callable[[Engine], None]:
    return lambda _: reader.dispose()


def read_once(engine: Engine, read: Callable[[Connection], _T]) -> _T:
    """``read`` (one statement) on a connection of :func:`reader_engine`; retried once on a connection the
    server had dropped."""
    for attempt in (1, 2):
        try:
            with reader_engine(engine).connect() as connection:
                return read(connection)
        except DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def read_tiles(connection: Connection, log_id: int, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
    if not keys:
        return {}
    wanted = sorted(set(keys))
    mark = _mark(connection)
    # Plain SQL (building the SQLAlchemy expression cost more than the read), each term naming the log: with
    # ``log_id = ? AND (... OR ...)`` or a row-value IN, SQLite searched the primary key on log_id alone and
    # read every tile of the log (50 ms a proof at 10^7 entries); this way each term is one key look-up.
    term = f"(log_id = {mark} AND level = {mark} AND idx = {mark})"
    rows = connection.exec_driver_sql(
        f"SELECT level, idx, hashes FROM ledger_tiles WHERE {' OR '.join([term] * len(wanted))}",
        tuple(value for level, idx in wanted for value in (log_id, level, idx)),
    )
    return {(level, idx): bytes(hashes) for level, idx, hashes in rows}


def read_nodes(connection: Connection, log_id: int, nodes: set[Node]) -> dict[Node, bytes]:
    """The hashes of complete subtrees, from the tiles they lie in (one read)."""
    return nodes_from_tiles(nodes, read_tiles(connection, log_id, sorted({node_tile(n)[0] for n in nodes})))


def append(
    engine: Engine,
    *,
    agency: str,
    entries: Sequence[DocumentEntry],
    now: datetime | None = None,
) -> list[Receipt]:
    """Append ``entries`` to the agency's log as one durable batch; their receipts, in order."""
    if not entries:
        return []
    logged_at = now or datetime.now(UTC)
    stamp = leaf_time(logged_at)
    leaves = [entry.leaf_stamped(stamp) for entry in entries]
    hashes = [leaf_hash(data) for data in leaves]
    with durable_transaction(engine) as connection:
        hint = (str(engine.url), agency)
        log, edges = _lock_with_edges(connection, agency, _size_hints.get(hint))
        changed = extend(log.size, hashes, edges)
        _insert_entries(connection, log.id, log.size, entries, leaves, logged_at)
        size = log.size + len(entries)
        # Every node of the new head lies in a partial tile of the new tree: grown by this batch, or one of
        # the old tree's partial tiles that it left as it was; none is read again.
        root = head_from_tiles(size, {**edges, **changed})
        _store_batch(connection, log.id, changed, size, root)
    _size_hints[hint] = size
    return [Receipt(log.size + i, h, logged_at) for i, h in enumerate(hashes)]


# The size of each log after this process's last append to it: the next append reads the log's lock and the
# partial tiles of that size in one query. Only a hint: a log grown by another process since costs a
# second query, nothing else.
_size_hints: dict[tuple[str, str], int] = {}


def _lock_with_edges(
    connection: Connection, agency: str, size_hint: int | None
) -> tuple[LogInfo, dict[TileKey, bytes]]:
    """The agency's log, locked until the transaction ends, and its partial tiles."""
    if size_hint is None:
        log = get_log(connection, agency=agency, lock=True)
        return log, read_tiles(connection, log.id, edge_tiles(log.size))
    log, tiles = log_with_tiles(connection, agency, edge_tiles(size_hint), lock=True)
    if log.size != size_hint:  # another process appended: the partial tiles of the size found
        return log, read_tiles(connection, log.id, edge_tiles(log.size))
    return log, tiles


def log_with_tiles(
    connection: Connection, agency: str, keys: Sequence[TileKey], *, lock: bool = False
) -> tuple[LogInfo, dict[TileKey, bytes]]:
    """The agency's log and those of the tiles ``keys`` it holds, in one query (one round trip)."""
    wanted = sorted(set(keys))
    if connection.dialect.name == "postgresql":
        # The keys as arrays joined laterally: an index look-up per key, and one statement text whatever
        # their number (psycopg prepares it). An OR of the keys in the join's condition made PostgreSQL
        # scan every tile of the log (45 ms at 10^7 entries).
        rows = connection.exec_driver_sql(
            "SELECT l.id, l.agency, l.origin, l.size, l.root, t.level, t.idx, t.hashes FROM ledger_logs l "
            "LEFT JOIN LATERAL (SELECT t.level, t.idx, t.hashes "
            "FROM unnest(%s::int[], %s::bigint[]) AS k(level, idx) JOIN ledger_tiles t "
            "ON t.log_id = l.id AND t.level = k.level AND t.idx = k.idx) t ON true "
            f"WHERE l.agency = %s{' FOR UPDATE OF l' if lock else ''}",
            ([level for level, _ in wanted], [idx for _, idx in wanted], agency),
        ).all()
    else:
        # log_id in each term: a key look-up each on SQLite (see read_tiles)
        term = "(t.log_id = l.id AND t.level = ? AND t.idx = ?)"
        rows = connection.exec_driver_sql(
            "SELECT l.id, l.agency, l.origin, l.size, l.root, t.level, t.idx, t.hashes FROM ledger_logs l "
            f"LEFT JOIN ledger_tiles t ON {' OR '.join([term] * len(wanted)) or '1 = 0'} WHERE l.agency = ?",
            (*(value for key in wanted for value in key), agency),
        ).all()
    if not rows:
        raise LedgerError(f"agency {agency!r} has no ledger: run 'borderwatch ledger keygen' first")
    first = rows[0]
    log = LogInfo(first[0], first[1], first[2], first[3], bytes(first[4]))
    return log, {(r[5], r[6]): bytes(r[7]) for r in rows if r[5] is not None}


def nodes_from_tiles(nodes: Iterable[Node], tiles: Mapping[TileKey, bytes]) -> dict[Node, bytes]:
    """The hashes of complete subtrees from the tiles they lie in (each tile folded once; upper and partial
    tiles from the cache of folded tiles)."""
    levels: dict[TileKey, tuple[tuple[bytes, ...], ...]] = {}
    out: dict[Node, bytes] = {}
    for node in nodes:
        key = node_tile(node)[0]
        found = levels.get(key)
        if found is None:
            hashes = tiles.get(key)
            if hashes is None:
                raise LedgerError(f"the log has no tile {key} (a node of a tree larger than the log?)")
            found = levels[key] = levels_of(key, hashes)
        out[node] = node_from_levels(node, found)
    return out


def _proof_tiles(
    engine: Engine, agency: str, size: int, nodes: Callable[[], set[Node]]
) -> tuple[LogInfo, dict[Node, bytes]]:
    """The log and the nodes a proof in its tree of ``size`` leaves needs: one query. ``nodes`` may raise
    ProofError (a bad index or size): it is raised after the log is known to exist and to hold ``size``."""
    try:
        needed: set[Node] | None = nodes()
    except ProofError:
        needed = None
    keys = [node_tile(node)[0] for node in needed or ()]
    log, tiles = read_once(engine, lambda connection: log_with_tiles(connection, agency, keys))
    _check_size(log, size)
    if needed is None:
        nodes()  # raises the ProofError again
        raise AssertionError("unreachable")
    return log, nodes_from_tiles(needed, tiles)


def head_from_tiles(size: int, tiles: Mapping[TileKey, bytes]) -> bytes:
    """The head of the tree of ``size`` leaves from tiles holding its nodes (each tile folded once)."""
    folded: dict[TileKey, tuple[tuple[bytes, ...], ...]] = {}

    def read(node: Node) -> bytes:
        key = node_tile(node)[0]
        if key not in folded:
            if key not in tiles:
                raise LedgerError(f"tile {key} of the head of the tree of {size} is missing")
            folded[key] = tile_levels(tiles[key])
        return node_from_levels(node, folded[key])

    return tree_root(size, read)


def _store_batch(
    connection: Connection, log_id: int, tiles: dict[TileKey, bytes], size: int, root: bytes
) -> None:
    """The grown and new tiles (an upsert: the database lets a tile only grow) and the log's new size and
    root; on PostgreSQL one statement, one round trip."""
    rows = [(log_id, level, idx, len(h) // HASH_SIZE, h) for (level, idx), h in tiles.items()]
    upsert = "ON CONFLICT (log_id, level, idx) DO UPDATE SET width = excluded.width, hashes = excluded.hashes"
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(
            f"INSERT INTO ledger_tiles (log_id, level, idx, width, hashes) VALUES (?, ?, ?, ?, ?) {upsert}",
            rows,
        )
        connection.exec_driver_sql(
            "UPDATE ledger_logs SET size = ?, root = ? WHERE id = ?", (size, root, log_id)
        )
        return
    columns = list(zip(*rows, strict=True))
    connection.exec_driver_sql(
        "WITH grown AS (INSERT INTO ledger_tiles (log_id, level, idx, width, hashes) "
        "SELECT %s, * FROM unnest(%s::int[], %s::bigint[], %s::int[], %s::bytea[]) "
        f"{upsert}) UPDATE ledger_logs SET size = %s, root = %s WHERE id = %s",
        (log_id, list(columns[1]), list(columns[2]), list(columns[3]), list(columns[4]), size, root, log_id),
    )


_ENTRY_COLUMNS = "log_id, idx, doc_type, issuer, number, issued_on, submitter, logged_at, fingerprint, data"


# COPY's text format: these four characters in a value are written escaped (a value holds no NUL)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"


def _insert_entries(
    connection: Connection,
    log_id: int,
    first: int,
    entries: Sequence[DocumentEntry],
    leaves: Sequence[bytes],
    logged_at: datetime,
) -> None:
    """The batch's rows: on PostgreSQL one COPY, on SQLite one driver-level executemany (SQLAlchemy's
    per-row processing cost twice the append itself); dates written as SQLAlchemy writes them on SQLite."""
    if connection.dialect.name == "postgresql":
        # COPY in its text format, each row one formatted line and the batch sent as one block: psycopg's
        # write_row adapted the ten values of a row one by one (16 us a row, the client's largest cost).
        esc, when = _COPY_ESCAPES, logged_at.astimezone(UTC).isoformat()
        block = "".join(
            [
                f"{log_id}\t{first + i}\t{entry.doc_type}\t{entry.issuer.translate(esc)}\t"
                f"{entry.number.translate(esc)}\t"
                f"{entry.issued_on.isoformat() if entry.issued_on else _COPY_NULL}\t"
                f"{entry.submitter.translate(esc)}\t{when}\t{entry.fingerprint}\t\\\\x{data.hex()}\n"
                for i, (entry, data) in enumerate(zip(entries, leaves, strict=True))
            ]
        )
        raw = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY ledger_entries ({_ENTRY_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.write(block)
        return
    when = logged_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = [
        (
            log_id,
            first + i,
            str(entry.doc_type),
            entry.issuer,
            entry.number,
            entry.issued_on.isoformat() if entry.issued_on else None,
            entry.submitter,
            when,
            entry.fingerprint,
            data,
        )
        for i, (entry, data) in enumerate(zip(entries, leaves, strict=True))
    ]
    connection.exec_driver_sql(
        f"INSERT INTO ledger_entries ({_ENTRY_COLUMNS}) VALUES ({', '.join(['?'] * 10)})", rows
    )


def _check_size(log: LogInfo, size: int) -> None:
    if size > log.size:
        raise LedgerError(f"the log {log.origin!r} has {log.size} entries, not {size}")


def inclusion(engine: Engine, *, agency: str, index: int, size: int) -> list[bytes]:
    """The inclusion proof of entry ``index`` in the log's tree of ``size`` entries: one query for the log
    and the three or four tiles its nodes lie in."""
    _, nodes = _proof_tiles(engine, agency, size, lambda: proof_nodes(inclusion=[(index, size)]))
    return inclusion_proof(index, size, nodes.__getitem__)


def consistency(engine: Engine, *, agency: str, size1: int, size2: int) -> list[bytes]:
    _, nodes = _proof_tiles(engine, agency, size2, lambda: proof_nodes(consistency=[(size1, size2)]))
    return consistency_proof(size1, size2, nodes.__getitem__)


def root_at(engine: Engine, *, agency: str, size: int) -> bytes:
    _, nodes = _proof_tiles(engine, agency, size, lambda: proof_nodes(heads=[size]))
    return tree_root(size, nodes.__getitem__)


def publish_checkpoint(engine: Engine, *, agency: str, signer: Signer) -> StoredCheckpoint:
    """Sign the log's current size and root as a C2SP checkpoint and keep it (every one is kept)."""
    with durable_transaction(engine) as connection:
        log = get_log(connection, agency=agency, lock=True)
        note = sign_note(Checkpoint(log.origin, log.size, log.root).body(), [signer])
        published_at = datetime.now(UTC)
        result = connection.execute(
            insert(_checkpoints).values(
                log_id=log.id, size=log.size, root=log.root, note=note, published_at=published_at
            )
        )
        assert result.inserted_primary_key is not None
        checkpoint_id = int(result.inserted_primary_key[0])
    return StoredCheckpoint(checkpoint_id, log.size, log.root, note, published_at)


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(row.id, row.size, bytes(row.root), row.note, row.published_at)


def latest_checkpoint(engine: Engine, *, agency: str) -> StoredCheckpoint | None:
    with engine.connect() as connection:
        log = get_log(connection, agency=agency)
        row = connection.execute(
            select(_checkpoints)
            .where(_checkpoints.c.log_id == log.id)
            .order_by(_checkpoints.c.size.desc(), _checkpoints.c.id.desc())
            .limit(1)
        ).first()
    return None if row is None else _checkpoint(row)


def all_checkpoints(engine: Engine, *, agency: str) -> list[StoredCheckpoint]:
    with engine.connect() as connection:
        log = get_log(connection, agency=agency)
        rows = connection.execute(
            select(_checkpoints).where(_checkpoints.c.log_id == log.id).order_by(_checkpoints.c.id)
        )
        return [_checkpoint(row) for row in rows]


def cosigned_note(engine: Engine, *, checkpoint: StoredCheckpoint) -> str:
    """The checkpoint's note with the cosignatures the log received for it."""
    with engine.connect() as connection:
        lines = connection.execute(
            select(_cosignatures.c.line)
            .where(_cosignatures.c.checkpoint_id == checkpoint.id)
            .order_by(_cosignatures.c.id)
        ).scalars()
        return checkpoint.note + "".join(line for line in lines if line not in checkpoint.note)


def add_cosignature(engine: Engine, *, checkpoint_id: int, witness: str, signature: Signature) -> None:
    with write_transaction(engine) as connection:
        connection.execute(
            insert(_cosignatures).values(checkpoint_id=checkpoint_id, witness=witness, line=signature.line())
        )


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(
        row.idx,
        row.doc_type,
        row.issuer,
        row.number,
        row.issued_on,
        row.submitter,
        row.logged_at,
        row.fingerprint,
        bytes(row.data),
    )


def find_by_fingerprint(engine: Engine, *, agency: str, fingerprint: str) -> list[StoredEntry]:
    with engine.connect() as connection:
        log = get_log(connection, agency=agency)
        rows = connection.execute(
            select(_entries)
            .where(_entries.c.log_id == log.id, _entries.c.fingerprint == fingerprint)
            .order_by(_entries.c.idx)
        )
        return [_stored(row) for row in rows]


def find_document(engine: Engine, *, agency: str, issuer: str, number: str) -> list[StoredEntry]:
    with engine.connect() as connection:
        log = get_log(connection, agency=agency)
        rows = connection.execute(
            select(_entries)
            .where(_entries.c.log_id == log.id, _entries.c.issuer == issuer, _entries.c.number == number)
            .order_by(_entries.c.idx)
        )
        return [_stored(row) for row in rows]


def entry_at(engine: Engine, *, agency: str, index: int) -> StoredEntry:
    with engine.connect() as connection:
        log = get_log(connection, agency=agency)
        row = connection.execute(
            select(_entries).where(_entries.c.log_id == log.id, _entries.c.idx == index)
        ).first()
    if row is None:
        raise LedgerError(f"the log {log.origin!r} has no entry {index}")
    return _stored(row)


def entries_range(engine: Engine, *, agency: str, start: int, stop: int) -> list[StoredEntry]:
    """The entries ``start`` to ``stop - 1`` in order (one indexed range read)."""
    with engine.connect() as connection:
        log = get_log(connection, agency=agency)
        rows = connection.execute(
            select(_entries)
            .where(_entries.c.log_id == log.id, _entries.c.idx >= start, _entries.c.idx < stop)
            .order_by(_entries.c.idx)
        )
        return [_stored(row) for row in rows]


def tile(engine: Engine, *, agency: str, level: int, index: int, width: int) -> bytes:
    """The hashes of tile ``(level, index)`` at ``width`` (a prefix of the stored tile, which only grows)."""
    stored = read_once(engine, lambda c: log_with_tiles(c, agency, [(level, index)]))[1].get((level, index))
    if stored is None or len(stored) < width * HASH_SIZE:
        raise LedgerError(f"the log has no tile {level}/{index} of width {width}")
    return stored[: width * HASH_SIZE]


def entry_bundle(engine: Engine, *, agency: str, index: int, width: int) -> list[bytes]:
    """The entries ``256 * index`` to ``256 * index + width - 1``, as their leaves' bytes."""
    with engine.connect() as connection:
        log = get_log(connection, agency=agency)
        start = index * TILE_WIDTH
        rows = connection.execute(
            select(_entries.c.data)
            .where(_entries.c.log_id == log.id, _entries.c.idx >= start, _entries.c.idx < start + width)
            .order_by(_entries.c.idx)
        ).scalars()
        data = [bytes(d) for d in rows]
    if len(data) != width:
        raise LedgerError(f"the log has no entry bundle {index} of width {width}")
    return data


def leaf_count(engine: Engine, *, agency: str) -> int:
    with engine.connect() as connection:
        log = get_log(connection, agency=agency)
        return int(
            connection.execute(
                select(func.count()).select_from(_entries).where(_entries.c.log_id == log.id)
            ).scalar_one()
        )
