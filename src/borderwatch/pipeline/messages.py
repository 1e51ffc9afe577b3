"""What travels on the pipeline's subjects: JSON bodies, and the key that makes their effect happen once.

A declaration's key is the SHA-256 of its canonical JSON (parsed by ``ingest.schemas.Declaration`` and
written back with sorted keys), so the same declaration sent twice, however it was spaced or ordered, has
one key: it is the ``Nats-Msg-Id`` JetStream de-duplicates on, and the key of the effects table. A body that
is not a declaration is keyed by its bytes (it ends in the dead-letter subject with its error).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
from pydantic import ValidationError

from borderwatch.core.vocabulary import PARTY_ROLES
from borderwatch.ingest.schemas import Declaration, Outcome, reason_of

MSG_ID = "Nats-Msg-Id"
# Headers a dead letter carries: where it came from and why it failed.
STAGE_HEADER = "Bw-Stage"
SUBJECT_HEADER = "Bw-Subject"
ERROR_HEADER = "Bw-Error"
KEY_HEADER = "Bw-Key"
DELIVERIES_HEADER = "Bw-Deliveries"


class PoisonError(ValueError):
    """A message that no retry can process (not JSON, not a declaration): dead-lettered at once."""


def canonical(declaration: Declaration) -> bytes:
    data = declaration.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_key(body: bytes) -> str:
    """The key of a declaration's body (see the module docstring)."""
    try:
        return hashlib.sha256(canonical(Declaration.model_validate_json(body))).hexdigest()
    except ValidationError:
        return hashlib.sha256(body).hexdigest()


def parse_declaration(body: bytes) -> Declaration:
    """The declaration in ``body``, or :class:`PoisonError` naming the record and the field at fault."""
    try:
        return Declaration.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        field, reason = reason_of(first)
        lrn = _lrn_of(body)
        raise PoisonError(f"declaration {lrn or '(no lrn)'}: field {field}: {reason}") from None


def parse_outcome(body: bytes) -> Outcome:
    """The inspection outcome in ``body``, or :class:`PoisonError` naming the record and field at fault."""
    try:
        return Outcome.model_validate_json(body)
    except ValidationError as error:
        field, reason = reason_of(error.errors()[0])
        lrn = _lrn_of(body)
        raise PoisonError(f"outcome {lrn or '(no lrn)'}: field {field}: {reason}") from None


def _lrn_of(body: bytes) -> str | None:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    lrn = data.get("lrn") if isinstance(data, dict) else None
    return str(lrn)[:64] if lrn is not None else None


@dataclass(frozen=True)
class Stored:
    """A stored declaration, to score (``stored`` subject)."""

    key: str
    lrn: str

    def body(self) -> bytes:
        return json.dumps({"key": self.key, "lrn": self.lrn}).encode()


def decode(body: bytes) -> dict[str, Any]:
    """A stage message's JSON object, or :class:`PoisonError`."""
    try:
        data: Any = json.loads(body)
    except ValueError as error:
        raise PoisonError(f"not JSON: {error}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("key"), str)
        or not isinstance(data.get("lrn"), str)
    ):
        raise PoisonError("not a pipeline message: a JSON object with 'key' and 'lrn' is expected")
    return data


_PARTIES = PARTY_ROLES


def declarations_from_frame(frame: pl.DataFrame) -> Iterator[dict[str, Any]]:
    """Canonical declarations (JSON-ready dicts) from a frame in ``ingest.frame.DECLARATION_SCHEMA`` (one
    row per goods item, rows of a declaration together): how a KCS file is published."""
    for (lrn,), items in frame.group_by("lrn", maintain_order=True):
        first = items.row(0, named=True)
        parties = {role: {"id": first[f"{role}_id"]} for role in _PARTIES if first[f"{role}_id"]}
        transit = (first["transit_countries"] or "").split()
        yield {
            "lrn": lrn,
            "date": first["declared_on"].isoformat(),
            "office": first["office"],
            "procedure": {
                name: first[name]
                for name in ("process_type", "import_type", "import_use", "payment_type")
                if first[name] is not None
            },
            "transport": {
                name: value
                for name, value in (
                    ("mode", first["transport_mode"]),
                    ("departure_country", first["departure_country"]),
                    ("origin_country", first["origin_country"]),
                    ("origin_indicator", first["origin_indicator"]),
                    ("transit_countries", transit or None),
                )
                if value is not None
            },
            "parties": parties,
            "items": [
                {
                    name: value
                    for name, value in (
                        ("item_no", row["item_no"]),
                        ("hs_code", row["hs_code"]),
                        ("net_mass", row["net_mass"]),
                        ("customs_value", row["customs_value"]),
                        ("currency", row["currency"]),
                        ("tax_rate", row["tax_rate"]),
                        ("tax_type", row["tax_type"]),
                    )
                    if value is not None
                }
                for row in items.iter_rows(named=True)
            ],
        }
