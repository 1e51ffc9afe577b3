"""An EDIFACT file → the same raw batches as the other readers: declarations flattened to record fields,
manifest lines beside them, and every faulty message or envelope segment a problem, never a crash.

A record's ``line`` is the position of its message's ``UNH`` in the interchange (``UNA`` counts as 1), the
place the quarantine shows; its raw text is the message itself after its ``UNA`` and ``UNB``, so a corrected
message is re-read on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from borderwatch.ingest.edifact.cusdec import read_cusdec
from borderwatch.ingest.edifact.manifest import MANIFEST_TYPES, read_manifest
from borderwatch.ingest.edifact.syntax import EdifactError, Fault, Message, read_messages, sniff
from borderwatch.ingest.readers import (
    Problem,
    RawBatch,
    SourceError,
    _rows_frame,
    flat_size,
    flatten,
    with_line,
)
from borderwatch.ingest.schemas import MAX_COPIED_BYTES

DECLARATION_TYPES = frozenset({"CUSDEC"})
READ_TYPES = DECLARATION_TYPES | MANIFEST_TYPES
SNIFF_BYTES = 4096


def is_edifact(path: Path) -> bool:
    """Whether ``path`` starts an EDIFACT interchange (by content, whatever its name)."""
    try:
        with path.open("rb") as handle:
            return sniff(handle.read(SNIFF_BYTES))
    except OSError:
        return False


def _problem(error: EdifactError, line: int, raw: str, key: str | None) -> Problem:
    return Problem(line, error.where(), str(error), raw, key[:64] if key else None)


class EdifactReader:
    """CUSDEC, CUSCAR and IFTMCS messages of one file, streamed a message at a time."""

    def __init__(self, *, source: str) -> None:
        self.source = source

    @classmethod
    def open(cls, path: Path) -> EdifactReader:
        if not path.is_file():
            raise SourceError(source=str(path), reason="does not exist or is not a file")
        if not is_edifact(path):
            raise SourceError(
                source=str(path), reason="is not an EDIFACT interchange (no UNA or UNB at its start)"
            )
        return cls(source=str(path))

    def labels(self) -> dict[str, str]:
        return {}

    def batches(self, path: Path, *, size: int) -> Iterator[RawBatch]:
        """Records of ``path`` in batches of at most ``size`` messages (and ``size`` goods items or
        ``MAX_COPIED_BYTES`` of flattened text past one declaration)."""
        with path.open("rb") as handle:
            yield from self.read(read_messages(handle), size=size, tell=handle.tell)

    def read(self, items: Iterator[Message | Fault], *, size: int, tell: object = None) -> Iterator[RawBatch]:
        rows: list[dict[str, str | None]] = []
        batch = RawBatch(records=_rows_frame([]))
        count = weight = 0
        last = 0
        for item in items:
            count += 1
            if isinstance(item, Fault):
                batch.problems.append(_problem(item.error, item.position, item.text, None))
            else:
                flat = self._message(item, batch)
                if flat:
                    weight += flat_size(flat)
                    rows.extend(with_line(flat, item.position, item.text()))
            if count >= size or len(rows) >= size or weight >= MAX_COPIED_BYTES:
                batch.records = _rows_frame(rows)
                if callable(tell):
                    position = int(tell())
                    batch.bytes_read, last = position - last, position
                yield batch
                rows, batch, count, weight = [], RawBatch(records=_rows_frame([])), 0, 0
        if count:
            batch.records = _rows_frame(rows)
            if callable(tell):
                batch.bytes_read = int(tell()) - last
            yield batch

    def _message(self, message: Message, batch: RawBatch) -> list[dict[str, str | None]]:
        """The flattened rows of a declaration message; a manifest's lines go to ``batch.manifest``."""
        key = _key_of(message)
        if message.error is not None:
            batch.problems.append(_problem(message.error, message.position, message.text(), key))
            return []
        if message.message_type not in READ_TYPES:
            error = message.fail(
                message.segments[0],
                f"{message.message_type or 'a message'} is not a message type borderwatch ingest reads"
                f" ({', '.join(sorted(READ_TYPES))}); PAXLST goes to `borderwatch travellers`",
                2,
                1,
            )
            batch.problems.append(_problem(error, message.position, message.text(), key))
            return []
        try:
            if message.message_type in MANIFEST_TYPES:
                batch.manifest.extend((message.position, line) for line in read_manifest(message))
                return []
            return flatten(read_cusdec(message))
        except EdifactError as error:
            batch.problems.append(_problem(error, message.position, message.text(), key))
            return []


def _key_of(message: Message) -> str | None:
    """``BGM``'s document number (a declaration's LRN, a manifest's number), else the message reference."""
    for segment in message.segments[1:4]:
        if segment.tag == "BGM" and segment.value(2):
            return segment.value(2)
    return message.reference or None
