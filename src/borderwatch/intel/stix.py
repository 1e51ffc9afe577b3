"""borderwatch records as STIX 2.1 objects (built with the ``stix2`` library) and back.

- a seizure → an ``incident`` carrying the customs-seizure extension (HS code, goods, quantity, concealment,
  route, transport mode, office, date), the parties as ``identity`` objects with the customs-party extension,
  and ``related-to`` relationships between them;
- a targeting rule (a risk profile) → an ``indicator`` whose STIX pattern tests the ``x-customs-declaration``
  observable, with the same condition in borderwatch's field/op/value form in the customs-condition extension
  (what a receiving borderwatch turns back into a risk profile);
- a count of local matches → a ``sighting`` of the producer's indicator, with no declaration details.

Customs content travels only in extensions whose ``extension-definition`` objects (with the JSON schemas in
``intel/schemas/``) are part of every share. Every object carries ``created_by_ref`` (the agency's identity)
and one TLP 2.0 marking.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import stix2

from borderwatch.access.policy import TLP
from borderwatch.intel.tlp import MARKING_IDS
from borderwatch.scoring.profiles import AllOf, AnyOf, Effect, Leaf, RiskProfile

SCHEMA_DIR = Path(__file__).parent / "schemas"
NAMESPACE = uuid.UUID("8a3c6f0e-6f4b-4e0e-9a57-2d4c1b1f6c15")
OBSERVABLE = "x-customs-declaration"
# The project's own identity: it defines the customs extensions that every borderwatch agency shares.
PROJECT_IDENTITY = "identity--5d3e1bf0-8d7c-4f57-9a51-58e8d2c3b0a1"
_CREATED = "2026-12-01T00:00:00.000Z"


@dataclass(frozen=True, slots=True)
class Extension:
    name: str
    kind: str
    """STIX extension type: property-extension or new-sco"""
    version: str = "1.0.0"

    @property
    def id(self) -> str:
        return stable_id("extension-definition", self.name, self.version)

    def schema(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((SCHEMA_DIR / f"{self.name}.json").read_text(encoding="utf-8"))
        return loaded


SEIZURE = Extension("customs-seizure", "property-extension")
PARTY = Extension("customs-party", "property-extension")
CONDITION = Extension("customs-condition", "property-extension")
DECLARATION = Extension("customs-declaration", "new-sco")
EXTENSIONS = (SEIZURE, PARTY, CONDITION, DECLARATION)


def stable_id(kind: str, *parts: str) -> str:
    """A STIX id that is the same every time the same record is shared (new versions, not new objects).

    STIX 2.1 wants UUIDv4 for everything but observables: the name-based hash is laid out as a version 4
    UUID (random-looking, and the same for the same record)."""
    digest = uuid.uuid5(NAMESPACE, ":".join(parts)).bytes
    return f"{kind}--{uuid.UUID(bytes=digest, version=4)}"


def timestamp(moment: dt.datetime) -> str:
    """A STIX timestamp in UTC with milliseconds, as the spec recommends."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _plain(obj: Any) -> dict[str, Any]:
    serialised: dict[str, Any] = json.loads(obj.serialize())
    return serialised


def agency_identity(agency: str) -> dict[str, Any]:
    """The STIX identity of a borderwatch agency: every object it shares names it in ``created_by_ref``."""
    return _plain(
        stix2.v21.Identity(
            id=stable_id("identity", "agency", agency),
            created=_CREATED,
            modified=_CREATED,
            name=agency,
            description=f"Customs agency {agency}, sharing through borderwatch",
            identity_class="organization",
            sectors=["government-national"],
            object_marking_refs=[MARKING_IDS[TLP.CLEAR]],
        )
    )


def project_identity() -> dict[str, Any]:
    return _plain(
        stix2.v21.Identity(
            id=PROJECT_IDENTITY,
            created=_CREATED,
            modified=_CREATED,
            name="borderwatch",
            description="The borderwatch project, which defines the customs STIX extensions",
            identity_class="system",
            object_marking_refs=[MARKING_IDS[TLP.CLEAR]],
        )
    )


