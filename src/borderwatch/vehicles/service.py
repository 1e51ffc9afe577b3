"""Plate reads into the store, checked against the hotlists as they arrive; cameras, hotlists, alerts, views.

Every function takes the ``agency`` explicitly. ``process_reads`` is the one path a read takes, whether it
comes from a file (``ingest_reads``), the HTTP endpoint or a pipeline worker: validate, store new reads in
bulk (the ingest stage's writer), quarantine the rejected ones once, match each stored read against the
agency's hotlists and store an alert per hit (with its read-to-alert latency) and an audit entry for it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from borderwatch.access import audit
from borderwatch.core.errors import ConfigError, NotFoundError
from borderwatch.entities.network import CARRIED_SCHEMA, OWNER_SCHEMA
from borderwatch.ingest.service import bulk_insert
from borderwatch.scoring.vehicles import VEHICLE_ALERT_SCHEMA
from borderwatch.vehicles.hotlist import DEFAULT_THRESHOLD, HotlistHit, HotlistIndex, Listed
from borderwatch.vehicles.models import (
    CameraRow,
    DeclaredVehicleRow,
    HotlistEntryRow,
    HotlistVersionRow,
    PlateReadRow,
    VehicleAlertRow,
    VehicleOwnerRow,
    VehicleQuarantineRow,
)
from borderwatch.vehicles.patterns import Finding, PatternPolicy, find_patterns
from borderwatch.vehicles.plates import PlateError, normalise
from borderwatch.vehicles.reads import (
    Camera,
    PlateRead,
    ReadBatch,
    Rejected,
    check_records,
    csv_records,
    jsonl_records,
    mapping_records,
)

FORMATS = ("csv", "jsonl")
HOTLISTS = ("national", "partner", "seizure", "sanctions")
HOTLIST, PATTERN = "hotlist", "pattern"
SYSTEM_ACTOR = "system:vehicles"
RECHECK_SECONDS = 1.0  # how stale a cached camera list or hotlist index may be
_IN_CHUNK = 900  # bound values per query: below SQLite's default limit with room to spare
_READS: Table = PlateReadRow.__table__  # type: ignore[assignment]
_ALERTS: Table = VehicleAlertRow.__table__  # type: ignore[assignment]
_VERSIONS: Table = HotlistVersionRow.__table__  # type: ignore[assignment]


@dataclass
class ReadSummary:
    source: str
    reads: int = 0
    duplicates: int = 0
    quarantined: int = 0
    already_quarantined: int = 0
    alerts: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "latencies_ms"}
        if self.latencies_ms:
            data["max_alert_latency_ms"] = round(max(self.latencies_ms), 2)
        return data


# ------------------------------------------------------------------------------------------------ cameras


def load_cameras(*, session: Session, agency: str, path: Path) -> int:
    """Add or update cameras from a CSV: ``camera_id``, ``crossing``, ``lane``, ``direction``, ``latitude``,
    ``longitude``, ``name``; returns how many the file holds."""
    rows = read_cameras_csv(_read_text(path), source=str(path))
    known = {
        row.camera_id: row for row in session.scalars(select(CameraRow).where(CameraRow.agency == agency))
    }
    for camera in rows:
        row = known.get(camera.camera_id) or CameraRow(agency=agency, camera_id=camera.camera_id)
        row.crossing, row.lane, row.direction = camera.crossing, camera.lane, camera.direction
        row.latitude, row.longitude, row.name = camera.latitude, camera.longitude, camera.name
        session.add(row)
    session.flush()
    _CAMERAS.pop((str(session.get_bind().engine.url), agency), None)
    return len(rows)


def _coordinate(value: str, *, limit: float, where: str, name: str, source: str) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(path=source, item=where, field=name, reason=f"{value!r} is not a number") from None
    if not -limit <= number <= limit:
        raise ConfigError(path=source, item=where, field=name, reason=f"{value} is outside ±{limit:g}")
    return number


def read_cameras_csv(text: str, *, source: str) -> list[Camera]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"camera_id", "crossing"} <= set(reader.fieldnames):
        raise ConfigError(path=source, reason="a camera file needs 'camera_id' and 'crossing' columns")
    cameras = []
    for row in reader:
        where = f"line {reader.line_num}"
        camera_id = (row.get("camera_id") or "").strip()
        crossing = (row.get("crossing") or "").strip()
        if not camera_id or not crossing:
            raise ConfigError(
                path=source, item=where, field="camera_id" if not camera_id else "crossing", reason="is empty"
            )
        direction = (row.get("direction") or "").strip().lower() or None
        if direction not in (None, "in", "out"):
            raise ConfigError(
                path=source, item=where, field="direction", reason=f"{direction!r} is not in/out"
            )
        lat = (row.get("latitude") or "").strip()
        lon = (row.get("longitude") or "").strip()
        cameras.append(
            Camera(
                camera_id=camera_id[:64],
                crossing=crossing[:64],
                lane=(row.get("lane") or "").strip()[:32] or None,
                direction=direction,
                latitude=_coordinate(lat, limit=90, where=where, name="latitude", source=source),
                longitude=_coordinate(lon, limit=180, where=where, name="longitude", source=source),
                name=(row.get("name") or "").strip()[:255] or None,
            )
        )
    return cameras


_CAMERAS: dict[tuple[str, str], tuple[dict[str, Camera], float]] = {}


def cameras(*, session: Session, agency: str) -> dict[str, Camera]:
    """The agency's cameras by id (re-read at most every ``RECHECK_SECONDS``; ``load_cameras`` refreshes)."""
    key = (str(session.get_bind().engine.url), agency)
    cached = _CAMERAS.get(key)
    if cached is not None and time.monotonic() - cached[1] < RECHECK_SECONDS:
        return cached[0]
    found = {
        row.camera_id: Camera(
            camera_id=row.camera_id,
            crossing=row.crossing,
            lane=row.lane,
            direction=row.direction,
            latitude=row.latitude,
            longitude=row.longitude,
            name=row.name,
        )
        for row in session.scalars(select(CameraRow).where(CameraRow.agency == agency))
    }
    _CAMERAS[key] = (found, time.monotonic())
    return found


