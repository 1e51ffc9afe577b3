"""The canonical declaration at the boundary (pydantic), independent of how it is stored.

Inspection outcomes are separate records (``Outcome``): in production they arrive after the declaration.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

HS_CODE = re.compile(r"^\d{6,10}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

# What both databases can store, and what one declaration may hold. A declaration's own fields are copied
# onto each of its goods items when it is flattened for validation and storage, so each is bounded: memory
# stays linear in the items whatever the line holds.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
MAX_ITEMS = 10_000
MAX_DOCUMENTS = 100
MAX_CONTAINERS = 100
# Goods items times the size of a declaration's own fields (each item carries them once flattened).
MAX_COPIED_BYTES = 16 << 20
# More than a declaration's own fields (all but its items) can take as JSON: every field has a maximum length
# (about 46,000 characters in all: 100 documents, 100 containers, 4 parties), each character at most 6 in JSON
# (\u0001), plus the keys. So up to MAX_COPIED_BYTES // OWN_FIELDS_BOUND (32) items never exceed the bound.
OWN_FIELDS_BOUND = 512 << 10
MAX_ITEM_NO = 999_999_999  # nine digits: within a 32-bit INTEGER column on both databases
NAME_LENGTH = 256
ADDRESS_LENGTH = 512
# NUL (PostgreSQL text cannot hold it) and lone surrogates (not UTF-8: neither database can store them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# One wording for each problem, shared by this pydantic boundary and the vectorised CSV checks
# (``validate.py``): a reason is the offending value in single quotes followed by one of these.
MISSING = "is missing"
HS_REASON = " is not an HS code of 6 to 10 digits"
COUNTRY_REASON = " is not an ISO 3166 country code"
CURRENCY_REASON = " is not an ISO 4217 currency code"
NEGATIVE_REASON = " is negative; it must be 0 or more"
NOT_A_NUMBER_REASON = " is not a number"


NUL_REASON = "contains a NUL character (U+0000), which cannot be stored"
SURROGATE_REASON = "contains a lone surrogate (U+D800 to U+DFFF), which is not text"
CONTROL_REASON = "contains a control character; an identifier cannot hold one"
DATE_RANGE_REASON = f" is outside the accepted dates ({MIN_DATE.isoformat()} to {MAX_DATE.isoformat()})"
TOO_MANY_ITEMS = f"has more than {MAX_ITEMS:,} goods items; split the declaration"


def not_a_date(value: object, date_format: str) -> str:
    return f"'{value}' is not a date in the format {date_format}"


def unstorable_reason(value: str) -> str | None:
    """Why ``value`` cannot be stored as text by both databases, or None."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    return NUL_REASON if found.group() == "\x00" else SURROGATE_REASON


def storable(value: str) -> str:
    """``value`` with what no database can store replaced by U+FFFD: for quarantine and messages only."""
    return UNSTORABLE.sub("\ufffd", value)


def normalise_identifier(value: str) -> str:
    """An identifier (LRN, party, office, means, container, document number) as compared and stored.

    Unicode NFKC (full-width digits, ligatures and other compatibility forms become their plain form) after
    removing format characters (category Cf: zero-width space, BOM, soft hyphen, direction marks), which are
    invisible: ``"L1\u200b"`` is ``"L1"``, so a re-sent declaration is recognised as the same one."""
    if value.isascii():  # no format characters, and NFKC leaves ASCII as it is
        return value.strip()
    visible = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", visible).strip()


def _identifier_before(value: Any) -> Any:
    return normalise_identifier(value) if isinstance(value, str) else value


# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F: one regex search, not a call per character.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _identifier_after(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError(CONTROL_REASON)
    return value


def _in_range(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"'{value.isoformat()}'{DATE_RANGE_REASON}")
    return value


