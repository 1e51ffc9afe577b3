"""The canonical declaration at the boundary (pydantic), independent of how it is stored.

Inspection outcomes are separate records (``Outcome``): in production they arrive after the declaration.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

HS_CODE = re.compile(r"^\d{6,10}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

# One wording for each problem, shared by this pydantic boundary and the vectorised CSV checks
# (``validate.py``): a reason is the offending value in single quotes followed by one of these.
MISSING = "is missing"
HS_REASON = " is not an HS code of 6 to 10 digits"
COUNTRY_REASON = " is not an ISO 3166 country code"
CURRENCY_REASON = " is not an ISO 4217 currency code"
NEGATIVE_REASON = " is negative; it must be 0 or more"
NOT_A_NUMBER_REASON = " is not a number"


def not_a_date(value: object, date_format: str) -> str:
    return f"'{value}' is not a date in the format {date_format}"


def too_long(limit: int) -> str:
    return f"is longer than {limit} characters"


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, plus ``EU``, ``XK`` (Kosovo) and ``ZZ`` (unknown) that customs data use."""
    return frozenset({c.alpha_2 for c in pycountry.countries} | {"EU", "XK", "ZZ"})


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


CountryCode = Annotated[str, AfterValidator(_country)]
CurrencyCode = Annotated[str, AfterValidator(_currency)]
HsCode = Annotated[str, AfterValidator(_hs_code)]
Sha256 = Annotated[str, AfterValidator(_sha256)]
NonNegative = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class PartyRole(StrEnum):
    IMPORTER = "importer"
    DECLARANT = "declarant"
    SELLER = "seller"
    COURIER = "courier"


class Party(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str | None = None
    address: str | None = None
    country: CountryCode | None = None


class Procedure(_Model):
    process_type: str | None = None
    import_type: str | None = None
    import_use: str | None = None
    payment_type: str | None = None


class Transport(_Model):
    mode: str | None = None
    departure_country: CountryCode | None = None
    transit_countries: list[CountryCode] = Field(default_factory=list)
    origin_country: CountryCode | None = None
    origin_indicator: str | None = None
    means_id: str | None = None
    container_ids: list[str] = Field(default_factory=list)


class GoodsItem(_Model):
    item_no: int = Field(default=1, ge=1)
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
    type: str = Field(min_length=1)
    number: str = Field(min_length=1)
    sha256: Sha256 | None = None


class Declaration(_Model):
    """One customs declaration as borderwatch understands it, whatever format it arrived in."""

    lrn: str = Field(min_length=1, max_length=64, description="Local reference number: the declaration's id")
    date: date
    office: str = Field(min_length=1)
    procedure: Procedure = Field(default_factory=Procedure)
    transport: Transport = Field(default_factory=Transport)
    parties: dict[PartyRole, Party] = Field(default_factory=dict)
    items: list[GoodsItem] = Field(min_length=1)
    documents: list[Document] = Field(default_factory=list)


class Outcome(_Model):
    """What an inspection of a declaration found; linked by LRN, dated when it became known."""

    lrn: str = Field(min_length=1, max_length=64)
    recorded_on: date
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
    elif kind == "missing" or (kind == "string_too_short" and not value):
        reason = MISSING
    elif kind == "greater_than_equal" and ctx.get("ge") == 0:
        reason = f"'{value}'{NEGATIVE_REASON}"
    elif kind.startswith("date"):
        reason = not_a_date(value, "%Y-%m-%d")
    elif kind.startswith(("float", "int")):
        reason = f"'{value}'{NOT_A_NUMBER_REASON}"
    elif kind == "string_too_long":
        reason = too_long(int(ctx.get("max_length", 0)))
    else:
        reason = error["msg"]
    return field, reason
