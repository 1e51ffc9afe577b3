"""Document fraud checks: each finding is a ``Reason`` with its evidence, never a bare flag.

The checks: a failed MRZ check digit (and an MRZ that disagrees with the list), an expired document, a
document on the agency's lost/stolen list, a nationality the issuing state does not issue that document to,
a document number seen with two different holders, and a specimen document (ICAO's Utopia, published
national specimens) in live traffic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from borderwatch.travellers.mrz import MrzError, birth_date_of, nationality_consistent, read_mrz
from borderwatch.travellers.records import TravelDocument, Traveller

DOCUMENT, WATCHLIST, PATTERN = "document", "watchlist", "pattern"

# Numbers printed on published specimens: ICAO Doc 9303's (Utopia) and a few national ones.
SPECIMEN_NUMBERS = frozenset(
    {
        "L898902C3",  # ICAO TD3 (passport)
        "L898902C",
        "D23145890",  # ICAO TD1/TD2
        "D23145890734",  # ICAO TD1, long number
        "L8988901C",  # ICAO MRV-A/B (visa)
        "C01X00T47",  # Germany, passport specimen
        "T22000129",  # Germany, identity card specimen
        "SPECI2014",  # Netherlands
        "SPECI2021",
        "AA0000000",
        "123456789",
        "000000000",
    }
)
SPECIMEN_STATES = frozenset({"UTO"})
SPECIMEN_NAMES = frozenset(
    {("ERIKSSON", "ANNA MARIA"), ("MUSTERMANN", "ERIKA"), ("DE BRUIJN", "WILLEKE LISELOTTE")}
)


@dataclass(frozen=True)
class Reason:
    """One reason a traveller drew attention: a code, its family, its weight in [0, 1] and its evidence."""

    code: str
    family: str
    points: float
    evidence: dict[str, Any] = field(default_factory=dict)
    document: str | None = None  # the document number concerned, if any
    mandatory: bool = False  # refer whatever the capacity (a stolen document, a confirmed listing)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "family": self.family,
            "points": self.points,
            "evidence": self.evidence,
            "document": self.document,
            "mandatory": self.mandatory,
        }


def holder_key(traveller: Traveller) -> str:
    """Who holds a document, for the two-holders check: name and date of birth, upper case."""
    return f"{traveller.surname.upper()}|{traveller.given_names.upper()}|{traveller.birth_date or ''}"


def document_key(document: TravelDocument) -> str:
    return document.number.upper().replace(" ", "").replace("<", "")


def _mrz_reasons(traveller: Traveller, document: TravelDocument) -> list[Reason]:
    if not document.mrz:
        return []
    try:
        mrz = read_mrz(document.mrz)
    except MrzError as error:
        return [Reason("mrz_unreadable", DOCUMENT, 0.4, {"error": str(error)}, document.number)]
    reasons = []
    if not mrz.valid:
        reasons.append(
            Reason(
                "mrz_check_digit",
                DOCUMENT,
                0.5,
                {
                    "failed_checks": list(mrz.failed_checks),
                    "format": mrz.format,
                    "number": mrz.document_number,
                },
                document.number,
            )
        )
    differences = {}
    if mrz.document_number != document_key(document):
        differences["document_number"] = [document.number, mrz.document_number]
    born = birth_date_of(mrz.birth_date)
    if traveller.birth_date and born and born != traveller.birth_date:
        differences["birth_date"] = [traveller.birth_date.isoformat(), born.isoformat()]
    if mrz.surname and traveller.surname and mrz.surname.replace(" ", "") != _letters(traveller.surname):
        differences["surname"] = [traveller.surname, mrz.surname]
    if differences:
        reasons.append(Reason("mrz_mismatch", DOCUMENT, 0.4, {"list_vs_mrz": differences}, document.number))
    return reasons


def _letters(name: str) -> str:
    from borderwatch.travellers.mrz import transliterate

    return transliterate(name).replace(" ", "")


def document_reasons(
    traveller: Traveller,
    *,
    on: dt.date,
    lost_stolen: Mapping[str, Sequence[Mapping[str, Any]]],
    holders: Mapping[str, Iterable[str]],
) -> list[Reason]:
    """The document findings of one traveller travelling on ``on``.

    ``lost_stolen`` maps a document number to its entries on the agency's list; ``holders`` maps a document
    number to the holder keys (:func:`holder_key`) it was seen with before (and on this list).
    """
    reasons: list[Reason] = []
    me = holder_key(traveller)
    for document in traveller.documents:
        number = document_key(document)
        reasons.extend(_mrz_reasons(traveller, document))
        if document.expiry is not None and document.expiry < on:
            reasons.append(
                Reason(
                    "document_expired",
                    DOCUMENT,
                    0.3,
                    {"expiry": document.expiry.isoformat(), "travel_date": on.isoformat()},
                    document.number,
                )
            )
        for entry in lost_stolen.get(number, ()):
            state = entry.get("issuing_state")
            if state and document.issuing_state and state != document.issuing_state:
                continue
            reasons.append(
                Reason(
                    "document_lost_stolen",
                    DOCUMENT,
                    0.9,
                    {"number": number, **{k: v for k, v in entry.items() if v is not None}},
                    document.number,
                    mandatory=True,
                )
            )
            break
        if (
            traveller.nationality
            and document.issuing_state
            and document.code[:1] in ("P", "I", "A", "C")
            and not nationality_consistent(
                document_code=document.code,
                issuing_state=document.issuing_state,
                nationality=traveller.nationality,
            )
        ):
            reasons.append(
                Reason(
                    "nationality_issuer_mismatch",
                    DOCUMENT,
                    0.3,
                    {"nationality": traveller.nationality, "issuing_state": document.issuing_state},
                    document.number,
                )
            )
        others = sorted(set(holders.get(number, ())) - {me})
        if others:
            reasons.append(
                Reason(
                    "document_two_holders",
                    DOCUMENT,
                    0.6,
                    {"number": number, "holder": me, "other_holders": others[:5]},
                    document.number,
                )
            )
        specimen = _specimen_evidence(traveller, document, number)
        if specimen:
            reasons.append(
                Reason("specimen_document", DOCUMENT, 0.8, specimen, document.number, mandatory=True)
            )
    return reasons


def _specimen_evidence(traveller: Traveller, document: TravelDocument, number: str) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    if number in SPECIMEN_NUMBERS:
        evidence["specimen_number"] = number
    if (document.issuing_state or "") in SPECIMEN_STATES or (traveller.nationality or "") in SPECIMEN_STATES:
        evidence["specimen_state"] = document.issuing_state or traveller.nationality
    if (traveller.surname.upper(), traveller.given_names.upper()) in SPECIMEN_NAMES:
        evidence["specimen_holder"] = traveller.name.upper()
    return evidence


def holders_of(travellers: Iterable[Traveller]) -> dict[str, set[str]]:
    """Document number → holder keys, over a list of travellers (add stored history to it)."""
    holders: dict[str, set[str]] = {}
    for traveller in travellers:
        for document in traveller.documents:
            holders.setdefault(document_key(document), set()).add(holder_key(traveller))
    return holders