def cameras_frame(*, session: Session, agency: str) -> pl.DataFrame:
    """Cameras as a frame (``camera_id``, ``crossing``, ``latitude``, ``longitude``) for the analytics."""
    found = list(cameras(session=session, agency=agency).values())
    return pl.DataFrame(
        {
            "camera_id": [c.camera_id for c in found],
            "crossing": [c.crossing for c in found],
            "latitude": [c.latitude for c in found],
            "longitude": [c.longitude for c in found],
            "direction": [c.direction for c in found],
        },
        schema={
            "camera_id": pl.String,
            "crossing": pl.String,
            "latitude": pl.Float64,
            "longitude": pl.Float64,
            "direction": pl.String,
        },
    )


# ---------------------------------------------------------------------------------------------- hotlists


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(path=str(path), reason=f"cannot read: {error.strerror}") from error
    except UnicodeDecodeError:
        raise ConfigError(path=str(path), reason="is not UTF-8 text") from None


def read_hotlist_csv(text: str, *, source: str) -> list[dict[str, str | None]]:
    """Hotlist rows (``plate``, ``country``, ``reason``, ``reference``), plates normalised."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "plate" not in reader.fieldnames:
        raise ConfigError(path=source, reason="a hotlist needs a 'plate' column")
    rows: list[dict[str, str | None]] = []
    for row in reader:
        country = (row.get("country") or "").strip().upper() or None
        try:
            plate = normalise(row.get("plate") or "", country)
        except PlateError as error:
            raise ConfigError(
                path=source, item=f"line {reader.line_num}", field="plate", reason=str(error)
            ) from None
        rows.append(
            {
                "plate": plate.plate,
                "country": country,
                "reason": (row.get("reason") or "listed").strip()[:255] or "listed",
                "reference": (row.get("reference") or "").strip()[:255] or None,
            }
        )
    return rows


def load_hotlist(*, session: Session, agency: str, list_name: str, path: Path) -> int:
    """Replace one of the agency's hotlists (national, partner, seizure, sanctions) from a CSV."""
    if list_name not in HOTLISTS:
        raise ConfigError(
            path=str(path), reason=f"unknown hotlist {list_name!r}: one of {', '.join(HOTLISTS)}"
        )
    rows = read_hotlist_csv(_read_text(path), source=str(path))
    return replace_hotlist(session=session, agency=agency, list_name=list_name, rows=rows)


def replace_hotlist(
    *, session: Session, agency: str, list_name: str, rows: Sequence[Mapping[str, str | None]]
) -> int:
    session.query(HotlistEntryRow).filter(
        HotlistEntryRow.agency == agency, HotlistEntryRow.list_name == list_name
    ).delete()
    frame = pl.DataFrame(
        {
            "agency": [agency] * len(rows),
            "list_name": [list_name] * len(rows),
            "plate": [r["plate"] for r in rows],
            "country": [r.get("country") for r in rows],
            "reason": [r.get("reason") or "listed" for r in rows],
            "reference": [r.get("reference") for r in rows],
            "added_at": [dt.datetime.now(dt.UTC)] * len(rows),
        },
        schema_overrides={"country": pl.String, "reference": pl.String},
    )
    bulk_insert(session.connection(), "vehicle_hotlist", storable_times(session, frame))
    _changed(session, agency)
    return len(rows)


def add_to_hotlist(
    *,
    session: Session,
    agency: str,
    list_name: str,
    plate: str,
    country: str | None,
    reason: str,
    reference: str | None = None,
) -> HotlistEntryRow:
    """One plate onto a hotlist (a plate from a closed seizure case, an analyst's entry)."""
    if list_name not in HOTLISTS:
        raise ConfigError(path=list_name, reason=f"unknown hotlist: one of {', '.join(HOTLISTS)}")
    normalised = normalise(plate, country)
    row = HotlistEntryRow(
        agency=agency,
        list_name=list_name,
        plate=normalised.plate,
        country=normalised.country,
        reason=reason[:255],
        reference=(reference or "")[:255] or None,
    )
    session.add(row)
    session.flush()
    _changed(session, agency)
    return row


def remove_from_hotlist(*, session: Session, agency: str, entry_id: int) -> None:
    row = session.get(HotlistEntryRow, entry_id)
    if row is None or row.agency != agency:
        raise NotFoundError(f"no hotlist entry {entry_id}")
    session.delete(row)
    session.flush()
    _changed(session, agency)