def too_long(limit: int) -> str:
    return f"is longer than {limit} characters"


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, plus ``EU``, ``ZZ`` (unknown) and the user-assigned codes customs use:
    the EU geonomenclature's ``XC`` Ceuta, ``XI`` Northern Ireland, ``XK`` Kosovo, ``XL`` Melilla, ``XS``
    Serbia (former), ``XU`` Great Britain without Northern Ireland, and ``XX``, the placeholder of test and
    sample messages (an unnamed country, as in the shared CUSDEC sample)."""
    customs = {"EU", "ZZ", "XC", "XI", "XK", "XL", "XS", "XU", "XX"}
    return frozenset({c.alpha_2 for c in pycountry.countries} | customs)


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    """ISO 4217 alphabetic currency codes."""
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in country_codes():
        raise ValueError(f"'{value}'{COUNTRY_REASON}")
    return code


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in currency_codes():
        raise ValueError(f"'{value}'{CURRENCY_REASON}")
    return code


def _hs_code(value: str) -> str:
    code = value.strip().replace(".", "")
    if not HS_CODE.match(code):
        raise ValueError(f"'{value}'{HS_REASON}")
    return code


def _sha256(value: str) -> str:
    digest = value.strip().lower()
    if not SHA256_HEX.match(digest):
        raise ValueError("not a SHA-256 hex digest (64 hex characters)")
    return digest


# An identifier: normalised (``normalise_identifier``) before its length is checked;
# control characters refused.
_NORMALISED = BeforeValidator(_identifier_before)
_NO_CONTROL = AfterValidator(_identifier_after)
Id32 = Annotated[str, _NORMALISED, Field(min_length=1, max_length=32), _NO_CONTROL]
Id64 = Annotated[str, _NORMALISED, Field(min_length=1, max_length=64), _NO_CONTROL]
Id128 = Annotated[str, _NORMALISED, Field(min_length=1, max_length=128), _NO_CONTROL]
Day = Annotated[date, AfterValidator(_in_range)]
CountryCode = Annotated[str, AfterValidator(_country)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]
HsCode = Annotated[str, AfterValidator(_hs_code)]
Sha256 = Annotated[str, AfterValidator(_sha256)]
NonNegative = Annotated[float, Field(ge=0)]


def _storable_text(value: Any) -> Any:
    """Refuse text that a database cannot store, in a string or a list of strings."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and (reason := unstorable_reason(text)):
            raise ValueError(reason)
    return value


class _Model(BaseModel):
    # Infinity and NaN are not amounts; JSON has no literal for them, Python's parser accepts them.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return _storable_text(value)


class PartyRole(StrEnum):
    IMPORTER = "importer"
    DECLARANT = "declarant"
    SELLER = "seller"
    COURIER = "courier"


Code = Annotated[str, Field(max_length=16)]  # a procedure, transport-mode or indicator code (String(16))


class Party(_Model):
    id: Id64
    name: str | None = Field(default=None, max_length=NAME_LENGTH)
    address: str | None = Field(default=None, max_length=ADDRESS_LENGTH)
    country: CountryCode | None = None


class Procedure(_Model):
    process_type: Code | None = None
    import_type: Code | None = None
    import_use: Code | None = None
    payment_type: Code | None = None


class Transport(_Model):
    mode: Code | None = None
    departure_country: CountryCode | None = None
    transit_countries: list[CountryCode] = Field(default_factory=list, max_length=40)
    origin_country: CountryCode | None = None
    origin_indicator: Code | None = None
    means_id: Id64 | None = None
    container_ids: list[Id32] = Field(default_factory=list, max_length=MAX_CONTAINERS)


class GoodsItem(_Model):
    item_no: int = Field(default=1, ge=1, le=MAX_ITEM_NO)
    hs_code: HsCode
    description: str | None = None
    net_mass: NonNegative | None = Field(default=None, description="kilograms")
    quantity: NonNegative | None = None
    quantity_unit: str | None = None
    customs_value: NonNegative
    currency: CurrencyCode
    tax_rate: NonNegative | None = Field(default=None, description="percent")
    tax_type: str | None = None


class Document(_Model):
    type: str = Field(min_length=1, max_length=64)
    number: Id128
    sha256: Sha256 | None = None
    issuer: Id128 | None = Field(
        default=None, description="who issued it (a chamber, an exporter, an authority)"
    )


