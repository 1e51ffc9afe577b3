"""Is a received object valid STIX 2.1? A fast structural check of every object of an envelope.

``stix2-validator`` (strict) is what the tests hold served objects to; on the ingest path, at thousands of
objects a second, this module checks what makes an object unusable or unsafe to store: the type and id
grammar, the spec version, timestamps, the required properties of each STIX 2.1 type, reference syntax,
property names, and indicator patterns (``intel.patterns``). Each failure is one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from borderwatch.intel.patterns import pattern_errors

TYPE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
IDENTIFIER = re.compile(rf"^([a-z0-9][a-z0-9-]{{1,248}}[a-z0-9])--{_UUID}$")
_PROPERTY = re.compile(r"^[a-z0-9_]{3,250}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

SDO_REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "location": (),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
    "language-content": ("object_ref", "object_modified", "contents"),
    "extension-definition": ("created_by_ref", "name", "schema", "version", "extension_types"),
}
META_TYPES = frozenset({"marking-definition", "extension-definition", "language-content"})
SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)
TIMESTAMP_PROPERTIES = (
    "created",
    "modified",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
    "published",
)


class InvalidObject(ValueError):  # noqa: N818 - a failure of one object, reported in the status resource
    """Why one object of an envelope was not stored."""


def parse_timestamp(value: str) -> datetime:
    """A STIX/TAXII timestamp (``...Z``) as an aware datetime; ``ValueError`` if it is not one."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a timestamp like 2026-01-31T12:00:00.000Z")
    return _parse_timestamp(value)


# The objects of an envelope share a few timestamps (created, modified, valid_from): each is parsed once
# (parsing was a third of the ingest's checking, bench/intel.py).
@lru_cache(maxsize=8192)
def _parse_timestamp(value: str) -> datetime:
    if not _TIMESTAMP.match(value):
        raise ValueError(f"{value!r} is not a timestamp like 2026-01-31T12:00:00.000Z")
    fraction = value[20:-1]
    return datetime(
        int(value[0:4]),
        int(value[5:7]),
        int(value[8:10]),
        int(value[11:13]),
        int(value[14:16]),
        int(value[17:19]),
        int(fraction[:6].ljust(6, "0")) if fraction else 0,
        tzinfo=UTC,
    )


@lru_cache(maxsize=8192)
def canonical_timestamp(value: str) -> str:
    """A timestamp with microseconds, so versions sort and compare as strings."""
    return parse_timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


BAD_NAME, PLAIN_NAME, REF_NAME, REFS_NAME = range(4)


@lru_cache(maxsize=4096)
def property_kind(name: str) -> int:
    """What a property name is: not a STIX name, a plain one, a ``_ref`` or a ``_refs`` (names repeat
    across objects: decided once each)."""
    if name != "id" and _PROPERTY.match(name) is None:
        return BAD_NAME
    return REF_NAME if name.endswith("_ref") else REFS_NAME if name.endswith("_refs") else PLAIN_NAME


@lru_cache(maxsize=8192)
def is_identifier(value: str) -> bool:
    return IDENTIFIER.match(value) is not None


def display_timestamp(canonical: str) -> str:
    """A stored version as clients expect it: milliseconds when that is all it has, else microseconds."""
    if canonical.endswith("000Z"):
        return canonical[:-4] + "Z"
    return canonical


@dataclass(frozen=True, slots=True)
class _Shape:
    """What an object's property names alone decide (objects of one kind share them: decided once each)."""

    early: str | None
    """a bad property name, or created/modified missing"""
    timestamps: tuple[str, ...]
    late: str | None
    """a type that is neither STIX nor defined by an extension, or a required property missing"""
    refs: tuple[tuple[str, bool], ...]
    """the reference properties in the object's order, and whether each is a list (``_refs``)"""
    last: str | None
    """a marking-definition without its definition"""