def hotlist_entries(*, session: Session, agency: str, limit: int = 500) -> list[HotlistEntryRow]:
    query = (
        select(HotlistEntryRow).where(HotlistEntryRow.agency == agency).order_by(HotlistEntryRow.id.desc())
    )
    return list(session.scalars(query.limit(limit)))


def hotlist_counts(*, session: Session, agency: str) -> dict[str, int]:
    query = (
        select(HotlistEntryRow.list_name, func.count())
        .where(HotlistEntryRow.agency == agency)
        .group_by(HotlistEntryRow.list_name)
    )
    return {name: int(count) for name, count in session.execute(query)}


# This process's built indexes by (database, agency) with the lists' version (``vehicle_hotlist_versions``,
# bumped by every change made through this module) and when it was checked. Public so that a test can stand in
# for another process, which keeps its index when this one changes a list. The version is read at most every
# ``RECHECK_SECONDS``, by primary key (counting 100,000 entries instead cost 9 ms of CPU in the read path);
# edits through this module drop this process's cached index at once.
INDEX_CACHE: dict[tuple[str, str], tuple[int, HotlistIndex, float]] = {}


def _cache_key(session: Session, agency: str) -> tuple[str, str]:
    return (str(session.get_bind().engine.url), agency)


def _changed(session: Session, agency: str) -> None:
    """Bump the agency's hotlist version (in the caller's transaction) and drop this process's index."""
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    table = _VERSIONS
    connection.execute(
        insert(table)
        .values(agency=agency, version=1)
        .on_conflict_do_update(index_elements=["agency"], set_={"version": table.c.version + 1})
    )
    INDEX_CACHE.pop(_cache_key(session, agency), None)


def hotlist_index(*, session: Session, agency: str) -> HotlistIndex:
    """The agency's hotlists as a matching index, rebuilt when an entry was added or removed (seen within
    ``RECHECK_SECONDS`` when another process made the change)."""
    cache_key = _cache_key(session, agency)
    cached = INDEX_CACHE.get(cache_key)
    if cached is not None and time.monotonic() - cached[2] < RECHECK_SECONDS:
        return cached[1]
    version = int(
        session.scalar(select(HotlistVersionRow.version).where(HotlistVersionRow.agency == agency)) or 0
    )
    if cached is not None and cached[0] == version:
        INDEX_CACHE[cache_key] = (version, cached[1], time.monotonic())
        return cached[1]
    rows = session.execute(
        select(
            HotlistEntryRow.id,
            HotlistEntryRow.plate,
            HotlistEntryRow.country,
            HotlistEntryRow.list_name,
            HotlistEntryRow.reason,
            HotlistEntryRow.reference,
        ).where(HotlistEntryRow.agency == agency)
    )
    index = HotlistIndex.build(Listed(*row) for row in rows)
    INDEX_CACHE[cache_key] = (version, index, time.monotonic())
    return index


# -------------------------------------------------------------------------------------------------- reads


def read_file(
    path: Path, *, cameras: Mapping[str, Camera], fmt: str | None = None, now: dt.datetime | None = None
) -> ReadBatch:
    """A CSV or JSON Lines file of reads, checked (not stored)."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as error:
        raise ConfigError(path=str(path), reason=f"cannot read: {error.strerror}") from error
    fmt = fmt or (
        "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") or text.lstrip()[:1] == "{" else "csv"
    )
    if fmt not in FORMATS:
        raise ConfigError(path=str(path), reason=f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    records = jsonl_records(text) if fmt == "jsonl" else csv_records(text)
    return check_records(records, source=path.name, cameras=cameras, now=now)


def storable_times(session: Session, frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps as each database's bulk path reads them (SQLite: SQLAlchemy's text form, in UTC)."""
    columns = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Datetime)]
    if not columns:
        return frame
    if session.get_bind().dialect.name == "postgresql":
        return frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00") for c in columns)
    return frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S%.6f") for c in columns)


def existing_read_keys(session: Session, agency: str, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = list(keys[start : start + _IN_CHUNK])
        found.update(
            session.scalars(
                select(PlateReadRow.read_key).where(
                    PlateReadRow.agency == agency, PlateReadRow.read_key.in_(chunk)
                )
            )
        )
    return found


def plate_reads_frame(reads: Sequence[PlateRead], *, agency: str, source: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "agency": [agency] * len(reads),
            "read_key": [r.read_key for r in reads],
            "camera_id": [r.camera_id[:64] for r in reads],
            "crossing": [r.crossing[:64] for r in reads],
            "lane": [(r.lane or "")[:32] or None for r in reads],
            "direction": [r.direction for r in reads],
            "read_at": [r.read_at for r in reads],
            "plate": [r.plate for r in reads],
            "plate_key": [r.plate_key for r in reads],
            "country": [r.country for r in reads],
            "original": [r.original for r in reads],
            "confidence": [r.confidence for r in reads],
            "repairs": [" ".join(r.repairs) or None for r in reads],
            "image": [r.image for r in reads],
            "source_id": [r.source_id for r in reads],
            "source": [source[:255]] * len(reads),
        },
        schema_overrides={
            "lane": pl.String,
            "direction": pl.String,
            "country": pl.String,
            "repairs": pl.String,
            "image": pl.String,
            "source_id": pl.String,
            "read_at": pl.Datetime("us", "UTC"),
        },
    )