@cache
def _extension_definitions() -> tuple[str, ...]:
    objects = []
    for extension in EXTENSIONS:
        schema = extension.schema()
        objects.append(
            json.dumps(
                _plain(
                    stix2.v21.ExtensionDefinition(
                        id=extension.id,
                        created_by_ref=PROJECT_IDENTITY,
                        created=_CREATED,
                        modified=_CREATED,
                        name=extension.name,
                        description=schema["description"],
                        schema=json.dumps(schema, sort_keys=True),
                        version=extension.version,
                        extension_types=[extension.kind],
                        object_marking_refs=[MARKING_IDS[TLP.CLEAR]],
                    )
                )
            )
        )
    return tuple(objects)


def extension_definitions() -> list[dict[str, Any]]:
    """The ``extension-definition`` objects of the customs extensions, schemas included."""
    return [json.loads(text) for text in _extension_definitions()]


# --- seizures -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    role: str
    party_id: str | None
    name: str
    country: str | None = None


@dataclass(frozen=True, slots=True)
class SeizureRecord:
    """What a partner can act on from one closed case with a seizure."""

    case_id: int
    seized_on: dt.date
    hs_code: str
    goods: str
    quantity: float | None = None
    quantity_unit: str | None = None
    concealment: str | None = None
    origin_country: str | None = None
    departure_country: str | None = None
    transit_countries: tuple[str, ...] = ()
    transport_mode: str | None = None
    office: str | None = None
    parties: tuple[Party, ...] = field(default_factory=tuple)


_LEGAL_FORMS = re.compile(
    r"\b(ltd|limited|llc|inc|corp|corporation|co|company|gmbh|ag|sa|sas|sarl|srl|spa|bv|nv|plc|oy|ab|as|"
    r"kg|pte|pty|jsc|ojsc|ooo|fze|fzco|trading|logistics|shipping|industries|group|holdings?|"
    r"import|export|enterprises?)\b\.?",
    re.IGNORECASE,
)


def is_natural_person(name: str) -> bool:
    """Whether a party name is (as far as can be told) a natural person's: anything without a legal form or
    a trade word is taken for one, so that personal data is minimised when in doubt."""
    return _LEGAL_FORMS.search(name) is None


Pseudonymise = Callable[[str], str]


def _party_object(
    party: Party, *, agency: str, marking: str, created: str, pseudonymise: Pseudonymise | None
) -> dict[str, Any]:
    person = is_natural_person(party.name)
    hidden = person and pseudonymise is not None
    name = f"person {pseudonymise(party.name)}" if hidden and pseudonymise else party.name
    party_id = party.party_id
    if hidden and pseudonymise and party_id:
        party_id = pseudonymise(party_id)
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "natural_person": person,
        "pseudonymised": hidden,
    }
    if party_id:
        extension["party_id"] = party_id
    if party.country:
        extension["country"] = party.country
    return _plain(
        stix2.v21.Identity(
            id=stable_id("identity", agency, "party", party_id or name),
            created_by_ref=stable_id("identity", "agency", agency),
            created=created,
            modified=created,
            name=name,
            description=f"{party.role} in a customs seizure",
            identity_class="individual" if person else "organization",
            object_marking_refs=[marking],
            extensions={PARTY.id: extension},
        )
    )


def seizure_objects(
    record: SeizureRecord,
    *,
    agency: str,
    tlp: TLP,
    now: dt.datetime,
    pseudonymise: Pseudonymise | None,
) -> list[dict[str, Any]]:
    """The STIX objects of one seizure: the incident, its parties and the relationships between them.

    ``pseudonymise`` (a keyed hash) replaces natural persons' names and identifiers; None lets them leave
    in clear (the sharing group's agreement allows personal data)."""
    marking = MARKING_IDS[tlp]
    created = timestamp(now)
    creator = stable_id("identity", "agency", agency)
    parties = [
        _party_object(p, agency=agency, marking=marking, created=created, pseudonymise=pseudonymise)
        for p in record.parties
    ]
    route: dict[str, Any] = {}
    if record.origin_country:
        route["origin_country"] = record.origin_country
    if record.departure_country:
        route["departure_country"] = record.departure_country
    if record.transit_countries:
        route["transit_countries"] = list(record.transit_countries)
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "hs_code": record.hs_code,
        "goods": record.goods,
        "seized_on": record.seized_on.isoformat(),
    }
    optional = {
        "quantity": record.quantity,
        "quantity_unit": record.quantity_unit,
        "concealment": record.concealment,
        "route": route or None,
        "transport_mode": record.transport_mode,
        "office": record.office,
        "party_refs": [p["id"] for p in parties] or None,
        "party_roles": {p["id"]: party.role for p, party in zip(parties, record.parties, strict=True)}
        or None,
    }
    extension.update({key: value for key, value in optional.items() if value is not None})
    incident_id = stable_id("incident", agency, "case", str(record.case_id))
    incident = _plain(
        stix2.v21.Incident(
            id=incident_id,
            created_by_ref=creator,
            created=created,
            modified=created,
            name=f"Customs seizure: {record.goods} (HS {record.hs_code})",
            description=_seizure_summary(record),
            object_marking_refs=[marking],
            extensions={SEIZURE.id: extension},
        )
    )
    relationships = [
        _plain(
            stix2.v21.Relationship(
                id=stable_id("relationship", incident_id, p["id"]),
                created_by_ref=creator,
                created=created,
                modified=created,
                relationship_type="related-to",
                source_ref=incident_id,
                target_ref=p["id"],
                description=f"the {party.role} of the seized consignment",
                object_marking_refs=[marking],
            )
        )
        for p, party in zip(parties, record.parties, strict=True)
    ]
    return [incident, *parties, *relationships]


