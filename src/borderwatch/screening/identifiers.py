"""Identifiers that customs meets, read from list entries and queries, matched exactly or by their own rules.

Each identifier becomes a *key* ``kind:value``: ``imo:9187629`` (a vessel's IMO number, only when its check
digit holds), ``aircraft:EPMMH`` (a registration or tail number, without its dash), ``registration:...``
(a company registration number), ``tax:...`` (a tax number), ``callsign:...``, ``document:...`` (passports
and national identity numbers), ``bic:...``. Values are upper-cased and stripped of everything but letters
and digits. A query identifier written ``kind:value`` (``tax:123-45-678``) is of that kind; ``IMO 9187629``
is recognised as an IMO number; any other value is compared with every listed key of five characters or
more (as the old untyped matching did). Vehicle plates will be one more kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALNUM = re.compile(r"[^0-9A-Z]")
_IMO = re.compile(r"\bIMO\b\D{0,12}(\d{7})\b", re.IGNORECASE)

KINDS = ("imo", "aircraft", "registration", "tax", "callsign", "document", "bic", "id")

# List identifier types (OFAC remarks, UN documents, FollowTheMoney properties) -> kind.
_TYPE_KINDS = (
    ("imo", "imo"),
    ("vessel registration", "imo"),
    ("tail number", "aircraft"),
    ("aircraft registration", "aircraft"),
    ("serial number (msn)", "aircraft-msn"),
    ("business registration", "registration"),
    ("registration number", "registration"),
    ("registration id", "registration"),
    ("registrationnumber", "registration"),
    ("company number", "registration"),
    ("tax", "tax"),
    ("inncode", "tax"),
    ("call sign", "callsign"),
    ("passport", "document"),
    ("pasaporte", "document"),
    ("passeport", "document"),
    ("national id", "document"),
    ("national identification", "document"),
    ("cedula", "document"),
    ("idnumber", "document"),
    ("swift", "bic"),
)


def imo_check_digit_ok(number: str) -> bool:
    """IMO ship numbers: the first six digits weighted 7..2, summed, modulo 10, give the seventh."""
    if len(number) != 7 or not number.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:6], range(7, 1, -1), strict=True))
    return total % 10 == int(number[6])


def clean(value: str) -> str:
    return _ALNUM.sub("", value.upper())


@dataclass(frozen=True, slots=True)
class IdentifierKey:
    kind: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    def describe(self) -> str:
        return {"imo": "IMO", "aircraft": "aircraft registration", "callsign": "call sign"}.get(
            self.kind, self.kind
        ) + f" {self.value}"


def kind_of_type(type_text: str) -> str:
    lowered = " ".join(type_text.lower().split())
    for marker, kind in _TYPE_KINDS:
        if marker in lowered:
            return kind
    return "id"


def listed_key(type_text: str, value: str) -> IdentifierKey | None:
    """The key of a list entry's identifier, or ``None`` when it cannot be matched (an IMO number whose
    check digit fails, an empty value)."""
    kind = kind_of_type(type_text)
    if kind == "imo":
        found = _IMO.search(value) or re.fullmatch(r"\s*(\d{7})\s*", value)
        number = found.group(1) if found else ""
        return IdentifierKey("imo", number) if imo_check_digit_ok(number) else None
    cleaned = clean(value)
    if not cleaned:
        return None
    return IdentifierKey(kind, cleaned)


@dataclass(frozen=True, slots=True)
class QueryKey:
    """A query identifier: of a known kind, or untyped (compared with listed keys of any kind)."""

    kind: str | None
    value: str
    problem: str | None = None  # why it cannot match (an IMO number whose check digit fails)


def query_key(text: str) -> QueryKey:
    """How a query identifier is matched (see the module docstring)."""
    prefix, sep, rest = text.partition(":")
    if sep and prefix.strip().lower() in KINDS:
        kind, value = prefix.strip().lower(), rest
    else:
        kind, value = None, text
    imo = _IMO.search(value) if kind in (None, "imo") else None
    if imo or kind == "imo":
        number = imo.group(1) if imo else clean(value)
        if not imo_check_digit_ok(number):
            return QueryKey("imo", number, problem=f"IMO {number} fails its check digit")
        return QueryKey("imo", number)
    return QueryKey(kind, clean(value))


def imo_numbers_in_text(text: str) -> list[str]:
    """IMO numbers written in free text (``IMO Number: 1790183``, ``(IMO) Number: 5342883``)."""
    return [m.group(1) for m in re.finditer(r"IMO\)?\s*(?:Number|No\.?)?\s*:?\s*(\d{7})\b", text)]