def _quarantine(
    session: Session, *, agency: str, source: str, rejected: Sequence[Rejected], summary: ReadSummary
) -> None:
    if not rejected:
        return
    keyed = {
        hashlib.sha256(f"{agency}\x1f{source}\x1f{r.record}\x1f{r.raw}".encode()).hexdigest(): r
        for r in rejected
    }
    known: set[str] = set()
    digests = list(keyed)
    for start in range(0, len(digests), _IN_CHUNK):
        known.update(
            session.scalars(
                select(VehicleQuarantineRow.raw_hash).where(
                    VehicleQuarantineRow.raw_hash.in_(digests[start : start + _IN_CHUNK])
                )
            )
        )
    fresh = [(digest, r) for digest, r in keyed.items() if digest not in known]
    summary.already_quarantined += len(rejected) - len(fresh)
    summary.quarantined += len(fresh)
    summary.problems.extend(f"{r.record}, {r.field or 'record'}: {r.reason}" for _, r in fresh[:20])
    frame = pl.DataFrame(
        {
            "agency": [agency] * len(fresh),
            "source_file": [source[:1024]] * len(fresh),
            "record": [r.record[:255] for _, r in fresh],
            "field": [(r.field or "")[:128] or None for _, r in fresh],
            "reason": [r.reason.replace("\x00", "\ufffd") for _, r in fresh],
            "raw": [r.raw.replace("\x00", "\ufffd") for _, r in fresh],
            "status": ["open"] * len(fresh),
            "raw_hash": [digest for digest, _ in fresh],
        },
        schema_overrides={"field": pl.String},
    )
    bulk_insert(session.connection(), "vehicle_quarantine", frame)


def alert_fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def _insert_new(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: tuple[str, ...],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    """Insert ``rows``, skipping any whose ``unique`` columns are stored already; the ``returning`` columns of
    the rows inserted. One statement per few hundred rows (SQLAlchemy's insertmanyvalues), so a stream batch
    costs one round trip instead of a look-up of the keys, an insert and a read-back of the ids; and two
    workers storing the same read do not collide on the unique index."""
    if not rows:
        return []
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(*(table.c[name] for name in returning))
    )
    return [tuple(row) for row in connection.execute(statement, list(rows))]


def _read_row(read: PlateRead, *, agency: str, source: str) -> dict[str, Any]:
    return {
        "agency": agency,
        "read_key": read.read_key,
        "camera_id": read.camera_id[:64],
        "crossing": read.crossing[:64],
        "lane": (read.lane or "")[:32] or None,
        "direction": read.direction,
        "read_at": read.read_at.astimezone(dt.UTC),
        "plate": read.plate,
        "plate_key": read.plate_key,
        "country": read.country,
        "original": read.original,
        "confidence": read.confidence,
        "repairs": " ".join(read.repairs) or None,
        "image": read.image,
        "source_id": read.source_id,
        "source": source[:255],
    }


def _hotlist_alerts(
    session: Session,
    *,
    agency: str,
    source: str,
    hits: Sequence[tuple[PlateRead, HotlistHit]],
    ids: Mapping[str, int] | None,
    received: float,
    summary: ReadSummary,
) -> None:
    """Store an alert per hotlist hit in one statement, and audit the batch: one entry per plate alerted,
    naming the alerts and the reads that raised them (who saw what stays answerable by plate; see
    docs/decisions/vehicles-0001-hotlist-stream.md)."""
    if not hits:
        return
    connection = session.connection()
    if ids is None:
        keys = list({read.read_key for read, _ in hits})
        ids = {}
        for start in range(0, len(keys), _IN_CHUNK):
            query = select(PlateReadRow.read_key, PlateReadRow.id).where(
                PlateReadRow.agency == agency, PlateReadRow.read_key.in_(keys[start : start + _IN_CHUNK])
            )
            ids.update((str(key), int(id_)) for key, id_ in session.execute(query).all())
    rows = []
    for read, hit in hits:
        latency = (time.perf_counter() - received) * 1000
        evidence = hit.evidence(read_plate=read.plate, read_country=read.country)
        evidence |= {
            "camera_id": read.camera_id,
            "crossing": read.crossing,
            "read_at": read.read_at.isoformat(),
            "original": read.original,
        }
        rows.append(
            {
                "agency": agency,
                "plate": read.plate,
                "country": read.country,
                "read_id": ids.get(read.read_key),
                "code": f"hotlist_{hit.entry.list_name}",
                "family": HOTLIST,
                "points": hit.score,
                "evidence": evidence,
                "fingerprint": alert_fingerprint("hotlist", read.read_key, hit.entry.entry_id),
                "status": "open",
                "latency_ms": round(latency, 3),
            }
        )
        summary.latencies_ms.append(latency)
    stored = dict(
        _insert_new(
            connection, _ALERTS, rows, unique=("agency", "fingerprint"), returning=("fingerprint", "id")
        )
    )
    by_plate: dict[str, list[dict[str, Any]]] = {}
    for row, (read, hit) in zip(rows, hits, strict=True):
        if row["fingerprint"] not in stored:
            continue  # raised before (the same read sent twice)
        by_plate.setdefault(read.plate, []).append(
            {
                "alert_id": stored[row["fingerprint"]],
                "read_id": row["read_id"],
                "code": row["code"],
                "score": hit.score,
                "camera": read.camera_id,
            }
        )
        summary.alerts += 1
    for plate, alerts in by_plate.items():
        audit.record(
            db_session=session,
            actor=SYSTEM_ACTOR,
            agency=agency,
            action="alert",
            resource="vehicle",
            resource_id=plate,
            detail={"source": source[:255], "alerts": alerts},
        )


