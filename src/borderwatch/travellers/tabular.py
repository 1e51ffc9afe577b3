"""Travellers from CSV (one row per traveller and document) and JSON Lines (one object per traveller).

Columns / keys: ``flight`` (the conveyance number; also ``voyage`` or ``vehicle``), ``carrier``,
``departure_place``, ``departure_at``, ``arrival_place``, ``arrival_at``, ``surname``, ``given_names``,
``birth_date``, ``sex``, ``nationality``, ``role``, ``doc_type``, ``doc_number``, ``doc_issuing_state``,
``doc_expiry``, ``mrz`` (when given, the document and identity fields come from it), ``embarkation``,
``debarkation``, ``itinerary`` (places separated by spaces), ``booking_ref``, ``booked_on``, ``one_way``,
``seat``, ``address``, ``phone``, ``email``. JSON Lines may give ``documents`` as a list of objects with
``type``, ``number``, ``issuing_state``, ``expiry``, ``mrz``. Rows of the same traveller (same ``key``, or the
same flight, name and birth date) are one traveller with several documents.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from borderwatch.travellers.mrz import MrzError, birth_date_of, expiry_date_of, read_mrz
from borderwatch.travellers.records import (
    ROLES,
    Movement,
    Rejected,
    TravelDocument,
    Traveller,
    TravellerList,
    country3,
)


class _RowError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"field {field!r}: {reason}")


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value).strip()


def _day(row: dict[str, Any], key: str) -> dt.date | None:
    value = _text(row, key)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _RowError(key, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _moment(row: dict[str, Any], key: str) -> dt.datetime | None:
    value = _text(row, key)
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise _RowError(key, f"{value!r} is not a date and time (ISO 8601)") from None


def _flag(row: dict[str, Any], key: str) -> bool | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y"):
        return True
    if text in ("0", "false", "no", "n"):
        return False
    raise _RowError(key, f"{value!r} is not yes/no")


def _document(data: dict[str, Any], prefix: str) -> TravelDocument | None:
    mrz_text = _text(data, "mrz")
    if mrz_text:
        try:
            mrz = read_mrz(mrz_text)
        except MrzError as error:
            raise _RowError("mrz", str(error)) from None
        return TravelDocument(
            code=mrz.document_code[:1] if mrz.format not in ("MRVA", "MRVB") else "V",
            number=mrz.document_number,
            issuing_state=mrz.issuing_state,
            expiry=expiry_date_of(mrz.expiry_date),
            mrz=mrz.text,
        )
    number = _text(data, f"{prefix}number")
    if not number:
        return None
    return TravelDocument(
        code=_text(data, f"{prefix}type") or "P",
        number=number.upper(),
        issuing_state=country3(_text(data, f"{prefix}issuing_state")),
        expiry=_day(data, f"{prefix}expiry"),
    )


def _traveller(row: dict[str, Any], key: str) -> Traveller:
    surname = _text(row, "surname")
    mrz_text = _text(row, "mrz")
    mrz = None
    if mrz_text:
        try:
            mrz = read_mrz(mrz_text)
        except MrzError as error:
            raise _RowError("mrz", str(error)) from None
    if not surname and mrz is None:
        raise _RowError("surname", "a traveller without a family name")
    role = _text(row, "role") or "passenger"
    if role not in ROLES:
        raise _RowError("role", f"{role!r} is not one of {', '.join(ROLES)}")
    sex = _text(row, "sex").upper()[:1] or (mrz.sex if mrz and mrz.sex != "<" else "")
    traveller = Traveller(
        key=key,
        surname=surname or (mrz.surname if mrz else ""),
        given_names=_text(row, "given_names") or (mrz.given_names if mrz else ""),
        role=role,
        birth_date=_day(row, "birth_date") or (birth_date_of(mrz.birth_date) if mrz else None),
        sex=sex or None,
        nationality=country3(_text(row, "nationality")) or (mrz.nationality if mrz else None),
        embarkation=_text(row, "embarkation") or None,
        debarkation=_text(row, "debarkation") or None,
        itinerary=tuple(_text(row, "itinerary").split()),
        booking_ref=_text(row, "booking_ref") or None,
        booked_on=_day(row, "booked_on"),
        one_way=_flag(row, "one_way"),
        seat=_text(row, "seat") or None,
        address=_text(row, "address") or None,
        phone=_text(row, "phone") or None,
        email=_text(row, "email") or None,
    )
    documents = row.get("documents")
    if isinstance(documents, list):
        for index, item in enumerate(documents):
            if not isinstance(item, dict):
                raise _RowError(f"documents[{index}]", "a document is an object")
            document = _document(item, "")
            if document is not None:
                traveller.documents.append(document)
    else:
        document = _document(row, "doc_")
        if document is not None:
            traveller.documents.append(document)
    return traveller


def _movement(row: dict[str, Any]) -> Movement:
    for kind, column in (("flight", "flight"), ("voyage", "voyage"), ("vehicle", "vehicle")):
        number = _text(row, column)
        if number:
            return Movement(
                kind=kind,
                number=number.upper(),
                carrier=_text(row, "carrier") or None,
                departure_place=_text(row, "departure_place") or None,
                departure_at=_moment(row, "departure_at"),
                arrival_place=_text(row, "arrival_place") or None,
                arrival_at=_moment(row, "arrival_at"),
            )
    raise _RowError("flight", "no flight, voyage or vehicle")


def _collect(rows: list[tuple[int, str, dict[str, Any] | None, str | None]], source: str) -> TravellerList:
    result = TravellerList(source=source)
    by_movement: dict[str, tuple[Movement, list[Traveller]]] = {}
    by_person: dict[tuple[str, str], Traveller] = {}
    for line, raw, row, error in rows:
        record = f"{source} line {line}"
        if row is None:
            result.rejected.append(Rejected(record=record, field=None, reason=error or "unreadable", raw=raw))
            continue
        try:
            movement = _movement(row)
            person_key = _text(row, "key") or "|".join(
                (
                    _text(row, "surname"),
                    _text(row, "given_names"),
                    _text(row, "birth_date"),
                    _text(row, "mrz"),
                )
            )
            known = by_person.get((movement.key, person_key))
            traveller = _traveller(row, _text(row, "key") or f"line {line}")
        except _RowError as problem:
            result.rejected.append(
                Rejected(record=record, field=problem.field, reason=f"{record}: {problem}", raw=raw)
            )
            continue
        if known is not None:
            known.documents.extend(traveller.documents)
            continue
        entry = by_movement.setdefault(movement.key, (movement, []))
        entry[1].append(traveller)
        by_person[(movement.key, person_key)] = traveller
    result.movements = list(by_movement.values())
    return result


def read_travellers_csv(text: str, *, source: str = "csv") -> TravellerList:
    """Travellers of a CSV text with a header row; bad rows are rejected naming the line and column.

    A rejected row keeps the header line before it, so that it can be corrected and read again alone.
    """
    reader = csv.DictReader(io.StringIO(text))
    rows: list[tuple[int, str, dict[str, Any] | None, str | None]] = []
    lines = text.splitlines()
    previous = 1
    for row in reader:
        line, end = previous + 1, reader.line_num  # a quoted field may span several lines
        previous = end
        raw = "\n".join([lines[0], *lines[line - 1 : end]]) if lines else ""
        if None in row:
            rows.append((line, raw, None, f"{source} line {line}: more fields than the header names"))
            continue
        rows.append((line, raw, dict(row), None))
    return _collect(rows, source)


def read_travellers_jsonl(text: str, *, source: str = "jsonl") -> TravellerList:
    """Travellers of a JSON Lines text; a line that is not a JSON object is rejected naming the line."""
    rows: list[tuple[int, str, dict[str, Any] | None, str | None]] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            rows.append((line, raw, None, f"{source} line {line}: not JSON ({error.msg})"))
            continue
        if not isinstance(data, dict):
            rows.append((line, raw, None, f"{source} line {line}: not a JSON object"))
            continue
        rows.append((line, raw, data, None))
    return _collect(rows, source)
