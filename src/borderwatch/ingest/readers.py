"""Streaming readers: a file → batches of raw text records, each with its line number and raw text.

A reader holds one batch in memory at a time, so a file of millions of rows is read in constant memory.
Lines that cannot even be split into a record (broken quoting, wrong number of fields, undecodable bytes,
invalid JSON, a record the canonical model rejects) come out as problems beside the batch, never as a crash,
so the rest of the file is still read.

One physical line is one record: in these layouts no field holds a line break, so a quote that opens on one
line and closes on a later one is an error, and every line that record would have swallowed is a problem of
its own. Each non-blank line of a file therefore comes out exactly once, as a record or a problem, and the
ingest summary's counts add up to the file's lines. A line is read with a bounded buffer: one longer than
``MAX_LINE_BYTES`` is a problem, not a reason to hold the whole of it in memory.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from borderwatch.core.errors import BorderwatchError, IngestError
from borderwatch.ingest.mapping import PARTY_ROLES, ColumnMapping
from borderwatch.ingest.schemas import (
    MAX_COPIED_BYTES,
    MAX_ITEMS,
    TOO_MANY_ITEMS,
    Declaration,
    ManifestLine,
    Outcome,
    reason_of,
    too_long,
)

# How far ahead a quote left open is followed to tell which lines it would have swallowed (each is then
# quarantined as part of a record spanning lines); a quote still open after that is a problem of its line.
MAX_RECORD_LINES = 20
# One record (a CSV line, or a JSON Lines declaration with all its goods items) is at most this long.
MAX_LINE_BYTES = 8 << 20
# A JSON Lines record nests a handful of levels (declaration, items, item); deeper is not a record.
MAX_DEPTH = 10
# Of a line too long to read, this much is kept in the quarantine to show what it was.
KEPT_OF_LONG_LINE = 64 << 10
OUTCOME_SOURCE_LENGTH = 64  # outcomes.source column
# Only ASCII whitespace makes a line blank: a line of U+001C separators is garbage to quarantine, not skip.
_BLANK = " \t\r\n\f\v"


_UNCLOSED = "has an unclosed quote"


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
    manifest: list[tuple[int, ManifestLine]] = field(default_factory=list)  # (line, manifest line) of EDIFACT


def numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes with their line ending)`` of a file, 1-based, streamed.

    A line longer than ``MAX_LINE_BYTES`` comes out as its first ``MAX_LINE_BYTES + 1`` bytes (and no line
    ending: see ``too_long_line``); the rest of it is skipped unread into memory."""
    with path.open("rb") as handle:
        number = 0
        while line := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
            yield number, line


