"""Ingest: read a file batch by batch, validate, and store in bulk — idempotently, with versioned amendments.

Each batch is one transaction: bad records go to ``quarantine`` (once: keyed by a hash of file name, line and
raw text), declarations whose content hash is already stored for their LRN are duplicates, a changed
declaration with a known LRN becomes the next version (the previous one stops being current), and outcomes
already stored are not stored again. Two ingests that share records do so one after the other (SQLite's write
lock, PostgreSQL's advisory locks on the batch's LRNs: ``lock_keys``), so the later one amends or finds
duplicates. Inserts use the databases' bulk interfaces: PostgreSQL ``COPY`` and SQLite ``executemany``.

Validation refuses what either database cannot store; should a record still fail at insert (a value one
database refuses), its batch is rolled back and stored again in halves, down to the one record that fails,
which goes to quarantine alone (``store_isolating``): the rest of the file or request is stored, and a
re-run finds the same record already quarantined.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from borderwatch.core.errors import IngestError, NotFoundError
from borderwatch.db.base import Base
from borderwatch.db.session import (
    lock_keys,
    refresh_statistics,
    refresh_statistics_when_grown,
    write_transaction,
)
from borderwatch.ingest.edifact.reader import EdifactReader, is_edifact
from borderwatch.ingest.edifact.syntax import messages_of_text
from borderwatch.ingest.mapping import ColumnMapping, kcs_mapping
from borderwatch.ingest.models import (
    DeclarationRow,
    GoodsItemRow,
    ManifestLineRow,
    OutcomeRow,
    QuarantineRow,
)
from borderwatch.ingest.readers import (
    CsvReader,
    JsonLinesReader,
    Problem,
    RawBatch,
    SourceError,
    _rows_frame,
    flat_size,
    flatten,
    with_line,
)
from borderwatch.ingest.schemas import MAX_COPIED_BYTES, Declaration, ManifestLine, Outcome, storable
from borderwatch.ingest.validate import Validated, content_hashes, validate_records

FORMATS = ("auto", "kcs", "csv", "jsonl", "edifact")
_IN_CHUNK = 2000
_PG_IN_CHUNK = 50_000


def _insert_columns(model: type[Base]) -> tuple[str, ...]:
    """The columns a bulk insert fills, from the table itself: all but the primary key and what the
    database stamps on its own (server defaults), so a new model column cannot be left out silently."""
    return tuple(
        column.name
        for column in model.__table__.columns
        if not column.primary_key and column.server_default is None
    )


DECLARATION_COLUMNS = _insert_columns(DeclarationRow)
ITEM_COLUMNS = _insert_columns(GoodsItemRow)
OUTCOME_COLUMNS = _insert_columns(OutcomeRow)
MANIFEST_COLUMNS = _insert_columns(ManifestLineRow)


@dataclass
class IngestSummary:
    """What one ingest did. ``read`` = stored + amended + duplicates + quarantined + already_quarantined
    + outcome_lines + manifest_messages: every record read is accounted for. ``manifest_lines`` counts the
    lines of those manifest messages stored (a line already stored is not stored again)."""

    source: str
    read: int = 0
    stored: int = 0
    amended: int = 0
    duplicates: int = 0
    quarantined: int = 0
    already_quarantined: int = 0
    outcomes: int = 0
    outcome_lines: int = 0
    manifest_messages: int = 0
    manifest_lines: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    lrns: list[str] = field(default_factory=list)
    """The declarations stored or amended (new current versions): what selection takes next."""

    def add(self, other: IngestSummary) -> None:
        self.lrns.extend(other.lrns)
        for name in (
            "read",
            "stored",
            "amended",
            "duplicates",
            "quarantined",
            "already_quarantined",
            "manifest_messages",
            "manifest_lines",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcomes += other.outcomes
        self.outcome_lines += other.outcome_lines
        self.reasons.update(other.reasons)


def reason_kind(reason: str) -> str:
    """A reason without the offending value, to count the most common kinds of problem."""
    return reason.split("' ", 1)[1] if reason.startswith("'") and "' " in reason else reason


# ---------------------------------------------------------------------------------------------- bulk writes


def bulk_insert(connection: Connection, table: str, frame: pl.DataFrame) -> None:
    """Insert the rows of ``frame`` (columns named as the table's) with the database's bulk path.

    PostgreSQL: ``COPY ... FROM STDIN (FORMAT csv)`` fed with CSV that Polars writes natively (an unquoted
    empty field is NULL, ``""`` an empty string). SQLite: ``executemany`` in the batch's transaction.
    """
    if frame.is_empty():
        return
    names = ", ".join(frame.columns)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(frame.write_csv(include_header=False))
        return
    marks = ", ".join("?" for _ in frame.columns)
    # SQLite stores dates as ISO text; convert here instead of relying on sqlite3's deprecated adapters.
    rows = frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d")).rows()
    connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _chunks(values: Sequence[str], size: int = _IN_CHUNK) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def _placeholder(connection: Connection) -> str:
    """The driver's placeholder for one bound value."""
    return "%s" if connection.dialect.name == "postgresql" else "?"


def _fetch_in(
    connection: Connection, sql: str, values: Sequence[str], *, prefix: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` whose ``{keys}`` placeholder is the set ``values``, asked in chunks; ``prefix`` binds
    the placeholders (``_placeholder``) written before ``{keys}``.

    Driver-level SQL: compiling an ORM query with thousands of bound values per batch costs more than the
    lookup itself.
    """
    found: list[tuple[Any, ...]] = []
    params: tuple[Any, ...]
    postgres = connection.dialect.name == "postgresql"
    # A PostgreSQL array is one parameter, so a whole batch is one query; SQLite binds each value.
    for chunk in _chunks(values, _PG_IN_CHUNK if postgres else _IN_CHUNK):
        if postgres:
            statement, params = sql.format(keys="= ANY(%s)"), (*prefix, chunk)
        else:
            statement, params = sql.format(keys=f"IN ({','.join('?' * len(chunk))})"), (*prefix, *chunk)
        found.extend(tuple(row) for row in connection.exec_driver_sql(statement, params))
    return found


def reserve_ids(connection: Connection, table: str, count: int) -> list[int]:
    """Ids for ``count`` new rows of ``table``, so children can be inserted in bulk without reading back.

    ``connection`` must be in a ``write_transaction``: on SQLite the ids are read from the table itself."""
    if connection.dialect.name == "postgresql":
        sql = f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)"
        return [row[0] for row in connection.exec_driver_sql(sql, (count,))]
    # SQLite gives a rowid table's new rows max(id) + 1, ... ; the batch's transaction (``write_transaction``)
    # holds the write lock from its BEGIN until commit, so no other writer takes these ids meanwhile.
    start = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one()
    return list(range(start + 1, start + 1 + count))


@dataclass(frozen=True)
class _Context:
    source: str
    reader: str
    agency: str
    context: str | None


def _raw_hash(context: _Context, line: int, raw: str) -> str:
    key = f"{Path(context.source).name}\n{line}\n{raw}"
    return hashlib.sha256(key.encode("utf-8", errors="replace")).hexdigest()


def _quarantine(
    connection: Connection, context: _Context, problems: list[Problem], summary: IngestSummary
) -> None:
    if not problems:
        return
    keyed = {_raw_hash(context, p.line, p.raw): p for p in problems}
    known = {
        row[0]
        for row in _fetch_in(connection, "SELECT raw_hash FROM quarantine WHERE raw_hash {keys}", list(keyed))
    }
    summary.already_quarantined += len(problems) - len(keyed) + len(known)
    fresh = [(digest, p) for digest, p in keyed.items() if digest not in known]
    summary.quarantined += len(fresh)
    summary.reasons.update(reason_kind(p.reason) for _, p in fresh)
    fresh_problems = [p for _, p in fresh]
    # A problem's text may quote what made it one (a NUL, a lone surrogate): kept visible, but storable.
    records = pl.DataFrame(
        {
            "line": [p.line for p in fresh_problems],
            "record_key": [storable((p.record_key or "")[:64]) or None for p in fresh_problems],
            "field": [storable((p.field or "")[:128]) or None for p in fresh_problems],
            "reason": [storable(p.reason) for p in fresh_problems],
            "raw": [storable(p.raw) for p in fresh_problems],
            "raw_hash": [digest for digest, _ in fresh],
        },
        schema_overrides={"line": pl.Int64, "record_key": pl.String, "field": pl.String},
    ).with_columns(
        pl.lit(context.agency).alias("agency"),
        pl.lit(context.source[:1024]).alias("source_file"),
        pl.lit(context.reader).alias("reader"),
        pl.lit("open").alias("status"),
        pl.lit(context.context, dtype=pl.String).alias("context"),
    )
    bulk_insert(connection, "quarantine", records)


def _existing_versions(connection: Connection, agency: str, lrns: Sequence[str]) -> pl.DataFrame:
    """(lrn, version, content_hash) of every stored version of ``agency``'s ``lrns``: an LRN is unique within
    an agency only, so another agency's declaration under the same LRN is another declaration."""
    rows = _fetch_in(
        connection,
        "SELECT lrn, version, content_hash FROM declarations WHERE agency = "
        + _placeholder(connection)
        + " AND lrn {keys}",
        lrns,
        prefix=(agency,),
    )
    return pl.DataFrame(
        rows, schema={"lrn": pl.String, "version": pl.Int64, "content_hash": pl.String}, orient="row"
    )


def _store_declarations(
    connection: Connection,
    context: _Context,
    rows: pl.DataFrame,
    existing: pl.DataFrame,
    summary: IngestSummary,
) -> None:
    if rows.is_empty():
        return
    hashes = content_hashes(rows)
    first = hashes.unique(subset=["lrn", "content_hash"], keep="first", maintain_order=True)
    summary.duplicates += hashes.height - first.height
    fresh = first.join(existing.select("lrn", "content_hash"), on=["lrn", "content_hash"], how="anti")
    summary.duplicates += first.height - fresh.height
    if fresh.is_empty():
        return
    latest = existing.group_by("lrn").agg(pl.col("version").max().alias("latest"))
    fresh = fresh.with_columns(pl.int_range(pl.len()).over("lrn").alias("_round"))
    headers = rows.unique(subset="line", keep="first", maintain_order=True)
    for round_no in range(int(fresh["_round"].max() or 0) + 1):  # type: ignore[arg-type]
        part = (
            fresh.filter(pl.col("_round") == round_no)
            .join(latest, on="lrn", how="left")
            .with_columns((pl.col("latest").fill_null(0) + 1).alias("version"))
        )
        amended = part.filter(pl.col("version") > 1)["lrn"].to_list()
        summary.amended += len(amended)
        summary.stored += part.height - len(amended)
        summary.lrns.extend(part["lrn"].to_list())
        _fetch_in(
            connection,
            "UPDATE declarations SET is_current = FALSE WHERE is_current = TRUE AND agency = "
            + _placeholder(connection)
            + " AND lrn {keys} RETURNING id",
            amended,
            prefix=(context.agency,),
        )
        ids = reserve_ids(connection, "declarations", part.height)
        declarations = (
            part.select("line", "version", "content_hash")
            .join(headers, on="line", maintain_order="left")
            .with_columns(
                pl.Series("id", ids, dtype=pl.Int64),
                pl.lit(True).alias("is_current"),
                pl.lit(context.agency).alias("agency"),
                pl.lit(context.source[:255]).alias("source"),
            )
        )
        bulk_insert(connection, "declarations", declarations.select("id", *DECLARATION_COLUMNS))
        items = rows.join(
            declarations.select("line", pl.col("id").alias("declaration_id")),
            on="line",
            maintain_order="left",
        ).select(ITEM_COLUMNS)
        bulk_insert(connection, "goods_items", items)
        latest = pl.concat(
            [
                latest.join(part.select("lrn"), on="lrn", how="anti"),
                part.select("lrn", pl.col("version").alias("latest")),
            ]
        )


def _store_outcomes(
    connection: Connection, context: _Context, outcomes: pl.DataFrame, summary: IngestSummary
) -> None:
    if outcomes.is_empty():
        return
    key = ["lrn", "recorded_on", "fraud", "critical_fraud"]
    outcomes = outcomes.unique(subset=key, keep="first", maintain_order=True)
    known = _fetch_in(
        connection,
        "SELECT lrn, recorded_on, fraud, critical_fraud FROM outcomes WHERE agency = "
        + _placeholder(connection)
        + " AND lrn {keys}",
        outcomes["lrn"].to_list(),
        prefix=(context.agency,),
    )
    # SQLite answers dates as text and booleans as integers; normalise both databases' answers.
    stored = pl.DataFrame(
        [(lrn, str(day), bool(fraud), int(level)) for lrn, day, fraud, level in known],
        schema={"lrn": pl.String, "recorded_on": pl.String, "fraud": pl.Boolean, "critical_fraud": pl.Int64},
        orient="row",
    ).with_columns(pl.col("recorded_on").str.to_date("%Y-%m-%d"))
    fresh = outcomes.join(stored, on=key, how="anti", nulls_equal=True)
    summary.outcomes += fresh.height
    bulk_insert(
        connection,
        "outcomes",
        fresh.with_columns(pl.lit(context.agency).alias("agency")).select(OUTCOME_COLUMNS),
    )


def _store_manifest(
    connection: Connection,
    context: _Context,
    lines: list[tuple[int, ManifestLine]],
    summary: IngestSummary,
) -> None:
    """Store manifest lines not stored before for this agency (same content: same line)."""
    if not lines:
        return
    records = []
    for _, line in lines:
        digest = hashlib.sha256(
            json.dumps([context.agency, line.model_dump(mode="json")], sort_keys=True).encode()
        ).hexdigest()
        data = line.model_dump() | {"container_ids": " ".join(line.container_ids) or None}
        records.append(data | {"content_hash": digest})
    frame = pl.DataFrame(records, schema_overrides=_MANIFEST_FRAME).unique(
        subset="content_hash", keep="first", maintain_order=True
    )
    known = {
        digest
        for digest, agency in _fetch_in(
            connection,
            "SELECT content_hash, agency FROM manifest_lines WHERE content_hash {keys}",
            frame["content_hash"].to_list(),
        )
        if agency == context.agency
    }
    fresh = frame.filter(~pl.col("content_hash").is_in(list(known))).with_columns(
        pl.lit(context.agency).alias("agency"), pl.lit(context.source[:255]).alias("source")
    )
    summary.manifest_lines += fresh.height
    bulk_insert(connection, "manifest_lines", fresh.select(MANIFEST_COLUMNS))


_MANIFEST_FRAME = {
    "arrival_on": pl.Date,
    "item_no": pl.Int64,
    "packages": pl.Float64,
    "gross_mass": pl.Float64,
    **dict.fromkeys(
        [
            "message_type",
            "manifest_ref",
            "voyage",
            "carrier_id",
            "means_id",
            "loading_port",
            "discharge_port",
            "consignment_ref",
            "consignor",
            "consignee",
            "description",
            "hs_code",
            "package_type",
            "container_ids",
        ],
        pl.String,
    ),
}


_OUTCOME_FRAME = {
    "lrn": pl.String,
    "recorded_on": pl.Date,
    "fraud": pl.Boolean,
    "critical_fraud": pl.Int64,
    "duty_recovered": pl.Float64,
    "findings": pl.String,
    "source": pl.String,
}


def _outcomes_of(validated: Validated, outcome_lines: list[Outcome], reader: str) -> pl.DataFrame:
    from_records = (
        validated.rows.filter(pl.col("fraud").is_not_null())
        .unique(subset="line", keep="first", maintain_order=True)
        .select(
            "lrn",
            pl.col("declared_on").alias("recorded_on"),
            pl.col("fraud").cast(pl.Boolean),
            pl.col("critical_fraud").fill_null(0).cast(pl.Int64),
            pl.lit(None, dtype=pl.Float64).alias("duty_recovered"),
            pl.lit(None, dtype=pl.String).alias("findings"),
            pl.lit(reader).alias("source"),
        )
    )
    given = pl.DataFrame(
        [
            tuple(o.model_dump(include=set(_OUTCOME_FRAME)).get(k) for k in _OUTCOME_FRAME)
            for o in outcome_lines
        ],
        schema=_OUTCOME_FRAME,
        orient="row",
    )
    return pl.concat([from_records.cast(_OUTCOME_FRAME), given])  # type: ignore[arg-type]


def _raw_lines(records: pl.DataFrame) -> pl.DataFrame:
    """``line, raw``: each record's raw text once (JSON Lines carries it on a record's first goods item)."""
    return records.select("line", "raw").filter(pl.col("raw").is_not_null()).unique("line", keep="first")


@dataclass(frozen=True)
class CheckedBatch:
    """A raw batch after validation, before any database access: the rows to store and every problem."""

    batch: RawBatch
    validated: Validated
    problems: list[Problem]


def check_batch(batch: RawBatch, *, mapping: ColumnMapping, labels: dict[str, str]) -> CheckedBatch:
    """Validate one raw batch. Touches no database, so it runs before the batch's write transaction: on
    SQLite that transaction holds the one write lock, which every other writer waits for."""
    validated = validate_records(
        batch.records.drop("raw"),
        date_format=mapping.date_format,
        constants=mapping.constants,
        defaults=mapping.defaults,
        labels=labels,
    )
    problems = list(batch.problems)
    if not validated.problems.is_empty():
        originals = (
            _raw_lines(batch.records)
            .join(
                batch.records.select(
                    "line", pl.col("lrn") if "lrn" in batch.records.columns else pl.lit(None).alias("lrn")
                ).unique(subset="line", keep="first"),
                on="line",
            )
            .select("line", "raw", "lrn")
        )
        for line, field_name, reason, raw, key in validated.problems.join(originals, on="line").iter_rows():
            problems.append(Problem(line, field_name, reason, raw, key))
    return CheckedBatch(batch=batch, validated=validated, problems=problems)


def store_batch(connection: Connection, *, checked: CheckedBatch, context: _Context) -> IngestSummary:
    """Store a checked batch within ``connection``'s transaction (a ``write_transaction``, which the batch
    alone uses: its locks are taken first and held until it ends)."""
    summary = IngestSummary(source=context.source)
    batch, validated, problems = checked.batch, checked.validated, list(checked.problems)
    summary.read = (
        validated.rows["line"].n_unique() + len(problems) + len(batch.outcomes) + manifest_messages(batch)
    )
    summary.manifest_messages = manifest_messages(batch)
    lrns = validated.rows["lrn"].to_list() + [outcome.lrn for outcome in batch.outcomes]
    # Everything the batch reads to decide what to write: its LRNs' versions and outcomes, and whether its
    # problems are already quarantined. Another ingest of any of them waits for this one's commit.
    lock_keys(
        connection,
        {*lrns, *(_raw_hash(context, p.line, p.raw) for p in problems)},
        scope="ingest",
    )
    existing = _existing_versions(connection, context.agency, lrns)
    summary.outcome_lines = len(batch.outcomes)
    _quarantine(connection, context, problems, summary)
    _store_declarations(connection, context, validated.rows, existing, summary)
    _store_outcomes(
        connection, context, _outcomes_of(validated, list(batch.outcomes), context.reader), summary
    )
    _store_manifest(connection, context, batch.manifest, summary)
    return summary


def _record_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    """The errors by which a database refuses a value (not a lost connection, a lock or a time-out): the
    fault of a record. PostgreSQL's ``COPY`` raises the driver's own; SQLite's driver raises OverflowError
    for an integer beyond 64 bits."""
    dbapi = engine.dialect.loaded_dbapi
    return (sa_exc.DataError, sa_exc.IntegrityError, dbapi.DataError, dbapi.IntegrityError, OverflowError)


def manifest_messages(batch: RawBatch) -> int:
    """How many manifest messages ``batch`` holds (each gives one line at least, all on its ``UNH``)."""
    return len({line for line, _ in batch.manifest})


def _lines_of(checked: CheckedBatch) -> list[int]:
    lines = set(checked.validated.rows["line"].to_list())
    lines.update(line for line, _ in checked.batch.manifest)
    lines.update(problem.line for problem in checked.problems)
    lines.update(checked.batch.outcome_lines)
    return sorted(lines)


def _part(checked: CheckedBatch, lines: set[int]) -> CheckedBatch:
    """The records of ``checked`` on ``lines``."""
    batch, wanted = checked.batch, pl.col("line").is_in(sorted(lines))
    outcomes = [
        (line, outcome)
        for line, outcome in zip(batch.outcome_lines, batch.outcomes, strict=True)
        if line in lines
    ]
    return CheckedBatch(
        batch=RawBatch(
            records=batch.records.filter(wanted),
            problems=[problem for problem in batch.problems if problem.line in lines],
            outcomes=[outcome for _, outcome in outcomes],
            outcome_lines=[line for line, _ in outcomes],
            manifest=[(line, item) for line, item in batch.manifest if line in lines],
        ),
        validated=Validated(
            rows=checked.validated.rows.filter(wanted), problems=checked.validated.problems.filter(wanted)
        ),
        problems=[problem for problem in checked.problems if problem.line in lines],
    )


def _refused(checked: CheckedBatch, error: BaseException) -> CheckedBatch:
    """``checked`` (one record) with that record turned into a problem: the database refused to store it."""
    cause = getattr(error, "orig", None) or error
    reason = (
        f"the database refused to store it ({(str(cause).splitlines() or [type(cause).__name__])[0][:200]})"
    )
    problems = list(checked.problems)
    keys = dict(checked.validated.rows.select("line", "lrn").iter_rows())
    for line, raw in _raw_lines(checked.batch.records).iter_rows():
        if line in keys:
            problems.append(Problem(line, None, reason, raw, keys[line]))
    for line, outcome in zip(checked.batch.outcome_lines, checked.batch.outcomes, strict=True):
        problems.append(Problem(line, None, reason, outcome.model_dump_json(), outcome.lrn))
    for line in sorted({line for line, _ in checked.batch.manifest}):
        item = next(item for number, item in checked.batch.manifest if number == line)
        problems.append(Problem(line, None, reason, item.model_dump_json(), item.manifest_ref))
    return CheckedBatch(
        batch=RawBatch(records=checked.batch.records.clear(), problems=checked.batch.problems),
        validated=Validated(rows=checked.validated.rows.clear(), problems=checked.validated.problems),
        problems=problems,
    )


def store_isolating(engine: Engine, *, checked: CheckedBatch, context: _Context) -> IngestSummary:
    """Store a checked batch in its own write transaction; should the database refuse a value, store it
    again in halves (each its own transaction) down to the record it refuses, which is quarantined alone."""
    try:
        with write_transaction(engine) as connection:
            return store_batch(connection, checked=checked, context=context)
    except _record_errors(engine) as error:
        lines = _lines_of(checked)
        if len(lines) <= 1:
            refused = _refused(checked, error)
        else:
            summary = IngestSummary(source=context.source)
            middle = len(lines) // 2
            for half in (lines[:middle], lines[middle:]):
                summary.add(store_isolating(engine, checked=_part(checked, set(half)), context=context))
            return summary
    with write_transaction(engine) as connection:
        return store_batch(connection, checked=refused, context=context)


# ---------------------------------------------------------------------------------------------- whole files


def detect_format(path: Path, fmt: str, mapping: ColumnMapping | None) -> str:
    """The reader for ``path``: ``fmt`` unless "auto"; EDIFACT by content (a ``UNA``/``UNB`` at the start,
    whatever the file's name), JSON Lines by extension, else CSV (KCS without a mapping)."""
    if fmt != "auto":
        return fmt
    if is_edifact(path):
        return "edifact"
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        return "jsonl"
    return "csv" if mapping is not None else "kcs"


_AnyReader = CsvReader | JsonLinesReader | EdifactReader


def _open(
    path: Path, fmt: str, mapping: ColumnMapping | None, batch_size: int
) -> tuple[_AnyReader, Iterator[RawBatch], ColumnMapping]:
    """The reader of ``path``, its batches and the mapping its records are validated with."""
    kind = detect_format(path, fmt, mapping)
    if kind == "edifact":
        edifact = EdifactReader.open(path)
        return edifact, edifact.batches(path, size=batch_size), _JSON_MAPPING
    if kind == "jsonl":
        reader, lines = JsonLinesReader.open(path)
        return reader, reader.batches(lines, size=batch_size), _JSON_MAPPING
    if kind == "csv" and mapping is None:
        raise SourceError(
            source=str(path), reason="needs a column mapping (--mapping FILE.yaml) to be read as CSV"
        )
    chosen = kcs_mapping() if kind == "kcs" else mapping
    assert chosen is not None
    csv_reader, lines = CsvReader.open(path, chosen)
    return csv_reader, csv_reader.batches(lines, size=batch_size), chosen


# Every JSON Lines record is flattened to record fields named as themselves.
_JSON_COLUMNS = {
    name: name for name in ("lrn", "declared_on", "office", "hs_code", "customs_value", "currency")
}
_JSON_MAPPING = ColumnMapping(name="jsonl", constants={}, defaults={}, columns=_JSON_COLUMNS)


def _context_of(reader: _AnyReader, mapping: ColumnMapping, agency: str) -> _Context:
    if isinstance(reader, CsvReader):
        context = json.dumps({"header": reader.header_line, "mapping": mapping.model_dump()})
        return _Context(
            source=reader.source,
            reader=mapping.name if mapping.name == "kcs" else "csv",
            agency=agency,
            context=context,
        )
    kind = "edifact" if isinstance(reader, EdifactReader) else "jsonl"
    return _Context(source=reader.source, reader=kind, agency=agency, context=None)


def ingest_file(
    *,
    engine: Engine,
    path: Path,
    fmt: str = "auto",
    mapping: ColumnMapping | None = None,
    agency: str = "default",
    batch_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
) -> IngestSummary:
    """Ingest one file; raises ``SourceError`` when not a single record can be read from it.

    ``on_progress`` receives the number of bytes read after each batch.
    """
    reader, batches, chosen = _open(path, fmt, mapping, batch_size)
    context = _context_of(reader, chosen, agency)
    labels = reader.labels() if isinstance(reader, CsvReader) else {}
    summary = IngestSummary(source=str(path))
    for batch in batches:
        checked = check_batch(batch, mapping=chosen, labels=labels)
        summary.add(store_isolating(engine, checked=checked, context=context))
        if on_progress is not None:
            on_progress(batch.bytes_read)
    if summary.read == 0:
        raise SourceError(source=str(path), reason="holds no records")
    refresh_statistics(engine)
    return summary


def _flattened_parts(declarations: Sequence[Declaration]) -> Iterator[list[dict[str, str | None]]]:
    """The goods-item rows of ``declarations``, numbered from 1, in parts of at most ``MAX_COPIED_BYTES``
    of text (past one declaration), so a request of many large declarations is flattened a part at a time."""
    rows: list[dict[str, str | None]] = []
    weight = 0
    for number, declaration in enumerate(declarations, start=1):
        flat = flatten(declaration)
        weight += flat_size(flat)
        rows.extend(with_line(flat, number, declaration.model_dump_json(exclude_none=True)))
        if weight >= MAX_COPIED_BYTES:
            yield rows
            rows, weight = [], 0
    if rows:
        yield rows


def ingest_declarations(
    *, engine: Engine, declarations: Sequence[Declaration], agency: str = "default", source: str = "api"
) -> IngestSummary:
    """Ingest canonical declarations already parsed in memory (an API request body) in one transaction
    per ``MAX_COPIED_BYTES`` of flattened text (one for any usual request; a record the database still
    refuses is quarantined alone and the rest stored: ``store_isolating``).

    The same path as a JSON Lines file through ``ingest_file`` — the records are flattened as that reader
    does, then validated, versioned, deduplicated and bulk-inserted by ``store_batch`` — without writing and
    re-reading a file. ``source`` names them in the store and in the quarantine. On SQLite, the planner
    statistics are refreshed after the submission that doubles the declarations.
    """
    context = _Context(source=source, reader="jsonl", agency=agency, context=None)
    summary = IngestSummary(source=source)
    for part in _flattened_parts(declarations):
        checked = check_batch(RawBatch(records=_rows_frame(part)), mapping=_JSON_MAPPING, labels={})
        summary.add(store_isolating(engine, checked=checked, context=context))
    if summary.stored or summary.amended:
        # Unlike a file, a submission adds a few declarations: an ANALYZE after each would mostly take the
        # write lock once more for nothing; never one leaves a server that started near-empty planning with
        # the statistics of a few rows.
        refresh_statistics_when_grown(engine, table="declarations")
    return summary


def ingest_outcomes(
    *, engine: Engine, outcomes: Sequence[Outcome], agency: str = "default", source: str = "pipeline"
) -> IngestSummary:
    """Store inspection outcomes already parsed in memory (the pipeline's ``outcomes`` subject) through the
    path JSON Lines outcome lines take (``store_batch``): each stored once per (LRN, date, fraud, critical
    fraud), so a message delivered twice stores nothing the second time; an LRN another agency holds is
    quarantined. What ``feedback`` reads (``ingest.store.load_outcomes``)."""
    if not outcomes:
        return IngestSummary(source=source)
    context = _Context(source=source, reader="jsonl", agency=agency, context=None)
    batch = RawBatch(
        records=_rows_frame([]), outcomes=list(outcomes), outcome_lines=list(range(1, len(outcomes) + 1))
    )
    checked = check_batch(batch, mapping=_JSON_MAPPING, labels={})
    return store_isolating(engine, checked=checked, context=context)


# ---------------------------------------------------------------------------------------------- quarantine


def list_quarantine(
    *,
    engine: Engine,
    status: str | None = "open",
    source: str | None = None,
    limit: int = 50,
    agency: str | None = None,
    offset: int = 0,
) -> list[QuarantineRow]:
    """Quarantined records, oldest first; ``status`` None lists all, ``source`` filters by file name part,
    ``agency`` keeps one agency's records (the workspace shows each agency only its own)."""
    query = select(QuarantineRow).order_by(QuarantineRow.id).limit(limit).offset(offset)
    if status:
        query = query.where(QuarantineRow.status == status)
    if source:
        query = query.where(QuarantineRow.source_file.contains(source))
    if agency is not None:
        query = query.where(QuarantineRow.agency == agency)
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(query))


def get_quarantined(*, engine: Engine, record_id: int) -> QuarantineRow:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(QuarantineRow, record_id)
    if row is None:
        raise NotFoundError(f"quarantined record {record_id} does not exist")
    return row


def _set_path(data: Any, path: str, value: str) -> None:
    parts = path.split(".")
    target = data
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
    last = parts[-1]
    current = target[int(last)] if isinstance(target, list) else target.get(last)
    try:
        parsed: Any = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    if isinstance(current, str) and not isinstance(parsed, str):
        parsed = value  # a text field stays text: an HS code typed as 610910 is not the number 610910
    if isinstance(target, list):
        target[int(last)] = parsed
    else:
        target[last] = parsed


def corrected_raw(
    record: QuarantineRow, *, raw: str | None = None, changes: dict[str, str] | None = None
) -> str:
    """The record's raw text with ``raw`` replacing it whole, or with field ``changes`` applied."""
    text = raw if raw is not None else record.raw
    if not changes:
        return text
    if record.reader == "edifact":
        raise IngestError(
            record=record.record_key,
            field=record.field,
            reason="an EDIFACT message is corrected whole: pass --raw with the corrected message",
        )
    if record.reader == "jsonl":
        try:
            data = json.loads(text)
            for path, value in changes.items():
                _set_path(data, path, value)
        except (json.JSONDecodeError, KeyError, IndexError, ValueError, TypeError) as error:
            raise IngestError(
                record=record.record_key, field=None, reason=f"cannot apply the change ({error})"
            ) from error
        return json.dumps(data, ensure_ascii=False)
    reader = _csv_reader_of(record)
    try:
        values = reader.parse(text)
    except SourceError as error:
        raise IngestError(
            record=record.record_key,
            field=None,
            reason="its raw text cannot be split into fields; pass the whole corrected line",
        ) from error
    for name, value in changes.items():
        if name not in values:
            raise IngestError(record=record.record_key, field=name, reason="is not a column of this file")
        values[name] = value
    return reader.serialise(values)


def _csv_reader_of(record: QuarantineRow) -> CsvReader:
    context = json.loads(record.context or "{}")
    mapping = ColumnMapping.model_validate(context["mapping"]) if "mapping" in context else kcs_mapping()
    return CsvReader(source=record.source_file, header=context.get("header", ""), mapping=mapping)


def _reread(record: QuarantineRow, text: str) -> tuple[list[RawBatch], ColumnMapping, dict[str, str]]:
    """The batches of a quarantined record's (corrected) text, read by the record's own reader."""
    if record.reader == "edifact":
        reader = EdifactReader(source=record.source_file)
        return list(reader.read(messages_of_text(text), size=10)), _JSON_MAPPING, {}
    lines = iter([(record.line or 0, text.encode("utf-8"))])
    if record.reader == "jsonl":
        json_reader = JsonLinesReader(source=record.source_file)
        return (
            list(json_reader.batches(lines, size=10)),
            ColumnMapping(name="jsonl", columns=_JSON_COLUMNS),
            {},
        )
    csv_reader = _csv_reader_of(record)
    return list(csv_reader.batches(lines, size=10)), csv_reader.mapping, csv_reader.labels()


def release_quarantined(
    *,
    engine: Engine,
    record_id: int,
    raw: str | None = None,
    value: str | None = None,
    changes: dict[str, str] | None = None,
) -> IngestSummary:
    """Re-validate a quarantined record, optionally corrected, and store it; ``IngestError`` if still bad.

    ``value`` replaces the field the record was quarantined for; ``changes`` sets fields by name (a CSV
    column, or a dotted JSON path such as ``items.0.hs_code``); ``raw`` replaces the whole text.
    """
    record = get_quarantined(engine=engine, record_id=record_id)
    if record.status != "open":
        raise IngestError(
            record=record.record_key,
            field=None,
            reason=f"quarantined record {record_id} is already {record.status}",
        )
    changes = dict(changes or {})
    if value is not None:
        if not record.field:
            raise IngestError(
                record=record.record_key,
                field=None,
                reason="names no single field; pass --raw with the corrected line or --set NAME=VALUE",
            )
        changes[record.field] = value
    text = corrected_raw(record, raw=raw, changes=changes)
    batches, mapping, labels = _reread(record, text)
    if not batches:
        raise IngestError(record=record.record_key, field=None, reason="the corrected text is empty")
    checked = check_batch(batches[0], mapping=mapping, labels=labels)
    if checked.problems:
        raise replace(checked.problems[0], record_key=record.record_key).error()
    context = _Context(
        source=record.source_file, reader=record.reader, agency=record.agency, context=record.context
    )
    try:
        return _release(engine, checked=checked, context=context, record=record, record_id=record_id)
    except _record_errors(engine) as error:
        raise replace(_refused(checked, error).problems[-1], record_key=record.record_key).error() from error


def _release(
    engine: Engine, *, checked: CheckedBatch, context: _Context, record: QuarantineRow, record_id: int
) -> IngestSummary:
    with write_transaction(engine) as connection:
        summary = store_batch(connection, checked=checked, context=context)
        if summary.quarantined or summary.already_quarantined:
            # Leaving the block by an exception rolls the batch back: nothing is stored, nothing released.
            raise IngestError(
                record=record.record_key, field=None, reason="the corrected record was quarantined again"
            )
        # The record was read open before this transaction: released meanwhile, it must not be stored twice.
        released = connection.execute(
            update(QuarantineRow)
            .where(QuarantineRow.id == record_id, QuarantineRow.status == "open")
            .values(status="released", resolved_at=datetime.now(UTC))
        )
        if released.rowcount != 1:
            raise IngestError(
                record=record.record_key,
                field=None,
                reason=f"quarantined record {record_id} is already released",
            )
    return summary