# A batch up to this many reads is stored with INSERT ... ON CONFLICT DO NOTHING RETURNING (a stream's or the
# HTTP endpoint's batch: one round trip); a larger one (a file) by the ingest stage's bulk writer (COPY on
# PostgreSQL), after a look-up of the keys already stored.
STREAM_READS = 2_000


def store_batch(
    *,
    session: Session,
    agency: str,
    batch: ReadBatch,
    threshold: float = DEFAULT_THRESHOLD,
    received: float | None = None,
) -> ReadSummary:
    """Store a checked batch: new reads (a read stored before is skipped), rejections in quarantine once,
    hotlist hits as alerts, audited per plate alerted."""
    received = time.perf_counter() if received is None else received
    summary = ReadSummary(source=batch.source)
    unique = list({read.read_key: read for read in batch.reads}.values())
    ids: dict[str, int] | None = None
    if len(unique) <= STREAM_READS:
        rows = [_read_row(read, agency=agency, source=batch.source) for read in unique]
        ids = dict(
            _insert_new(
                session.connection(),
                _READS,
                rows,
                unique=("agency", "read_key"),
                returning=("read_key", "id"),
            )
        )
        fresh = [read for read in unique if read.read_key in ids]
    else:
        existing = existing_read_keys(session, agency, [r.read_key for r in unique])
        fresh = [read for read in unique if read.read_key not in existing]
        frame = plate_reads_frame(fresh, agency=agency, source=batch.source)
        bulk_insert(session.connection(), "plate_reads", storable_times(session, frame))
    summary.duplicates = len(batch.reads) - len(fresh)
    summary.reads = len(fresh)
    _quarantine(session, agency=agency, source=batch.source, rejected=batch.rejected, summary=summary)
    index = hotlist_index(session=session, agency=agency)
    if index.size:
        hits = [
            (read, hit)
            for read in fresh
            for hit in index.match(read.plate, read.country, threshold=threshold)
        ]
        _hotlist_alerts(
            session,
            agency=agency,
            source=batch.source,
            hits=hits,
            ids=ids,
            received=received,
            summary=summary,
        )
    return summary


