"""Plate reads at the boundary: CSV and JSON Lines files, or records from HTTP and a pipeline, validated.

A read names its camera, its time (ISO 8601; without an offset it is UTC), the plate text as read and,
optionally, the country (ISO 3166 alpha-2), the OCR confidence in [0, 1], the direction (``in`` or ``out``),
the crossing and lane (default: the camera's) and an image reference. Each record that cannot be accepted is
a ``Rejected`` naming the record, the field and why, with its raw text for the quarantine; the rest go on.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from borderwatch.ingest.schemas import country_codes
from borderwatch.vehicles.plates import PlateError, normalise

FIELDS = (
    "read_id",
    "camera_id",
    "read_at",
    "plate",
    "country",
    "confidence",
    "direction",
    "crossing",
    "lane",
    "image",
)
DIRECTIONS = {
    "in": "in",
    "entry": "in",
    "inbound": "in",
    "i": "in",
    "out": "out",
    "exit": "out",
    "outbound": "out",
    "o": "out",
}
# A camera clock a little ahead of ours is not a future read; more than this is.
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_FIELD = 512


@dataclass(frozen=True, slots=True)
class Camera:
    camera_id: str
    crossing: str
    lane: str | None = None
    direction: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PlateRead:
    """A read accepted: the plate normalised, the text as read, where and when."""

    read_key: str
    camera_id: str
    crossing: str
    lane: str | None
    direction: str | None
    read_at: dt.datetime
    plate: str
    plate_key: str
    country: str | None
    original: str
    confidence: float
    repairs: tuple[str, ...]
    image: str | None
    source_id: str | None


@dataclass(frozen=True, slots=True)
class Rejected:
    record: str
    field: str | None
    reason: str
    raw: str


@dataclass
class ReadBatch:
    source: str
    reads: list[PlateRead] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class _BadError(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _text(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _BadError(name, f"is a {type(value).__name__}, not text")
    text = str(value).strip()
    if "\x00" in text:
        raise _BadError(name, "contains a NUL character (U+0000), which cannot be stored")
    if len(text) > MAX_FIELD:
        raise _BadError(name, f"is longer than {MAX_FIELD} characters")
    return text or None


def _time(value: str | None, now: dt.datetime) -> dt.datetime:
    if value is None:
        raise _BadError("read_at", "is missing")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _BadError("read_at", f"{value!r} is not an ISO 8601 time (2026-12-03T14:05:09Z)") from None
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    if moment > now + CLOCK_SKEW:
        raise _BadError("read_at", f"{value!r} is in the future (now is {now.isoformat(timespec='seconds')})")
    return moment


def _confidence(value: str | None) -> float:
    if value is None:
        return 1.0
    try:
        number = float(value)
    except ValueError:
        raise _BadError("confidence", f"{value!r} is not a number") from None
    if not 0.0 <= number <= 1.0:
        raise _BadError("confidence", f"{value!r} is not between 0 and 1")
    return number


def read_key(camera_id: str, read_at: dt.datetime, original: str) -> str:
    """What identifies a read: camera, time and text as read (the same read sent twice is stored once)."""
    text = f"{camera_id}\x1f{read_at.isoformat()}\x1f{original}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def check_record(record: Mapping[str, Any], *, cameras: Mapping[str, Camera], now: dt.datetime) -> PlateRead:
    """One record as a read; ``_BadError`` naming the field otherwise."""
    camera_id = _text(record, "camera_id")
    if camera_id is None:
        raise _BadError("camera_id", "is missing")
    camera = cameras.get(camera_id)
    if camera is None:
        raise _BadError("camera_id", f"{camera_id!r} is not a known camera (load it with `vehicles cameras`)")
    read_at = _time(_text(record, "read_at"), now)
    original = _text(record, "plate")
    if original is None:
        raise _BadError("plate", "is missing")
    country = _text(record, "country")
    if country is not None:
        country = country.upper()
        if country not in country_codes():
            raise _BadError("country", f"{country!r} is not an ISO 3166 alpha-2 country code")
    try:
        plate = normalise(original, country, confidence=_confidence(_text(record, "confidence")))
    except PlateError as error:
        raise _BadError("plate", f"{original!r} {error}") from None
    direction = _text(record, "direction")
    if direction is not None:
        if direction.lower() not in DIRECTIONS:
            raise _BadError("direction", f"{direction!r} is not in or out")
        direction = DIRECTIONS[direction.lower()]
    return PlateRead(
        read_key=read_key(camera_id, read_at, original),
        camera_id=camera_id,
        crossing=_text(record, "crossing") or camera.crossing,
        lane=_text(record, "lane") or camera.lane,
        direction=direction or camera.direction,
        read_at=read_at,
        plate=plate.plate,
        plate_key=plate.key,
        country=plate.country,
        original=original,
        confidence=plate.confidence,
        repairs=plate.repairs,
        image=_text(record, "image"),
        source_id=_text(record, "read_id"),
    )


def check_records(
    records: Iterable[tuple[str, Mapping[str, Any] | Rejected, str]],
    *,
    source: str,
    cameras: Mapping[str, Camera],
    now: dt.datetime | None = None,
) -> ReadBatch:
    """Records (label, fields or an already rejected record, raw text) checked into reads and rejections."""
    now = now or dt.datetime.now(dt.UTC)
    batch = ReadBatch(source=source)
    for label, record, raw in records:
        if isinstance(record, Rejected):
            batch.rejected.append(record)
            continue
        try:
            batch.reads.append(check_record(record, cameras=cameras, now=now))
        except _BadError as bad:
            batch.rejected.append(Rejected(record=label, field=bad.field, reason=bad.reason, raw=raw))
    return batch


def csv_records(text: str) -> Iterator[tuple[str, Mapping[str, Any] | Rejected, str]]:
    """Rows of a CSV with a header (``camera_id``, ``read_at``, ``plate``, ...) labelled by line number."""
    lines = text.splitlines()
    if not lines:
        return
    header = lines[0]
    names = next(csv.reader([header]))
    missing = [name for name in ("camera_id", "read_at", "plate") if name not in names]
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        label, raw = f"line {number}", f"{header}\n{line}"
        if missing:
            yield label, Rejected(label, missing[0], "is not a column of the file", raw), raw
            continue
        try:
            values = next(csv.reader([line], strict=True))
        except csv.Error as error:
            yield label, Rejected(label, None, f"is not CSV ({error})", raw), raw
            continue
        if len(values) != len(names):
            reason = f"has {len(values)} fields where the header has {len(names)}"
            yield label, Rejected(label, None, reason, raw), raw
            continue
        yield label, dict(zip(names, values, strict=True)), raw


def jsonl_records(text: str) -> Iterator[tuple[str, Mapping[str, Any] | Rejected, str]]:
    """Objects of a JSON Lines text labelled by line number; a line that is not an object is rejected."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label = f"line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            yield (
                label,
                Rejected(label, None, f"is not JSON ({error.msg} at column {error.colno})", line),
                line,
            )
            continue
        if not isinstance(data, dict):
            yield label, Rejected(label, None, f"is a JSON {type(data).__name__}, not an object", line), line
            continue
        yield label, data, line


def mapping_records(
    records: Iterable[Mapping[str, Any]], *, first: int = 1
) -> Iterator[tuple[str, Mapping[str, Any] | Rejected, str]]:
    """Records from HTTP or a pipeline message, labelled by their ``read_id`` or position."""
    for number, record in enumerate(records, start=first):
        raw = json.dumps(record, default=str, ensure_ascii=False)
        if not isinstance(record, Mapping):
            yield f"record {number}", Rejected(f"record {number}", None, "is not an object", raw), raw
            continue
        label = f"read {record.get('read_id')}" if record.get("read_id") else f"record {number}"
        yield label, record, raw
