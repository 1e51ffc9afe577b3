"""Traveller lists into the store: read (PAXLST, CSV, JSON Lines), store, quarantine; the lost/stolen list.

Every function takes the ``agency`` explicitly. A list is one transaction: its movements are found or created
by their key, each traveller is stored once per movement (a list sent again adds nobody twice), rejected
people and messages go to ``traveller_quarantine`` once (keyed by a hash of source and raw text).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from borderwatch.core.errors import ConfigError, IngestError, NotFoundError
from borderwatch.travellers.checks import document_key
from borderwatch.travellers.edifact import EdifactError
from borderwatch.travellers.models import (
    LostStolenDocumentRow,
    MovementRow,
    TravelDocumentRow,
    TravellerAssessmentRow,
    TravellerCheckRow,
    TravellerQuarantineRow,
    TravellerRow,
)
from borderwatch.travellers.paxlst import read_paxlst
from borderwatch.travellers.records import (
    Movement,
    Rejected,
    TravelDocument,
    Traveller,
    TravellerList,
    country3,
)
from borderwatch.travellers.risk import Assessment, TraderContact, TravellerPolicy, assess_movement
from borderwatch.travellers.tabular import read_travellers_csv, read_travellers_jsonl

FORMATS = ("paxlst", "csv", "jsonl")


@dataclass
class TravellerIngestSummary:
    source: str
    movements: int = 0
    travellers: int = 0
    documents: int = 0
    duplicates: int = 0
    quarantined: int = 0
    already_quarantined: int = 0
    issues: list[str] = field(default_factory=list)
    traveller_ids: list[int] = field(default_factory=list)


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    head = text[:4096]
    if "UNA" in head or "UNB" in head:
        return "paxlst"
    if head.lstrip().startswith("{"):
        return "jsonl"
    return "csv"


def read_list(path: Path, *, fmt: str | None = None) -> TravellerList:
    """A traveller list file, read (not stored). ``EdifactError`` for an interchange that cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(path=str(path), reason=f"cannot read: {error.strerror}") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # EDIFACT UNOA/UNOB/UNOC travel as ISO 8859-1
    fmt = fmt or detect_format(path, text)
    if fmt == "paxlst":
        return read_paxlst(text, source=path.name)
    if fmt == "csv":
        return read_travellers_csv(text, source=path.name)
    if fmt == "jsonl":
        return read_travellers_jsonl(text, source=path.name)
    raise ConfigError(path=str(path), reason=f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def content_hash(traveller: Traveller) -> str:
    """What identifies a traveller on a movement: name, birth date, role and documents."""
    parts = [
        traveller.surname,
        traveller.given_names,
        str(traveller.birth_date or ""),
        traveller.role,
        *sorted(f"{d.code}:{d.number}:{d.issuing_state or ''}" for d in traveller.documents),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _movement_row(session: Session, movement: Movement, *, agency: str, source: str) -> MovementRow:
    row = session.scalars(
        select(MovementRow).where(MovementRow.agency == agency, MovementRow.key == movement.key)
    ).one_or_none()
    if row is None:
        row = MovementRow(
            agency=agency,
            key=movement.key,
            kind=movement.kind,
            number=movement.number,
            carrier=movement.carrier,
            departure_place=movement.departure_place,
            departure_at=movement.departure_at,
            arrival_place=movement.arrival_place,
            arrival_at=movement.arrival_at,
            reporting_party=movement.reporting_party,
            source=source[:255],
        )
        session.add(row)
        session.flush()
    return row


def store_list(session: Session, listing: TravellerList, *, agency: str) -> TravellerIngestSummary:
    """Store what a reader produced; returns the counts, the quarantine and the envelope issues."""
    summary = TravellerIngestSummary(source=listing.source, issues=list(listing.issues))
    for movement, travellers in listing.movements:
        row = _movement_row(session, movement, agency=agency, source=listing.source)
        summary.movements += 1
        hashes = {content_hash(t): t for t in travellers}
        known = set(
            session.scalars(
                select(TravellerRow.content_hash).where(
                    TravellerRow.movement_id == row.id, TravellerRow.content_hash.in_(list(hashes))
                )
            )
        )
        for digest, traveller in hashes.items():
            if digest in known:
                summary.duplicates += 1
                continue
            person = TravellerRow(
                agency=agency,
                movement_id=row.id,
                source_key=traveller.key[:128],
                content_hash=digest,
                role=traveller.role,
                surname=traveller.surname[:128],
                given_names=traveller.given_names[:255],
                birth_date=traveller.birth_date,
                sex=traveller.sex,
                nationality=(traveller.nationality or "")[:3] or None,
                embarkation=traveller.embarkation,
                debarkation=traveller.debarkation,
                itinerary=" ".join(traveller.itinerary) or None,
                birth_place=traveller.birth_place,
                residence_country=(traveller.residence_country or "")[:3] or None,
                address=traveller.address,
                phone=traveller.phone,
                email=traveller.email,
                booking_ref=traveller.booking_ref,
                booked_on=traveller.booked_on,
                one_way=traveller.one_way,
                seat=traveller.seat,
                bags=traveller.bags,
            )
            session.add(person)
            session.flush()
            summary.travellers += 1
            summary.traveller_ids.append(person.id)
            for document in traveller.documents:
                session.add(
                    TravelDocumentRow(
                        agency=agency,
                        traveller_id=person.id,
                        code=document.code[:8],
                        doc_type=document.doc_type[:32],
                        number=document.number[:64],
                        issuing_state=(document.issuing_state or "")[:3] or None,
                        expiry=document.expiry,
                        issued=document.issued,
                        mrz=document.mrz,
                    )
                )
                summary.documents += 1
    for rejected in listing.rejected:
        digest = hashlib.sha256(f"{agency}\x1f{listing.source}\x1f{rejected.raw}".encode()).hexdigest()
        exists = session.scalars(
            select(TravellerQuarantineRow.id).where(TravellerQuarantineRow.raw_hash == digest)
        ).first()
        if exists is not None:
            summary.already_quarantined += 1
            continue
        session.add(
            TravellerQuarantineRow(
                agency=agency,
                source_file=listing.source[:1024],
                record=rejected.record[:255],
                field=(rejected.field or "")[:128] or None,
                reason=rejected.reason,
                raw=rejected.raw,
                raw_hash=digest,
            )
        )
        summary.quarantined += 1
    session.flush()
    return summary


def ingest_travellers(
    *, session: Session, path: Path, agency: str, fmt: str | None = None
) -> TravellerIngestSummary:
    """Read and store one list file. An interchange that cannot be read at all is quarantined whole."""
    try:
        listing = read_list(path, fmt=fmt)
    except EdifactError as error:
        raw = path.read_bytes().decode("latin-1")
        listing = TravellerList(
            source=path.name,
            rejected=[
                Rejected(record=f"interchange {path.name}", field=error.field, reason=str(error), raw=raw)
            ],
        )
    return store_list(session, listing, agency=agency)


def list_quarantine(
    *, session: Session, agency: str, status: str | None = "open"
) -> list[TravellerQuarantineRow]:
    query = select(TravellerQuarantineRow).where(TravellerQuarantineRow.agency == agency)
    if status is not None:
        query = query.where(TravellerQuarantineRow.status == status)
    return list(session.scalars(query.order_by(TravellerQuarantineRow.id)))


def _format_of_raw(raw: str) -> str:
    head = raw.lstrip()
    if head.startswith(("UNA", "UNB")) or "UNB" in head[:2048]:
        return "paxlst"
    return "jsonl" if head.startswith("{") else "csv"


def release_quarantined(
    *, session: Session, agency: str, record_id: int, raw: str | None = None
) -> TravellerIngestSummary:
    """Read a quarantined record again, as corrected in ``raw`` (or as it was), and store it if it now reads.

    A CSV record is its header line and its row; a JSON Lines record its line; an unreadable interchange the
    whole interchange. A person rejected from a PAXLST message is corrected in the carrier's list and the
    list sent again (the person alone is not a message). Raises ``IngestError`` if the record still fails.
    """
    row = session.get(TravellerQuarantineRow, record_id)
    if row is None or row.agency != agency:
        raise NotFoundError(f"no quarantined traveller record {record_id}")
    if row.status != "open":
        raise IngestError(record=row.record, field=None, reason=f"the record is already {row.status}")
    text = raw if raw is not None else row.raw
    fmt = _format_of_raw(text)
    if fmt == "paxlst" and not row.record.startswith("interchange"):
        raise IngestError(
            record=row.record,
            field=row.field,
            reason="a person from a PAXLST message is released by sending the corrected list again",
        )
    try:
        if fmt == "paxlst":
            listing = read_paxlst(text, source=row.source_file)
        elif fmt == "jsonl":
            listing = read_travellers_jsonl(text, source=row.source_file)
        else:
            listing = read_travellers_csv(text, source=row.source_file)
    except EdifactError as error:
        raise IngestError(record=row.record, field=error.field, reason=str(error)) from error
    if listing.rejected:
        first = listing.rejected[0]
        raise IngestError(record=row.record, field=first.field, reason=first.reason)
    summary = store_list(session, listing, agency=agency)
    row.status = "released"
    if raw is not None:
        row.raw = raw
    session.flush()
    return summary


def load_lost_stolen(*, session: Session, agency: str, path: Path) -> int:
    """Replace the agency's lost/stolen list from a CSV (``number``, ``issuing_state``, ``reported_on``,
    ``status``); returns the number of documents on it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(path=str(path), reason=f"cannot read: {error.strerror}") from error
    rows = read_lost_stolen_csv(text, source=str(path))
    session.query(LostStolenDocumentRow).filter(LostStolenDocumentRow.agency == agency).delete()
    session.add_all(LostStolenDocumentRow(agency=agency, source=path.name[:255], **row) for row in rows)
    session.flush()
    return len(rows)


def read_lost_stolen_csv(text: str, *, source: str) -> list[dict[str, object]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "number" not in reader.fieldnames:
        raise ConfigError(path=source, reason="a lost/stolen list needs a 'number' column")
    rows: list[dict[str, object]] = []
    for row in reader:
        number = (row.get("number") or "").strip().upper()
        if not number:
            raise ConfigError(path=source, item=f"line {reader.line_num}", field="number", reason="empty")
        reported = (row.get("reported_on") or "").strip()
        try:
            reported_on = dt.date.fromisoformat(reported) if reported else None
        except ValueError:
            raise ConfigError(
                path=source, item=f"line {reader.line_num}", field="reported_on", reason="not YYYY-MM-DD"
            ) from None
        rows.append(
            {
                "number": number,
                "issuing_state": country3(row.get("issuing_state")),
                "reported_on": reported_on,
                "status": (row.get("status") or "stolen").strip() or "stolen",
            }
        )
    return rows


def lost_stolen_index(*, session: Session, agency: str) -> dict[str, list[dict[str, object]]]:
    """The agency's lost/stolen documents by number."""
    index: dict[str, list[dict[str, object]]] = {}
    for row in session.scalars(select(LostStolenDocumentRow).where(LostStolenDocumentRow.agency == agency)):
        index.setdefault(row.number, []).append(
            {
                "issuing_state": row.issuing_state,
                "status": row.status,
                "reported_on": row.reported_on.isoformat() if row.reported_on else None,
            }
        )
    return index


def summary_json(summary: TravellerIngestSummary) -> str:
    data = {k: v for k, v in summary.__dict__.items() if k != "traveller_ids"}
    return json.dumps(data, indent=2)


# ------------------------------------------------------------------------------------------------ checks


def list_movements(*, session: Session, agency: str, limit: int = 100) -> list[MovementRow]:
    query = (
        select(MovementRow).where(MovementRow.agency == agency).order_by(MovementRow.id.desc()).limit(limit)
    )
    return list(session.scalars(query))


def get_movement(*, session: Session, agency: str, key: str) -> MovementRow:
    """A movement by its key (or its number when that is unambiguous); ``NotFoundError`` otherwise."""
    rows = list(
        session.scalars(
            select(MovementRow).where(
                MovementRow.agency == agency, (MovementRow.key == key) | (MovementRow.number == key)
            )
        )
    )
    exact = [r for r in rows if r.key == key]
    if exact:
        return exact[0]
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise NotFoundError(f"no movement {key!r} for agency {agency!r}")
    keys = ", ".join(r.key for r in rows[:5])
    raise NotFoundError(f"{key!r} names several movements ({keys}): give the full key")


def _records(session: Session, rows: list[TravellerRow]) -> list[Traveller]:
    documents: dict[int, list[TravelDocumentRow]] = {}
    if rows:
        for document in session.scalars(
            select(TravelDocumentRow).where(TravelDocumentRow.traveller_id.in_([r.id for r in rows]))
        ):
            documents.setdefault(document.traveller_id, []).append(document)
    return [
        Traveller(
            key=str(row.id),
            surname=row.surname,
            given_names=row.given_names,
            role=row.role,
            birth_date=row.birth_date,
            sex=row.sex,
            nationality=row.nationality,
            documents=[
                TravelDocument(
                    code=d.code, number=d.number, issuing_state=d.issuing_state, expiry=d.expiry, mrz=d.mrz
                )
                for d in documents.get(row.id, [])
            ],
            embarkation=row.embarkation,
            debarkation=row.debarkation,
            itinerary=tuple((row.itinerary or "").split()),
            address=row.address,
            phone=row.phone,
            email=row.email,
            booking_ref=row.booking_ref,
            booked_on=row.booked_on,
            one_way=row.one_way,
            seat=row.seat,
        )
        for row in rows
    ]


def _movement_record(row: MovementRow) -> Movement:
    return Movement(
        kind=row.kind,
        number=row.number,
        carrier=row.carrier,
        departure_place=row.departure_place,
        departure_at=row.departure_at,
        arrival_place=row.arrival_place,
        arrival_at=row.arrival_at,
        reporting_party=row.reporting_party,
    )


def _history(
    session: Session, *, agency: str, movement_id: int, travellers: list[Traveller]
) -> tuple[dict[str, set[str]], dict[str, list[tuple[dt.date, dt.date]]]]:
    """Earlier holders of these documents, and the stays of these travellers, from other movements."""
    numbers = sorted({document_key(d) for t in travellers for d in t.documents})
    holders: dict[str, set[str]] = {}
    if numbers:
        query = (
            select(
                TravelDocumentRow.number,
                TravellerRow.surname,
                TravellerRow.given_names,
                TravellerRow.birth_date,
            )
            .join(TravellerRow, TravellerRow.id == TravelDocumentRow.traveller_id)
            .where(
                TravelDocumentRow.agency == agency,
                TravelDocumentRow.number.in_(numbers),
                TravellerRow.movement_id != movement_id,
            )
        )
        for number, surname, given, born in session.execute(query):
            holders.setdefault(number, set()).add(f"{surname.upper()}|{given.upper()}|{born or ''}")
    surnames = sorted({t.surname for t in travellers})
    visits: dict[str, list[tuple[dt.datetime, str | None, str | None]]] = {}
    if surnames:
        query2 = (
            select(
                TravellerRow.surname,
                TravellerRow.given_names,
                TravellerRow.birth_date,
                MovementRow.departure_at,
                MovementRow.arrival_at,
                MovementRow.departure_place,
                MovementRow.arrival_place,
            )
            .join(MovementRow, MovementRow.id == TravellerRow.movement_id)
            .where(TravellerRow.agency == agency, TravellerRow.surname.in_(surnames))
        )
        for surname, given, born, left, arrived, origin, destination in session.execute(query2):
            key = f"{surname.upper()}|{given.upper()}|{born or ''}"
            when = arrived or left
            if when is not None:
                visits.setdefault(key, []).append((when, origin, destination))
    stays: dict[str, list[tuple[dt.date, dt.date]]] = {}
    for key, moves in visits.items():
        moves.sort()
        for (arrived, _, place), (left, origin, _) in itertools.pairwise(moves):
            if place and place == origin:
                stays.setdefault(key, []).append((arrived.date(), left.date()))
    return holders, stays


TRADER_ROLES = frozenset({"importer", "exporter", "seller", "buyer", "consignee", "consignor"})


def traders_under_investigation(*, session: Session, agency: str) -> list[TraderContact]:
    """The traders (importer, seller, ...) of declarations with an open or assigned inspection case, by name.

    Names come through the screening stage's party reader (which gives no addresses; declarations carry
    no phone numbers): addresses and phones come from a traders file (``read_traders_csv``).
    """
    from borderwatch.inspections.service import ACTIVE, list_cases
    from borderwatch.screening.service import party_names_frame

    lrns = sorted({case.lrn for case in list_cases(session=session, agency=agency) if case.status in ACTIVE})
    if not lrns:
        return []
    frame = party_names_frame(session.get_bind(), agency=agency, lrns=lrns)  # type: ignore[arg-type]
    names: dict[str, set[str]] = {}
    for row in frame.iter_rows(named=True):
        if row["role"] in TRADER_ROLES:
            names.setdefault(row["party_id"] or row["party_name"], set()).add(row["party_name"])
    return [TraderContact(trader_id=trader, names=tuple(sorted(found))) for trader, found in names.items()]


def check_movement(
    *,
    session: Session,
    agency: str,
    key: str,
    policy: TravellerPolicy,
    traders: Sequence[TraderContact] = (),
    screen: bool = True,
) -> tuple[MovementRow, list[Assessment]]:
    """Check, screen, score and refer every traveller of a stored movement; store reasons and decisions.

    ``traders`` adds to the traders under investigation the agency's open inspection cases name. Earlier
    assessments of these travellers are replaced (a list re-checked after a watchlist update).
    """
    from borderwatch.screening import build_matcher

    movement = get_movement(session=session, agency=agency, key=key)
    rows = list(
        session.scalars(
            select(TravellerRow).where(TravellerRow.movement_id == movement.id).order_by(TravellerRow.id)
        )
    )
    travellers = _records(session, rows)
    holders, stays = _history(session, agency=agency, movement_id=movement.id, travellers=travellers)
    assessments = assess_movement(
        _movement_record(movement),
        travellers,
        policy=policy,
        matcher=build_matcher(session=session) if screen else None,
        lost_stolen=lost_stolen_index(session=session, agency=agency),
        holders=holders,
        stays=stays,
        traders=[*traders_under_investigation(session=session, agency=agency), *traders],
    )
    ids = [row.id for row in rows]
    if ids:
        session.execute(delete(TravellerCheckRow).where(TravellerCheckRow.traveller_id.in_(ids)))
        session.execute(delete(TravellerAssessmentRow).where(TravellerAssessmentRow.traveller_id.in_(ids)))
    documents = {
        (d.traveller_id, d.number): d.id
        for d in session.scalars(select(TravelDocumentRow).where(TravelDocumentRow.traveller_id.in_(ids)))
    }
    for assessment in assessments:
        traveller_id = int(assessment.key)
        for reason in assessment.reasons:
            session.add(
                TravellerCheckRow(
                    agency=agency,
                    traveller_id=traveller_id,
                    document_id=documents.get((traveller_id, reason.document or "")),
                    code=reason.code,
                    family=reason.family,
                    points=reason.points,
                    evidence=reason.evidence,
                )
            )
        session.add(
            TravellerAssessmentRow(
                agency=agency,
                traveller_id=traveller_id,
                movement_id=movement.id,
                score=assessment.score,
                referred=assessment.referred,
                basis=assessment.basis,
                reasons=[r.as_dict() for r in assessment.reasons],
                policy_version=policy.version,
            )
        )
    session.flush()
    return movement, assessments


def traveller_names(*, session: Session, movement_id: int) -> dict[str, str]:
    """Traveller id (as assessments key it) → name, for a movement."""
    rows = session.execute(
        select(TravellerRow.id, TravellerRow.given_names, TravellerRow.surname).where(
            TravellerRow.movement_id == movement_id
        )
    )
    return {str(i): f"{given} {surname}".strip() for i, given, surname in rows}


def read_traders_csv(path: Path) -> list[TraderContact]:
    """Traders under investigation from a CSV: ``trader_id``, ``name``, ``address``, ``phone`` (one row per
    contact detail; rows of the same trader add up)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(path=str(path), reason=f"cannot read: {error.strerror}") from error
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "trader_id" not in reader.fieldnames:
        raise ConfigError(path=str(path), reason="a traders file needs a 'trader_id' column")
    found: dict[str, dict[str, list[str]]] = {}
    for row in reader:
        entry = found.setdefault(row["trader_id"], {"names": [], "addresses": [], "phones": []})
        for column, bucket in (("name", "names"), ("address", "addresses"), ("phone", "phones")):
            value = (row.get(column) or "").strip()
            if value:
                entry[bucket].append(value)
    return [
        TraderContact(
            trader_id=trader_id,
            names=tuple(v["names"]),
            addresses=tuple(v["addresses"]),
            phones=tuple(v["phones"]),
        )
        for trader_id, v in found.items()
    ]


# ------------------------------------------------------------------------------------------- workspace views


@dataclass
class TravellerLine:
    """One traveller as a list shows it: who, the current assessment and its reason codes."""

    traveller: TravellerRow
    score: float | None
    referred: bool
    basis: str | None
    reasons: list[str]
    movement: MovementRow | None = None


def _assessments(session: Session, ids: Sequence[int]) -> dict[int, TravellerAssessmentRow]:
    if not ids:
        return {}
    rows = session.scalars(select(TravellerAssessmentRow).where(TravellerAssessmentRow.traveller_id.in_(ids)))
    return {row.traveller_id: row for row in rows}


def _line(row: TravellerRow, assessment: TravellerAssessmentRow | None) -> TravellerLine:
    return TravellerLine(
        traveller=row,
        score=assessment.score if assessment else None,
        referred=bool(assessment and assessment.referred),
        basis=assessment.basis if assessment else None,
        reasons=[str(r.get("code")) for r in (assessment.reasons if assessment else [])],
    )


def get_movement_by_id(*, session: Session, movement_id: int) -> MovementRow:
    """A movement by id, whatever its agency (the caller's guard decides who may see it)."""
    row = session.get(MovementRow, movement_id)
    if row is None:
        raise NotFoundError(f"no movement {movement_id}")
    return row


def movement_lines(*, session: Session, movement_id: int) -> list[TravellerLine]:
    """The passenger and crew list of a movement, highest score first, then by name."""
    rows = list(session.scalars(select(TravellerRow).where(TravellerRow.movement_id == movement_id)))
    assessed = _assessments(session, [r.id for r in rows])
    lines = [_line(row, assessed.get(row.id)) for row in rows]
    lines.sort(key=lambda line: (-(line.score or 0.0), line.traveller.surname, line.traveller.given_names))
    return lines


def referral_queue(*, session: Session, agency: str, limit: int = 200) -> list[TravellerLine]:
    """Referred travellers of the agency, newest movements first, highest score first within one."""
    query = (
        select(TravellerAssessmentRow, TravellerRow, MovementRow)
        .join(TravellerRow, TravellerRow.id == TravellerAssessmentRow.traveller_id)
        .join(MovementRow, MovementRow.id == TravellerRow.movement_id)
        .where(TravellerAssessmentRow.agency == agency, TravellerAssessmentRow.referred.is_(True))
        .order_by(MovementRow.id.desc(), TravellerAssessmentRow.score.desc())
        .limit(limit)
    )
    lines = []
    for assessment, traveller, movement in session.execute(query):
        line = _line(traveller, assessment)
        line.movement = movement
        lines.append(line)
    return lines


@dataclass
class TravellerView:
    traveller: TravellerRow
    movement: MovementRow
    documents: list[TravelDocumentRow]
    checks: list[TravellerCheckRow]
    assessment: TravellerAssessmentRow | None
    co_travellers: list[tuple[TravellerRow, str]]  # who, and what links them (booking, phone, address)
    other_trips: list[tuple[TravellerRow, MovementRow]]
    document_holders: list[tuple[str, TravellerRow]]  # a document number of theirs, another holder of it


def traveller_view(*, session: Session, traveller_id: int) -> TravellerView:
    """Everything the traveller page shows: documents, checks, assessment, co-travellers, the network."""
    row = session.get(TravellerRow, traveller_id)
    if row is None:
        raise NotFoundError(f"no traveller {traveller_id}")
    movement = get_movement_by_id(session=session, movement_id=row.movement_id)
    documents = list(
        session.scalars(select(TravelDocumentRow).where(TravelDocumentRow.traveller_id == row.id))
    )
    checks = list(
        session.scalars(
            select(TravellerCheckRow)
            .where(TravellerCheckRow.traveller_id == row.id)
            .order_by(TravellerCheckRow.id)
        )
    )
    companions: list[tuple[TravellerRow, str]] = []
    for other in session.scalars(
        select(TravellerRow).where(TravellerRow.movement_id == row.movement_id, TravellerRow.id != row.id)
    ):
        links = [
            name
            for name, mine, theirs in (
                ("booking", row.booking_ref, other.booking_ref),
                ("phone", row.phone, other.phone),
                ("address", row.address, other.address),
            )
            if mine and theirs and mine.strip().upper() == theirs.strip().upper()
        ]
        if links:
            companions.append((other, ", ".join(links)))
    trips = [
        (other, trip)
        for other, trip in session.execute(
            select(TravellerRow, MovementRow)
            .join(MovementRow, MovementRow.id == TravellerRow.movement_id)
            .where(
                TravellerRow.agency == row.agency,
                TravellerRow.surname == row.surname,
                TravellerRow.given_names == row.given_names,
                TravellerRow.birth_date == row.birth_date
                if row.birth_date
                else TravellerRow.birth_date.is_(None),
                TravellerRow.id != row.id,
            )
            .order_by(MovementRow.departure_at)
        )
    ]
    holders: list[tuple[str, TravellerRow]] = []
    numbers = [d.number for d in documents]
    if numbers:
        for number, other in session.execute(
            select(TravelDocumentRow.number, TravellerRow)
            .join(TravellerRow, TravellerRow.id == TravelDocumentRow.traveller_id)
            .where(
                TravelDocumentRow.agency == row.agency,
                TravelDocumentRow.number.in_(numbers),
                TravellerRow.id != row.id,
            )
        ):
            if (other.surname, other.given_names, other.birth_date) != (
                row.surname,
                row.given_names,
                row.birth_date,
            ):
                holders.append((number, other))
    return TravellerView(
        traveller=row,
        movement=movement,
        documents=documents,
        checks=checks,
        assessment=_assessments(session, [row.id]).get(row.id),
        co_travellers=companions,
        other_trips=trips,
        document_holders=holders,
    )