@lru_cache(maxsize=4096)
def _shape(kind: str, names: tuple[str, ...], is_sco: bool, new_kind: bool) -> _Shape:
    present = set(names)
    kinds = [property_kind(name) for name in names]
    early = next(
        (
            f"property name {name!r} is not 3-250 lowercase letters, digits or '_'"
            for name, kind_of_name in zip(names, kinds, strict=True)
            if kind_of_name == BAD_NAME
        ),
        None,
    )
    if early is None and not is_sco:
        if "created" not in present:
            early = "created is required"
        elif kind != "marking-definition" and "modified" not in present:
            early = "modified is required"
    late = None
    known = kind in SDO_REQUIRED or kind in SCO_TYPES or kind == "marking-definition"
    if not known and not kind.startswith("x-") and not new_kind:
        late = f"type {kind!r} is neither a STIX 2.1 type nor defined by an extension"
    else:
        late = next(
            (f"{kind} requires {name}" for name in SDO_REQUIRED.get(kind, ()) if name not in present), None
        )
    last = None
    if kind == "marking-definition" and "definition_type" not in present and "extensions" not in present:
        last = "a marking-definition needs definition_type and definition, or extensions"
    return _Shape(
        early=early,
        timestamps=tuple(name for name in TIMESTAMP_PROPERTIES if name in present),
        late=late,
        refs=tuple(
            (name, kind_of_name == REFS_NAME)
            for name, kind_of_name in zip(names, kinds, strict=True)
            if kind_of_name in {REF_NAME, REFS_NAME}
        ),
        last=last,
    )


def check_object(obj: Any) -> str:
    """The object's STIX id if it is valid STIX 2.1, else :class:`InvalidObject` saying why.

    What depends on the property names only (their grammar, the required ones, which are references and
    timestamps) is decided once per kind and set of names (``_shape``); the values are checked per object.
    ``tests/unit/test_intel_validate.py`` holds it to the plain one-pass version it replaced."""
    if not isinstance(obj, dict):
        raise InvalidObject("not a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str) or not TYPE_NAME.match(kind):
        raise InvalidObject(f"type {kind!r} is not a STIX type name")
    identifier = obj.get("id")
    if not isinstance(identifier, str):
        raise InvalidObject("no id")
    found = IDENTIFIER.match(identifier)
    if found is None or found.group(1) != kind:
        raise InvalidObject(f"id {identifier!r} is not {kind}--<UUID>")
    new_kind = new_kind_of(obj) if "extensions" in obj else None
    is_sco = kind in SCO_TYPES or new_kind == "new-sco"
    version = obj.get("spec_version")
    if version is None and not is_sco:
        raise InvalidObject("spec_version is required")
    if version is not None and version != "2.1":
        raise InvalidObject(f"spec_version {version!r} is not 2.1")
    shape = _shape(kind, tuple(obj), is_sco, new_kind is not None)
    if shape.early is not None:
        raise InvalidObject(shape.early)
    for name in shape.timestamps:
        try:
            parse_timestamp(obj[name])
        except ValueError as error:
            raise InvalidObject(f"{name}: {error}") from None
    if "created" in obj and "modified" in obj:  # noqa: SIM102
        if _parse_timestamp(obj["modified"]) < _parse_timestamp(obj["created"]):
            raise InvalidObject("modified is before created")
    if shape.late is not None:
        raise InvalidObject(shape.late)
    for name, is_list in shape.refs:
        value = obj[name]
        if is_list:
            if not (
                isinstance(value, list)
                and value
                and all(isinstance(v, str) and is_identifier(v) for v in value)
            ):
                raise InvalidObject(f"{name} must be a non-empty list of identifiers")
        elif not (isinstance(value, str) and is_identifier(value)):
            raise InvalidObject(f"{name} {value!r} is not an identifier")
    if kind == "indicator" and obj.get("pattern_type") == "stix":
        errors = pattern_errors(str(obj["pattern"]))
        if errors:
            raise InvalidObject(f"pattern: {errors[0]}")
    if shape.last is not None:
        raise InvalidObject(shape.last)
    return identifier


def new_kind_of(obj: dict[str, Any]) -> str | None:
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict):
        return None
    for value in extensions.values():
        if isinstance(value, dict) and str(value.get("extension_type", "")).startswith("new-"):
            return str(value["extension_type"])
    return None


def markings_of(obj: dict[str, Any]) -> list[str]:
    """The marking-definition ids an object refers to (object and granular markings)."""
    refs = list(obj.get("object_marking_refs") or [])
    for granular in obj.get("granular_markings") or []:
        if isinstance(granular, dict) and isinstance(granular.get("marking_ref"), str):
            refs.append(granular["marking_ref"])
    return [str(r) for r in refs]