def _seizure_summary(record: SeizureRecord) -> str:
    parts = [f"{record.goods} seized on {record.seized_on.isoformat()}"]
    if record.quantity is not None:
        parts.append(f"quantity {record.quantity:g} {record.quantity_unit or ''}".strip())
    if record.concealment:
        parts.append(f"concealed: {record.concealment}")
    route = [c for c in (record.origin_country, record.departure_country, *record.transit_countries) if c]
    if route:
        parts.append("route " + " → ".join(route))
    return "; ".join(parts)


# --- indicators ---------------------------------------------------------------------------------------------


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # patterns have no exponent notation
        return format(Decimal(repr(value)), "f")
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _text_test(path: str, value: Any, *, anchored: bool) -> str:
    """``startswith`` / ``contains`` as LIKE, or as a regular expression when the text holds LIKE's own
    wildcards (STIX patterns have no escape for them)."""
    text = str(value)
    if "%" in text or "_" in text:
        return f"{path} MATCHES {_literal(('^' if anchored else '') + re.escape(text))}"
    like = text + "%" if anchored else f"%{text}%"
    return f"{path} LIKE {_literal(like)}"


def _leaf_pattern(leaf: Leaf) -> str:
    path = f"{OBSERVABLE}:{leaf.field}"
    value = leaf.value
    match leaf.op:
        case "eq":
            return f"{path} = {_literal(value)}"
        case "ne":
            return f"{path} != {_literal(value)}"
        case "in" | "not_in":
            items = ", ".join(_literal(v) for v in (value if isinstance(value, list) else [value]))
            return f"{path} {'NOT IN' if leaf.op == 'not_in' else 'IN'} ({items})"
        case "gt" | "ge" | "lt" | "le":
            symbol = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[leaf.op]
            return f"{path} {symbol} {_literal(value)}"
        case "between":
            assert isinstance(value, list)
            return f"({path} >= {_literal(value[0])} AND {path} <= {_literal(value[1])})"
        case "startswith":
            return _text_test(path, value, anchored=True)
        case "contains":
            return _text_test(path, value, anchored=False)
        case "is_null":
            return f"NOT EXISTS {path}"
        case "not_null":
            return f"EXISTS {path}"
    raise AssertionError(leaf.op)


def condition_pattern(condition: Leaf | AllOf | AnyOf) -> str:
    """The STIX pattern (one observation of ``x-customs-declaration``) that says what ``condition`` says."""

    def walk(node: Leaf | AllOf | AnyOf, top: bool) -> str:
        if isinstance(node, Leaf):
            return _leaf_pattern(node)
        children, joiner = (node.all, " AND ") if isinstance(node, AllOf) else (node.any, " OR ")
        text = joiner.join(walk(child, False) for child in children)
        return text if top or len(children) == 1 else f"({text})"

    return f"[{walk(condition, True)}]"


