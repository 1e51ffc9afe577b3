"""Streaming readers: a file → batches of raw text records, each with its line number and raw text.

A reader holds one batch in memory at a time, so a file of millions of rows is read in constant memory.
Lines that cannot even be split into a record (broken quoting, wrong number of fields, undecodable bytes,
invalid JSON, a record the canonical model rejects) come out as problems beside the batch, never as a crash,
so the rest of the file is still read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from borderwatch.core.errors import BorderwatchError, IngestError
from borderwatch.ingest.mapping import PARTY_ROLES, ColumnMapping
from borderwatch.ingest.schemas import Declaration, Outcome, reason_of, too_long

# A multi-line quoted field may span at most this many physical lines; beyond it the quote is broken.
MAX_RECORD_LINES = 20
OUTCOME_SOURCE_LENGTH = 64  # outcomes.source column
# Only ASCII whitespace makes a line blank: a line of U+001C separators is garbage to quarantine, not skip.
_BLANK = " \t\r\n\f\v"


class SourceError(BorderwatchError):
    """A whole source that cannot be read (missing, empty, not of the expected layout)."""

    def __init__(self, *, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source} {reason}")


@dataclass(frozen=True)
class Problem:
    """A record rejected before or during validation."""

    line: int
    field: str | None
    reason: str
    raw: str
    record_key: str | None = None

    def error(self) -> IngestError:
        """This problem as the typed error a caller raises when one record is submitted on its own."""
        return IngestError(record=self.record_key, field=self.field, reason=self.reason)


@dataclass
class RawBatch:
    """Up to ``batch_size`` records as raw text, plus what could not be read as a record."""

    records: pl.DataFrame  # ``line``, ``raw`` and one String column per record field
    problems: list[Problem] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)  # outcome lines of JSON Lines
    outcome_lines: list[int] = field(default_factory=list)
    bytes_read: int = 0


def numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes without the line ending)`` of a file, 1-based, streamed."""
    with path.open("rb") as handle:
        yield from enumerate(handle, start=1)


def _strip_eol(line: bytes) -> bytes:
    return line.rstrip(b"\r\n") if line.endswith(b"\n") else line


def _decode(line: bytes, encoding: str) -> tuple[str | None, str | None]:
    """``(text, None)`` or ``(None, reason)`` for one physical line."""
    try:
        text = line.decode(encoding)
    except UnicodeDecodeError:
        return None, f"is not valid {encoding} text"
    if "\x00" in text:
        return None, "contains a NUL character"
    return text, None


def _printable(line: bytes, encoding: str) -> str:
    return line.decode(encoding, errors="replace").replace("\x00", "\ufffd")