def process_reads(
    *,
    session: Session,
    agency: str,
    records: Iterable[Mapping[str, Any]],
    source: str,
    now: dt.datetime | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> ReadSummary:
    """Reads as a pipeline worker or the HTTP endpoint receives them (dicts with the file's field names):
    checked, stored, matched against the hotlists, alerts raised. The caller commits the session."""
    received = time.perf_counter()
    known = cameras(session=session, agency=agency)
    batch = check_records(mapping_records(records), source=source, cameras=known, now=now)
    return store_batch(session=session, agency=agency, batch=batch, threshold=threshold, received=received)


def ingest_reads(
    *,
    session: Session,
    agency: str,
    path: Path,
    fmt: str | None = None,
    now: dt.datetime | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> ReadSummary:
    """Read, check and store a file of reads (CSV or JSON Lines)."""
    received = time.perf_counter()
    batch = read_file(path, cameras=cameras(session=session, agency=agency), fmt=fmt, now=now)
    return store_batch(session=session, agency=agency, batch=batch, threshold=threshold, received=received)


def list_quarantine(
    *, session: Session, agency: str, status: str | None = "open"
) -> list[VehicleQuarantineRow]:
    query = select(VehicleQuarantineRow).where(VehicleQuarantineRow.agency == agency)
    if status is not None:
        query = query.where(VehicleQuarantineRow.status == status)
    return list(session.scalars(query.order_by(VehicleQuarantineRow.id)))


# ------------------------------------------------------------------------------------------------- alerts


def list_alerts(
    *, session: Session, agency: str, status: str | None = "open", plate: str | None = None, limit: int = 200
) -> list[VehicleAlertRow]:
    query = select(VehicleAlertRow).where(VehicleAlertRow.agency == agency)
    if status is not None:
        query = query.where(VehicleAlertRow.status == status)
    if plate is not None:
        query = query.where(VehicleAlertRow.plate == plate)
    return list(session.scalars(query.order_by(VehicleAlertRow.id.desc()).limit(limit)))


def set_alert_status(*, session: Session, agency: str, alert_id: int, status: str) -> VehicleAlertRow:
    if status not in ("open", "confirmed", "dismissed"):
        raise ConfigError(path="alert", reason=f"unknown status {status!r}: open, confirmed or dismissed")
    row = session.get(VehicleAlertRow, alert_id)
    if row is None or row.agency != agency:
        raise NotFoundError(f"no vehicle alert {alert_id}")
    row.status = status
    session.flush()
    return row


def summary_json(summary: ReadSummary) -> str:
    return json.dumps(summary.as_dict(), indent=2)


# ------------------------------------------------------------------------------ declared vehicles, patterns


def read_declared_vehicles_csv(text: str, *, source: str) -> pl.DataFrame:
    """Declared means of transport: ``lrn``, ``plate``, ``country``, ``crossing``, ``declared_at`` (ISO)."""
    reader = csv.DictReader(io.StringIO(text))
    needed = {"lrn", "plate", "crossing", "declared_at"}
    if not reader.fieldnames or not needed <= set(reader.fieldnames):
        raise ConfigError(
            path=source, reason=f"a declared-vehicles file needs columns {', '.join(sorted(needed))}"
        )
    rows = []
    for row in reader:
        where = f"line {reader.line_num}"
        country = (row.get("country") or "").strip().upper() or None
        try:
            plate = normalise(row.get("plate") or "", country).plate
        except PlateError as error:
            raise ConfigError(path=source, item=where, field="plate", reason=str(error)) from None
        try:
            at = dt.datetime.fromisoformat((row.get("declared_at") or "").strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                path=source, item=where, field="declared_at", reason="is not an ISO 8601 time"
            ) from None
        at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
        rows.append(
            (
                (row.get("lrn") or "").strip()[:64],
                plate,
                country,
                (row.get("crossing") or "").strip()[:64],
                at,
            )
        )
    return pl.DataFrame(rows, schema=DECLARED_SCHEMA, orient="row")


DECLARED_SCHEMA: dict[str, pl.DataType] = {
    "lrn": pl.String(),
    "plate": pl.String(),
    "country": pl.String(),
    "crossing": pl.String(),
    "declared_at": pl.Datetime("us", "UTC"),
}


def load_declared_vehicles(*, session: Session, agency: str, path: Path) -> int:
    """Add the vehicles declarations name (a declaration named again replaces its vehicle)."""
    frame = read_declared_vehicles_csv(_read_text(path), source=str(path)).unique("lrn", keep="last")
    lrns = frame["lrn"].to_list()
    for start in range(0, len(lrns), _IN_CHUNK):
        session.query(DeclaredVehicleRow).filter(
            DeclaredVehicleRow.agency == agency, DeclaredVehicleRow.lrn.in_(lrns[start : start + _IN_CHUNK])
        ).delete(synchronize_session=False)
    rows = frame.with_columns(pl.lit(agency).alias("agency"))
    bulk_insert(session.connection(), "vehicle_declarations", storable_times(session, rows))
    return frame.height


def read_owners_csv(text: str, *, source: str) -> list[dict[str, Any]]:
    """Registered owners: ``plate``, ``country``, ``owner_id`` (the trader id when the owner is a trader),
    ``owner_name``, ``sanctioned`` (yes/no, true/false, 1/0); plates normalised."""
    reader = csv.DictReader(io.StringIO(text))
    needed = {"plate", "owner_name"}
    if not reader.fieldnames or not needed <= set(reader.fieldnames):
        raise ConfigError(path=source, reason="an owners file needs columns owner_name, plate")
    rows = []
    for row in reader:
        where = f"line {reader.line_num}"
        country = (row.get("country") or "").strip().upper() or None
        try:
            plate = normalise(row.get("plate") or "", country).plate
        except PlateError as error:
            raise ConfigError(path=source, item=where, field="plate", reason=str(error)) from None
        name = (row.get("owner_name") or "").strip()[:255]
        if not name:
            raise ConfigError(path=source, item=where, field="owner_name", reason="is empty")
        flag = (row.get("sanctioned") or "").strip().lower()
        if flag not in ("", "0", "1", "no", "yes", "false", "true"):
            raise ConfigError(path=source, item=where, field="sanctioned", reason=f"{flag!r} is not yes/no")
        rows.append(
            {
                "plate": plate,
                "country": country,
                "owner_id": (row.get("owner_id") or "").strip()[:64] or None,
                "owner_name": name,
                "sanctioned": flag in ("1", "yes", "true"),
            }
        )
    return rows


def load_owners(*, session: Session, agency: str, path: Path) -> int:
    """Registered owners of vehicles from a CSV; a plate named in the file has its owners replaced."""
    rows = read_owners_csv(_read_text(path), source=str(path))
    plates = sorted({row["plate"] for row in rows})
    for start in range(0, len(plates), _IN_CHUNK):
        session.query(VehicleOwnerRow).filter(
            VehicleOwnerRow.agency == agency, VehicleOwnerRow.plate.in_(plates[start : start + _IN_CHUNK])
        ).delete(synchronize_session=False)
    session.add_all(VehicleOwnerRow(agency=agency, **row) for row in rows)
    session.flush()
    return len(rows)


def network_links(*, session: Session, agency: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The agency's vehicles for the trader network (``entities.network.add_vehicles``): the vehicle each
    declaration names (``CARRIED_SCHEMA``) and the vehicles' registered owners (``OWNER_SCHEMA``)."""
    carried = session.execute(
        select(DeclaredVehicleRow.plate, DeclaredVehicleRow.lrn).where(DeclaredVehicleRow.agency == agency)
    ).all()
    owners = session.execute(
        select(
            VehicleOwnerRow.plate,
            VehicleOwnerRow.owner_id,
            VehicleOwnerRow.owner_name,
            VehicleOwnerRow.sanctioned,
        ).where(VehicleOwnerRow.agency == agency)
    ).all()
    return (
        pl.DataFrame(carried, schema=CARRIED_SCHEMA, orient="row"),
        pl.DataFrame(owners, schema=OWNER_SCHEMA, orient="row"),
    )


def open_alerts_by_plate(*, session: Session, agency: str, plates: Sequence[str]) -> dict[str, int]:
    """How many open alerts each of ``plates`` has (plates without any are left out)."""
    found: dict[str, int] = {}
    unique = sorted(set(plates))
    for start in range(0, len(unique), _IN_CHUNK):
        query = (
            select(VehicleAlertRow.plate, func.count())
            .where(
                VehicleAlertRow.agency == agency,
                VehicleAlertRow.status == "open",
                VehicleAlertRow.plate.in_(unique[start : start + _IN_CHUNK]),
            )
            .group_by(VehicleAlertRow.plate)
        )
        found.update((str(plate), int(count)) for plate, count in session.execute(query).all())
    return found


def reads_frame(
    *, session: Session, agency: str, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> pl.DataFrame:
    """Stored reads (plate, camera_id, read_at, country, confidence) of a period, for the detectors."""
    query = select(
        PlateReadRow.plate,
        PlateReadRow.camera_id,
        PlateReadRow.read_at,
        PlateReadRow.country,
        PlateReadRow.confidence,
    ).where(PlateReadRow.agency == agency)
    if since is not None:
        query = query.where(PlateReadRow.read_at >= since)
    if until is not None:
        query = query.where(PlateReadRow.read_at < until)
    rows = session.execute(query).all()
    frame = pl.DataFrame(
        rows,
        schema={
            "plate": pl.String,
            "camera_id": pl.String,
            "read_at": pl.Datetime("us"),
            "country": pl.String,
            "confidence": pl.Float64,
        },
        orient="row",
    )
    return frame.with_columns(_as_utc("read_at"))


def _as_utc(column: str) -> pl.Expr:
    # SQLite gives naive UTC timestamps, PostgreSQL aware ones: both end as UTC.
    return pl.col(column).dt.replace_time_zone(None).dt.replace_time_zone("UTC")


def declared_frame(*, session: Session, agency: str) -> pl.DataFrame:
    rows = session.execute(
        select(
            DeclaredVehicleRow.lrn,
            DeclaredVehicleRow.plate,
            DeclaredVehicleRow.country,
            DeclaredVehicleRow.crossing,
            DeclaredVehicleRow.declared_at,
        ).where(DeclaredVehicleRow.agency == agency)
    ).all()
    schema: dict[str, pl.DataType] = {**DECLARED_SCHEMA, "declared_at": pl.Datetime("us")}
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(_as_utc("declared_at"))


def store_findings(*, session: Session, agency: str, findings: Sequence[Finding]) -> int:
    """Pattern findings as alerts, one per plate concerned; a finding stored before is not stored again."""
    fresh: dict[str, VehicleAlertRow] = {}
    for finding in findings:
        for plate in finding.plates:
            partners = [p for p in finding.plates if p != plate]
            evidence = {**finding.evidence, **({"with": partners} if partners else {})}
            if finding.lrn:
                evidence["lrn"] = finding.lrn
            fingerprint = alert_fingerprint(
                finding.code, plate, json.dumps(evidence, sort_keys=True, default=str)
            )
            fresh[fingerprint] = VehicleAlertRow(
                agency=agency,
                plate=plate,
                country=None,
                read_id=None,
                code=finding.code,
                family=PATTERN,
                points=finding.points,
                evidence=evidence,
                fingerprint=fingerprint,
                status="open",
            )
    keys = list(fresh)
    known: set[str] = set()
    for start in range(0, len(keys), _IN_CHUNK):
        known.update(
            session.scalars(
                select(VehicleAlertRow.fingerprint).where(
                    VehicleAlertRow.agency == agency,
                    VehicleAlertRow.fingerprint.in_(keys[start : start + _IN_CHUNK]),
                )
            )
        )
    new = [row for key, row in fresh.items() if key not in known]
    session.add_all(new)
    session.flush()
    return len(new)


@dataclass
class AnalysisSummary:
    reads: int
    findings: dict[str, int]
    stored: int
    seconds: float


def analyse(
    *,
    session: Session,
    agency: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    policy: PatternPolicy | None = None,
) -> AnalysisSummary:
    """Run every pattern detector over the agency's reads of a period; store new findings as alerts."""
    started = time.perf_counter()
    reads = reads_frame(session=session, agency=agency, since=since, until=until)
    cameras = cameras_frame(session=session, agency=agency)
    findings = find_patterns(reads, cameras, declared_frame(session=session, agency=agency), policy)
    stored = store_findings(session=session, agency=agency, findings=findings)
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.code] = counts.get(finding.code, 0) + 1
    return AnalysisSummary(
        reads=reads.height, findings=counts, stored=stored, seconds=time.perf_counter() - started
    )


# ------------------------------------------------------------------------------------------- workspace views


@dataclass
class CameraPoint:
    camera_id: str
    crossing: str
    latitude: float | None
    longitude: float | None
    reads: int
    x: float = 0.0  # position on the page's map, 0-100
    y: float = 0.0


@dataclass
class VehicleView:
    plate: str
    agency: str
    reads: list[PlateReadRow]
    total_reads: int
    alerts: list[VehicleAlertRow]
    declarations: list[DeclaredVehicleRow]
    owners: list[VehicleOwnerRow]
    listed: list[HotlistEntryRow]
    map: list[CameraPoint]


def _map(points: list[CameraPoint]) -> list[CameraPoint]:
    located = [p for p in points if p.latitude is not None and p.longitude is not None]
    if not located:
        return points
    lats = [float(p.latitude or 0) for p in located]
    lons = [float(p.longitude or 0) for p in located]
    lat_span, lon_span = max(max(lats) - min(lats), 1e-6), max(max(lons) - min(lons), 1e-6)
    for point in located:
        point.x = round(5 + 90 * (float(point.longitude or 0) - min(lons)) / lon_span, 2)
        point.y = round(95 - 90 * (float(point.latitude or 0) - min(lats)) / lat_span, 2)
    return points


def vehicle_view(*, session: Session, agency: str, plate: str, limit: int = 200) -> VehicleView:
    """A vehicle's page: its newest reads, alerts, declarations naming it, owners, hotlist entries and where
    it was seen (every camera of the agency, with this vehicle's read count)."""
    plate = normalise(plate).plate
    base = select(PlateReadRow).where(PlateReadRow.agency == agency, PlateReadRow.plate == plate)
    reads = list(session.scalars(base.order_by(PlateReadRow.read_at.desc()).limit(limit)))
    total = int(
        session.scalar(select(func.count()).where(PlateReadRow.agency == agency, PlateReadRow.plate == plate))
        or 0
    )
    if not total and not session.scalar(
        select(func.count()).where(VehicleAlertRow.agency == agency, VehicleAlertRow.plate == plate)
    ):
        raise NotFoundError(f"no reads or alerts for plate {plate}")
    counts = dict(
        session.execute(
            select(PlateReadRow.camera_id, func.count())
            .where(PlateReadRow.agency == agency, PlateReadRow.plate == plate)
            .group_by(PlateReadRow.camera_id)
        ).all()
    )
    points = [
        CameraPoint(c.camera_id, c.crossing, c.latitude, c.longitude, int(counts.get(c.camera_id, 0)))
        for c in cameras(session=session, agency=agency).values()
    ]
    return VehicleView(
        plate=plate,
        agency=agency,
        reads=reads,
        total_reads=total,
        alerts=list_alerts(session=session, agency=agency, status=None, plate=plate),
        declarations=list(
            session.scalars(
                select(DeclaredVehicleRow)
                .where(DeclaredVehicleRow.agency == agency, DeclaredVehicleRow.plate == plate)
                .order_by(DeclaredVehicleRow.declared_at.desc())
                .limit(limit)
            )
        ),
        owners=list(
            session.scalars(
                select(VehicleOwnerRow).where(
                    VehicleOwnerRow.agency == agency, VehicleOwnerRow.plate == plate
                )
            )
        ),
        listed=list(
            session.scalars(
                select(HotlistEntryRow).where(
                    HotlistEntryRow.agency == agency, HotlistEntryRow.plate == plate
                )
            )
        ),
        map=_map(points),
    )


def alert_counts(*, session: Session, agency: str) -> dict[str, int]:
    """Open alerts by code."""
    query = (
        select(VehicleAlertRow.code, func.count())
        .where(VehicleAlertRow.agency == agency, VehicleAlertRow.status == "open")
        .group_by(VehicleAlertRow.code)
    )
    return {code: int(count) for code, count in session.execute(query)}


def declaration_reasons(
    *, session: Session, agency: str, lrns: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The open alerts of the vehicles these declarations name, as scoring-style reasons per LRN (code,
    family ``vehicle``, points, evidence with the plate and alert id), for targeting to add to a score."""
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(lrns), _IN_CHUNK):
        query = (
            select(DeclaredVehicleRow.lrn, VehicleAlertRow)
            .join(
                VehicleAlertRow,
                (VehicleAlertRow.agency == DeclaredVehicleRow.agency)
                & (VehicleAlertRow.plate == DeclaredVehicleRow.plate),
            )
            .where(
                DeclaredVehicleRow.agency == agency,
                DeclaredVehicleRow.lrn.in_(list(lrns[start : start + _IN_CHUNK])),
                VehicleAlertRow.status != "dismissed",
            )
            .order_by(DeclaredVehicleRow.lrn, VehicleAlertRow.points.desc())
        )
        for lrn, alert in session.execute(query):
            found.setdefault(lrn, []).append(
                {
                    "code": f"vehicle_{alert.code}",
                    "family": "vehicle",
                    "points": alert.points,
                    "evidence": {"plate": alert.plate, "alert_id": alert.id, **alert.evidence},
                }
            )
    return found


class VehicleAlertCheck:
    """:func:`declaration_reasons` as a ``scoring.vehicles.VehicleCheck``: the open alerts of the vehicles
    the declarations name, for the selection flow to add as points, reasons and risk-profile fields."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, lrns: Sequence[str], *, agency: str) -> pl.DataFrame:
        with Session(self.engine) as session:
            found = declaration_reasons(session=session, agency=agency, lrns=lrns)
        rows = [
            {
                "lrn": lrn,
                "alert_id": reason["evidence"]["alert_id"],
                "code": reason["code"].removeprefix("vehicle_"),
                "plate": reason["evidence"]["plate"],
                "points": float(reason["points"]),
            }
            for lrn, reasons in found.items()
            for reason in reasons
        ]
        return pl.DataFrame(rows, schema=VEHICLE_ALERT_SCHEMA)