def indicator_object(
    profile: RiskProfile,
    *,
    agency: str,
    tlp: TLP,
    now: dt.datetime,
    valid_until: dt.datetime | None = None,
    kind: str = "profile",
) -> dict[str, Any]:
    """A risk profile as a STIX indicator: the pattern over ``x-customs-declaration`` and the same
    condition (field/op/value) with the producer's points in the customs-condition extension."""
    created = timestamp(now)
    valid_from = (
        timestamp(dt.datetime.combine(profile.valid_from, dt.time(), tzinfo=dt.UTC))
        if profile.valid_from
        else created
    )
    if valid_until is None and profile.valid_to is not None:
        valid_until = dt.datetime.combine(profile.valid_to, dt.time(23, 59, 59), tzinfo=dt.UTC)
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "when": profile.when.model_dump(mode="json", exclude_none=True),
        "add_points": profile.effect.add_points or 0.0,
        "kind": kind,
    }
    arguments: dict[str, Any] = {
        "id": stable_id("indicator", agency, "profile", profile.id),
        "created_by_ref": stable_id("identity", "agency", agency),
        "created": created,
        "modified": created,
        "name": profile.name,
        "description": profile.rationale,
        "indicator_types": ["malicious-activity"],
        "pattern": condition_pattern(profile.when),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": valid_from,
        "object_marking_refs": [MARKING_IDS[tlp]],
        "extensions": {CONDITION.id: extension},
    }
    if valid_until is not None:
        arguments["valid_until"] = timestamp(valid_until)
    return _plain(stix2.v21.Indicator(**arguments))


@dataclass(frozen=True, slots=True)
class ReceivedIndicator:
    """A partner's indicator as a local risk profile, with where it came from."""

    indicator_id: str
    partner: str
    profile: RiskProfile


def profile_id_of(indicator_id: str) -> str:
    """The local risk-profile id of a received indicator (a safe file name, one per indicator)."""
    return "intel-" + indicator_id.split("--", 1)[1][:32]


def indicator_profile(
    obj: dict[str, Any], *, partner: str, points: float | None = None, force_lane: str | None = None
) -> ReceivedIndicator:
    """A received indicator as a risk profile that adds points (and forces ``force_lane`` where the receiving
    agency decided so), with a reason naming the partner and the indicator, valid until the indicator's
    ``valid_until``. Raises ``ValueError`` for an indicator that does not carry a customs condition
    borderwatch can evaluate."""
    extension = (obj.get("extensions") or {}).get(CONDITION.id)
    if not isinstance(extension, dict) or "when" not in extension:
        raise ValueError(f"{obj.get('id')}: no customs-condition extension")
    when = extension["when"]
    if "all" not in when and "any" not in when:
        when = {"all": [when]}
    given = float(extension.get("add_points") or 0.0)
    valid_until = obj.get("valid_until")
    valid_from = obj.get("valid_from")
    profile = RiskProfile.model_validate(
        {
            "id": profile_id_of(str(obj["id"])),
            "name": f"{partner}: {obj.get('name') or obj['id']}",
            "rationale": f"indicator {obj['id']} shared by {partner}"
            + (f": {obj['description']}" if obj.get("description") else ""),
            "author": f"intel:{partner}",
            "when": when,
            "effect": Effect(
                add_points=points if points is not None else (given or 20.0),
                force_lane=force_lane,
            ),
            "valid_from": str(valid_from)[:10] if valid_from else None,
            "valid_to": str(valid_until)[:10] if valid_until else None,
        }
    )
    return ReceivedIndicator(indicator_id=str(obj["id"]), partner=partner, profile=profile)


# --- sightings ----------------------------------------------------------------------------------------------


def sighting_object(
    *,
    indicator_id: str,
    count: int,
    agency: str,
    tlp: TLP,
    first_seen: dt.datetime,
    last_seen: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:
    """A count of local matches of a partner's indicator: no declaration, party or trade detail."""
    created = timestamp(now)
    return _plain(
        stix2.v21.Sighting(
            id=stable_id("sighting", agency, indicator_id),
            created_by_ref=stable_id("identity", "agency", agency),
            created=created,
            modified=created,
            description=f"{count} local declarations matched this indicator",
            sighting_of_ref=indicator_id,
            count=count,
            first_seen=timestamp(first_seen),
            last_seen=timestamp(max(last_seen, first_seen)),
            object_marking_refs=[MARKING_IDS[tlp]],
        )
    )


def bundle_ids(objects: Sequence[dict[str, Any]]) -> list[str]:
    return [str(o["id"]) for o in objects]