def too_long_line(number: int, line: bytes, encoding: str) -> Problem | None:
    """The problem of a line longer than ``MAX_LINE_BYTES`` (its start kept, to show what it was)."""
    if len(line) <= MAX_LINE_BYTES:
        return None
    return Problem(
        number,
        None,
        f"line is longer than {MAX_LINE_BYTES:,} bytes, the limit of one record",
        _printable(line[:KEPT_OF_LONG_LINE], encoding) + " …",
    )


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
        """The fields of ``text``, or why it is not one CSV record (``_UNCLOSED``: a quote left open)."""
        delimiter = self.mapping.delimiter
        if '"' not in text:
            return text.split(delimiter)
        try:
            return next(csv.reader([text], delimiter=delimiter, strict=True))
        except csv.Error as error:
            if "unexpected end of data" in str(error) or "newline inside string" in str(error):
                return _UNCLOSED
            return f"is not valid CSV ({error})"

    def _unclosed_field(self, text: str) -> str:
        """The column in which the quote left open on ``text`` opens (the last field it splits into)."""
        try:
            index = len(next(csv.reader([text], delimiter=self.mapping.delimiter))) - 1
        except (csv.Error, StopIteration):
            index = -1
        return self.header[index] if 0 <= index < len(self.header) else f"column {index + 1}"

    def _swallowed(
        self, text: str, next_line: Callable[[], tuple[int, bytes] | None]
    ) -> tuple[list[tuple[int, bytes]], bool]:
        """The lines after ``text`` (whose quote is left open) that a multi-line record would take, and
        whether such a record closes within ``MAX_RECORD_LINES`` lines; if not, the lines read ahead."""
        width, encoding = len(self.header), self.mapping.encoding
        joined, taken = text, list[tuple[int, bytes]]()
        while len(taken) < MAX_RECORD_LINES and (following := next_line()) is not None:
            taken.append(following)
            body = _strip_eol(following[1])
            more, _ = _decode(body, encoding)
            if more is None or len(joined) + len(body) > MAX_LINE_BYTES:
                break
            joined = f"{joined}\n{more}"
            candidate = self._split(joined)
            if candidate != _UNCLOSED:
                return taken, isinstance(candidate, list) and len(candidate) == width
        return taken, False

    def _key_of(self, text: str) -> str | None:
        """The LRN of a line that is not a well-formed record, when it can still be picked out."""
        index = self.fields.get("lrn")
        parts = text.split(self.mapping.delimiter)
        if index is None or index >= len(parts):
            return None
        return parts[index].strip().strip('"')[:64] or None

    def _spanning(self, number: int, text: str, taken: list[tuple[int, bytes]]) -> list[Problem]:
        """One problem per line of a record that spans lines ``number`` to the last of ``taken``."""
        field_name, last = self._unclosed_field(text), taken[-1][0]
        problems = [
            Problem(
                number,
                field_name,
                f"line opens a quote in field '{field_name}' that closes on line {last}: a record cannot span"
                " lines (no field of this layout holds a line break)",
                text,
                self._key_of(text),
            )
        ]
        for inner, line in taken:
            inner_text = _printable(_strip_eol(line), self.mapping.encoding)
            if inner_text.strip(_BLANK):
                problems.append(
                    Problem(
                        inner,
                        None,
                        f"line is inside a record that spans lines {number} to {last} (a quote opens in field"
                        f" '{field_name}' on line {number}); a record cannot span lines",
                        inner_text,
                        self._key_of(inner_text),
                    )
                )
        return problems

    def batches(self, lines: Iterator[tuple[int, bytes]], *, size: int) -> Iterator[RawBatch]:
        """Records of ``lines`` in batches of ``size``; each non-blank line becomes a record or a problem.

        No record spans lines: a quote left open at the end of a line makes that line a problem, and when a
        later line closes it into what would be one record, each line in between and the closing line are
        problems too (each as its own text: none is hidden inside another)."""
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
            body = _strip_eol(data)
            text, why = _decode(body, encoding) if len(body) <= MAX_LINE_BYTES else (None, None)
            if (long := too_long_line(number, body, encoding)) is not None:
                problems.append(long)
            elif text is None:
                problems.append(Problem(number, None, f"line {why}", _printable(body, encoding)))
            elif text.strip(_BLANK):
                parts = self._split(text)
                if parts == _UNCLOSED:
                    taken, closes = self._swallowed(text, next_line)
                    if closes:
                        consumed += sum(len(line) for _, line in taken)
                        problems.extend(self._spanning(number, text, taken))
                    else:
                        pending[:0] = taken
                        field_name = self._unclosed_field(text)
                        problems.append(
                            Problem(
                                number,
                                field_name,
                                f"line has an unclosed quote in field '{field_name}'; a record cannot span"
                                " lines",
                                text,
                                self._key_of(text),
                            )
                        )
                elif isinstance(parts, str):
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
        except RecursionError:
            return Problem(number, None, f"line is nested deeper than {MAX_DEPTH} levels", text)
        except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
            return Problem(
                number,
                None,
                f"line holds an integer of more than {sys.get_int_max_str_digits():,} digits",
                text,
            )
        if _depth(data) > MAX_DEPTH:
            return Problem(number, None, f"line is nested deeper than {MAX_DEPTH} levels", text)
        if not isinstance(data, dict):
            return Problem(number, None, "line is not a JSON object", text)
        key = data.get("lrn") if isinstance(data.get("lrn"), str) else None
        if isinstance(data.get("items"), list) and len(data["items"]) > MAX_ITEMS:
            # Refused before the items are validated: one line must not cost memory beyond the limit.
            return Problem(number, "items", TOO_MANY_ITEMS, text, key[:64] if key else None)
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
        """Records of ``lines`` in batches of at most ``size`` lines and, past one record's items, ``size``
        goods items or ``MAX_COPIED_BYTES`` of flattened text: a batch of declarations with many items each
        holds no more than one of single items."""
        rows: list[dict[str, str | None]] = []
        batch = RawBatch(records=pl.DataFrame())
        count = weight = 0
        for number, data in lines:
            batch.bytes_read += len(data)
            body = _strip_eol(data)
            text, why = _decode(body, "utf-8") if len(body) <= MAX_LINE_BYTES else (None, None)
            if (long := too_long_line(number, body, "utf-8")) is not None:
                batch.problems.append(long)
            elif text is None:
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
                    weight += flat_size(result)
                    rows.extend(with_line(result, number, text))
            else:
                continue
            count += 1
            if count >= size or len(rows) >= size or weight >= MAX_COPIED_BYTES:
                batch.records = _rows_frame(rows)
                yield batch
                rows, batch, count, weight = [], RawBatch(records=pl.DataFrame()), 0, 0
        if count:
            batch.records = _rows_frame(rows)
            yield batch


def flat_size(rows: list[dict[str, str | None]]) -> int:
    """About how many bytes of text the flattened goods-item rows of one declaration hold (alike but for the
    item fields, so the first row's size times their number); before ``with_line`` adds the raw text."""
    return len(rows) * sum(len(value) for value in rows[0].values() if value) if rows else 0


def with_line(rows: list[dict[str, str | None]], number: int, raw: str) -> Iterator[dict[str, str | None]]:
    """The goods-item rows of one record, each with its ``line``; the record's raw text on the first only.

    A copy of the raw text per goods item made memory grow with the square of the items."""
    line = str(number)
    for index, row in enumerate(rows):
        row["line"] = line
        row["raw"] = raw if index == 0 else None
        yield row


def _depth(data: Any) -> int:
    """How deeply ``data`` (parsed JSON) nests lists and objects, without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend(
                    (child, depth + 1) for child in (value.values() if isinstance(value, dict) else value)
                )
    return deepest


def _rows_frame(rows: Iterable[dict[str, str | None]]) -> pl.DataFrame:
    rows = list(rows)
    if not rows:
        return pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String})
    names = list(rows[0])
    frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String))
    return frame.with_columns(pl.col("line").cast(pl.Int64))