class Declaration(_Model):
    """One customs declaration as borderwatch understands it, whatever format it arrived in."""

    lrn: Id64 = Field(description="Local reference number: the declaration's id")
    date: Day
    office: Id32
    procedure: Procedure = Field(default_factory=Procedure)
    transport: Transport = Field(default_factory=Transport)
    parties: dict[PartyRole, Party] = Field(default_factory=dict)
    items: list[GoodsItem] = Field(min_length=1, max_length=MAX_ITEMS)
    documents: list[Document] = Field(default_factory=list, max_length=MAX_DOCUMENTS)

    @model_validator(mode="after")
    def _bounded_copies(self) -> Declaration:
        # Flattened for validation and storage, each goods item carries the declaration's own fields: many
        # items times long parties or documents would cost memory far beyond the size of the line.
        if len(self.items) * OWN_FIELDS_BOUND <= MAX_COPIED_BYTES:
            return self  # cannot exceed it: no JSON rendering (a twentieth of an EDIFACT read)
        own = len(self.model_dump_json(exclude={"items"}))
        if len(self.items) * own > MAX_COPIED_BYTES:
            raise ValueError(
                f"has {len(self.items):,} goods items and {own:,} bytes of its own fields (parties,"
                f" transport, documents), {len(self.items) * own:,} bytes once per item, more than"
                f" {MAX_COPIED_BYTES:,}; split it into declarations of fewer items"
            )
        return self


class ManifestLine(_Model):
    """One goods item (or a consignment without items) as a carrier reported it (CUSCAR, IFTMCS): what
    reconciliation compares with the declarations."""

    message_type: Annotated[str, Field(min_length=1, max_length=16)]
    manifest_ref: Id64
    arrival_on: Day | None = None
    voyage: Annotated[str, Field(max_length=64)] | None = None
    carrier_id: Annotated[str, Field(max_length=64)] | None = None
    means_id: Annotated[str, Field(max_length=64)] | None = None
    loading_port: Annotated[str, Field(max_length=16)] | None = None
    discharge_port: Annotated[str, Field(max_length=16)] | None = None
    consignment_ref: Id64
    consignor: str | None = Field(default=None, max_length=NAME_LENGTH)
    consignee: str | None = Field(default=None, max_length=NAME_LENGTH)
    item_no: int = Field(default=1, ge=1, le=MAX_ITEM_NO)
    description: str | None = None
    hs_code: HsCode | None = None
    packages: NonNegative | None = None
    package_type: Annotated[str, Field(max_length=16)] | None = None
    gross_mass: NonNegative | None = Field(default=None, description="kilograms")
    container_ids: list[Id32] = Field(default_factory=list, max_length=MAX_CONTAINERS)


class Outcome(_Model):
    """What an inspection of a declaration found; linked by LRN, dated when it became known."""

    lrn: Id64
    recorded_on: Day
    fraud: bool
    critical_fraud: int = Field(default=0, ge=0, le=2)
    duty_recovered: NonNegative | None = None
    findings: str | None = None
    source: str = "inspection"


def reason_of(error: ErrorDetails) -> tuple[str, str]:
    """``(field, reason)`` of a pydantic error, worded as the CSV checks word the same problem."""
    field = ".".join(str(part) for part in error["loc"]) or "record"
    value: Any = error.get("input")
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        reason = str(ctx.get("error", error["msg"]))
    elif kind == "missing" or (kind in {"string_too_short", "too_short"} and ctx.get("min_length") == 1):
        reason = MISSING
    elif kind == "greater_than_equal" and ctx.get("ge") == 0:
        reason = f"'{value}'{NEGATIVE_REASON}"
    elif kind.startswith("date"):
        reason = not_a_date(value, "%Y-%m-%d")
    elif kind.startswith(("float", "int")):
        reason = f"'{value}'{NOT_A_NUMBER_REASON}"
    elif kind == "string_too_long":
        reason = too_long(int(ctx.get("max_length", 0)))
    elif kind == "too_long" and field == "items":
        reason = TOO_MANY_ITEMS
    elif kind == "too_long":
        reason = f"has more than {ctx.get('max_length')} entries"
    elif kind == "finite_number":
        reason = f"'{value}'{NOT_A_NUMBER_REASON}"
    elif kind == "less_than_equal" and field.endswith("item_no"):
        reason = f"'{value}' is not an item number (1 to {MAX_ITEM_NO:,})"
    else:
        reason = error["msg"]
    return field, reason