class CsvReader:
    """A CSV file in a known column layout (the KCS layout or an agency's mapped export)."""

    def __init__(self, *, source: str, header: str, mapping: ColumnMapping) -> None:
        self.source = source
        self.mapping = mapping
        self.header_line = header
        try:
            names = next(csv.reader([header], delimiter=mapping.delimiter, strict=True))
        except (csv.Error, StopIteration) as error:
            raise SourceError(
                source=source, reason=f"has a header that is not valid CSV ({error})"
            ) from error
        self.header = [name.strip() for name in names]
        missing = [column for column in mapping.columns.values() if column not in self.header]
        if missing:
            raise SourceError(
                source=source,
                reason=f"is not a CSV of the {mapping.name} layout: its header lacks {', '.join(missing)}",
            )
        position = {name: index for index, name in enumerate(self.header)}
        self.fields: dict[str, int] = {
            name: position[column]
            for name, column in chain(mapping.optional_columns.items(), mapping.columns.items())
            if column in position
        }

    @classmethod
    def open(cls, path: Path, mapping: ColumnMapping) -> tuple[CsvReader, Iterator[tuple[int, bytes]]]:
        """The reader for ``path`` and the file's remaining numbered lines after the header."""
        if not path.is_file():
            raise SourceError(source=str(path), reason="does not exist or is not a file")
        lines = numbered_lines(path)
        for _, first in lines:
            text, why = _decode(_strip_eol(first), mapping.encoding)
            if text is None:
                raise SourceError(source=str(path), reason=f"has a header line that {why}")
            text = text.removeprefix("\ufeff")
            if text.strip(_BLANK):
                return cls(source=str(path), header=text, mapping=mapping), lines
        raise SourceError(source=str(path), reason="is empty")

    def labels(self) -> dict[str, str]:
        return {name: self.mapping.source_of(name) for name in self.fields}

    def _split(self, text: str) -> list[str] | str:
        """The fields of ``text``, or why it is not one CSV record."""
        delimiter = self.mapping.delimiter
        if '"' not in text:
            return text.split(delimiter)
        try:
            return next(csv.reader([text], delimiter=delimiter, strict=True))
        except csv.Error as error:
            if "unexpected end of data" in str(error) or "newline inside string" in str(error):
                return "has an unclosed quote"
            return f"is not valid CSV ({error})"

    def _key_of(self, text: str) -> str | None:
        """The LRN of a line that is not a well-formed record, when it can still be picked out."""
        index = self.fields.get("lrn")
        parts = text.split(self.mapping.delimiter)
        if index is None or index >= len(parts):
            return None
        return parts[index].strip().strip('"')[:64] or None

    def batches(self, lines: Iterator[tuple[int, bytes]], *, size: int) -> Iterator[RawBatch]:
        """Records of ``lines`` in batches of ``size``; each non-blank line becomes a record or a problem."""
        width = len(self.header)
        encoding = self.mapping.encoding
        pending: list[tuple[int, bytes]] = []  # lines read ahead while looking for a closing quote
        records: list[list[str]] = []
        numbers: list[int] = []
        raws: list[str] = []
        problems: list[Problem] = []
        consumed = 0

        def next_line() -> tuple[int, bytes] | None:
            if pending:
                return pending.pop(0)
            return next(lines, None)

        def flush() -> RawBatch:
            nonlocal consumed
            # Transposing with zip runs in C; appending field by field would cost a Python call per cell.
            columns = list(zip(*records, strict=True)) if records else [()] * width
            frame = pl.DataFrame(
                {
                    "line": numbers,
                    "raw": raws,
                    **{name: list(columns[index]) for name, index in self.fields.items()},
                },
                schema={"line": pl.Int64, "raw": pl.String, **dict.fromkeys(self.fields, pl.String)},
            )
            batch = RawBatch(records=frame, problems=list(problems), bytes_read=consumed)
            consumed = 0
            numbers.clear()
            raws.clear()
            problems.clear()
            records.clear()
            return batch

        while (item := next_line()) is not None:
            number, data = item
            consumed += len(data)
            text, why = _decode(_strip_eol(data), encoding)
            if text is None:
                problems.append(Problem(number, None, f"line {why}", _printable(_strip_eol(data), encoding)))
            elif text.strip(_BLANK):
                parts = self._split(text)
                if parts == "has an unclosed quote":
                    joined, taken = text, list[tuple[int, bytes]]()
                    while len(taken) < MAX_RECORD_LINES and (following := next_line()) is not None:
                        taken.append(following)
                        more, _ = _decode(_strip_eol(following[1]), encoding)
                        if more is None:
                            break
                        joined = f"{joined}\n{more}"
                        candidate = self._split(joined)
                        if isinstance(candidate, list) and len(candidate) == width:
                            parts, text = candidate, joined
                            consumed += sum(len(line) for _, line in taken)
                            taken = []
                            break
                    pending[:0] = taken
                if isinstance(parts, str):
                    problems.append(Problem(number, None, f"line {parts}", text, self._key_of(text)))
                elif len(parts) != width:
                    problems.append(
                        Problem(
                            number,
                            None,
                            f"line has {len(parts)} fields where the header has {width}"
                            " (a truncated line or a stray delimiter)",
                            text,
                            self._key_of(text),
                        )
                    )
                else:
                    numbers.append(number)
                    raws.append(text)
                    records.append(parts)
            if len(numbers) + len(problems) >= size:
                yield flush()
        if numbers or problems:
            yield flush()

    def serialise(self, values: dict[str, str]) -> str:
        """One CSV line of ``values`` (by source column) in this file's header order."""
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.mapping.delimiter, lineterminator="").writerow(
            [values.get(name, "") for name in self.header]
        )
        return buffer.getvalue()

    def parse(self, raw: str) -> dict[str, str]:
        parts = self._split(raw)
        if isinstance(parts, str) or len(parts) != len(self.header):
            raise SourceError(source=self.source, reason="record cannot be split into the header's fields")
        return dict(zip(self.header, parts, strict=True))


