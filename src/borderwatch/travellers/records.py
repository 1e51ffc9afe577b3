"""The canonical traveller records every reader produces (PAXLST, CSV, JSON Lines)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

ROLES = ("passenger", "crew", "transit_passenger", "transit_crew", "other")
# UN/EDIFACT 1001 document name codes as PAXLST uses them (IATA/WCO API guidelines) and ICAO's letters.
DOCUMENT_TYPES = {
    "P": "passport",
    "PT": "passport",
    "V": "visa",
    "I": "identity_card",
    "ID": "identity_card",
    "IP": "passport_card",
    "A": "identity_card",
    "C": "identity_card",
    "AC": "crew_member_certificate",
    "F": "facilitation_document",
    "L": "pilot_licence",
    "M": "military_identification",
    "T": "refugee_travel_document",
    "IN": "nexus_card",
    "39": "identity_card",
    "40": "passport",
    "5K": "sentri_card",
}


@cache
def _alpha2_to_alpha3() -> dict[str, str]:
    import pycountry

    return {country.alpha_2: country.alpha_3 for country in pycountry.countries}


def country3(value: str | None) -> str | None:
    """A country as the 3-letter code MRZs and PAXLST use; 2-letter ISO codes are converted, others kept."""
    if not value:
        return None
    value = value.strip().upper()
    if len(value) == 2:
        return _alpha2_to_alpha3().get(value, value)
    return value or None


@dataclass
class TravelDocument:
    code: str
    number: str
    issuing_state: str | None = None
    expiry: dt.date | None = None
    issued: dt.date | None = None
    mrz: str | None = None

    @property
    def doc_type(self) -> str:
        return DOCUMENT_TYPES.get(self.code.upper(), self.code.lower() or "unknown")


@dataclass
class Traveller:
    """One person on a list; ``key`` is unique within its source (message reference and ordinal, or line)."""

    key: str
    surname: str
    given_names: str = ""
    role: str = "passenger"
    birth_date: dt.date | None = None
    sex: str | None = None
    nationality: str | None = None
    documents: list[TravelDocument] = field(default_factory=list)
    embarkation: str | None = None
    debarkation: str | None = None
    birth_place: str | None = None
    residence_country: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    booking_ref: str | None = None
    booked_on: dt.date | None = None
    one_way: bool | None = None
    seat: str | None = None
    itinerary: tuple[str, ...] = ()
    bags: int | None = None

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.given_names, self.surname) if part)


@dataclass
class Movement:
    """A flight, voyage or vehicle crossing: who carries, from where to where, when."""

    kind: str  # flight, voyage, vehicle
    number: str
    carrier: str | None = None
    departure_place: str | None = None
    departure_at: dt.datetime | None = None
    arrival_place: str | None = None
    arrival_at: dt.datetime | None = None
    reporting_party: str | None = None

    @property
    def key(self) -> str:
        when = self.departure_at or self.arrival_at
        day = when.date().isoformat() if when is not None else "undated"
        return f"{self.number}/{day}/{self.departure_place or '-'}-{self.arrival_place or '-'}"


@dataclass(frozen=True)
class Rejected:
    """A traveller (or a whole message) that failed validation, kept whole for quarantine."""

    record: str
    field: str | None
    reason: str
    raw: str


@dataclass
class TravellerList:
    """What one source held: its movements with their travellers, the rejects, and envelope issues."""

    source: str
    movements: list[tuple[Movement, list[Traveller]]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)

    @property
    def travellers(self) -> list[Traveller]:
        return [t for _, people in self.movements for t in people]

    @property
    def documents(self) -> list[TravelDocument]:
        return [d for t in self.travellers for d in t.documents]