def flatten(declaration: Declaration) -> list[dict[str, str | None]]:
    """The record fields of a canonical declaration, one dict per goods item, as text."""

    def text(value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    transport = declaration.transport
    base: dict[str, str | None] = {
        "lrn": declaration.lrn,
        "declared_on": declaration.date.isoformat(),
        "office": declaration.office,
        **{name: text(value) for name, value in declaration.procedure.model_dump().items()},
        "transport_mode": transport.mode,
        "departure_country": transport.departure_country,
        "transit_countries": " ".join(transport.transit_countries) or None,
        "origin_country": transport.origin_country,
        "origin_indicator": transport.origin_indicator,
        "means_id": transport.means_id,
        "container_ids": " ".join(transport.container_ids) or None,
    }
    for role in PARTY_ROLES:
        party = declaration.parties.get(role)  # type: ignore[call-overload]
        for part in ("id", "name", "address", "country"):
            base[f"{role}_{part}"] = getattr(party, part) if party else None
    documents = json.dumps([d.model_dump() for d in declaration.documents]) if declaration.documents else None
    return [
        base | {name: text(value) for name, value in item.model_dump().items()} | {"documents": documents}
        for item in declaration.items
    ]


class JsonLinesReader:
    """JSON Lines: a canonical ``Declaration`` a line, or an ``Outcome`` (no ``items``, a ``recorded_on``)."""

    def __init__(self, *, source: str) -> None:
        self.source = source

    @classmethod
    def open(cls, path: Path) -> tuple[JsonLinesReader, Iterator[tuple[int, bytes]]]:
        if not path.is_file():
            raise SourceError(source=str(path), reason="does not exist or is not a file")
        lines = numbered_lines(path)
        first = next(((n, b) for n, b in lines if b.strip(_BLANK.encode())), None)
        if first is None:
            raise SourceError(source=str(path), reason="is empty")
        return cls(source=str(path)), chain([first], lines)

    def _record(self, number: int, text: str) -> list[dict[str, str | None]] | Outcome | Problem:
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as error:
            return Problem(
                number, None, f"line is not valid JSON ({error.msg} at column {error.colno})", text
            )
        if not isinstance(data, dict):
            return Problem(number, None, "line is not a JSON object", text)
        key = data.get("lrn") if isinstance(data.get("lrn"), str) else None
        is_outcome = "items" not in data and "recorded_on" in data
        try:
            if is_outcome:
                outcome = Outcome.model_validate(data)
                if len(outcome.source) > OUTCOME_SOURCE_LENGTH:
                    return Problem(number, "source", too_long(OUTCOME_SOURCE_LENGTH), text, key)
                return outcome
            return flatten(Declaration.model_validate(data))
        except ValidationError as error:
            where, reason = reason_of(error.errors()[0])
            return Problem(number, where, reason, text, key[:64] if key else None)

    def batches(self, lines: Iterator[tuple[int, bytes]], *, size: int) -> Iterator[RawBatch]:
        rows: list[dict[str, str | None]] = []
        batch = RawBatch(records=pl.DataFrame())
        count = 0
        for number, data in lines:
            batch.bytes_read += len(data)
            text, why = _decode(_strip_eol(data), "utf-8")
            if text is None:
                batch.problems.append(
                    Problem(number, None, f"line {why}", _printable(_strip_eol(data), "utf-8"))
                )
            elif text.strip(_BLANK):
                result = self._record(number, text)
                if isinstance(result, Problem):
                    batch.problems.append(result)
                elif isinstance(result, Outcome):
                    batch.outcomes.append(result)
                    batch.outcome_lines.append(number)
                else:
                    rows.extend(row | {"line": str(number), "raw": text} for row in result)
            else:
                continue
            count += 1
            if count >= size:
                batch.records = _rows_frame(rows)
                yield batch
                rows, batch, count = [], RawBatch(records=pl.DataFrame()), 0
        if count:
            batch.records = _rows_frame(rows)
            yield batch


def _rows_frame(rows: Iterable[dict[str, str | None]]) -> pl.DataFrame:
    rows = list(rows)
    if not rows:
        return pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String})
    names = list(rows[0])
    frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String))
    return frame.with_columns(pl.col("line").cast(pl.Int64))
