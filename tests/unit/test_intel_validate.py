"""How a received envelope is read (each object's text kept as sent) and checked. The ingest check of
received objects (``intel.validate.check_object``) decides what depends on property
names once per shape of object; it must accept and refuse exactly what the plain one-pass check it replaced
did, with the same first reason. The plain check is kept here as the reference."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.intel.patterns import pattern_errors
from borderwatch.intel.store import IntelError, read_envelope
from borderwatch.intel.validate import (
    BAD_NAME,
    IDENTIFIER,
    REF_NAME,
    REFS_NAME,
    SCO_TYPES,
    SDO_REQUIRED,
    TIMESTAMP_PROPERTIES,
    TYPE_NAME,
    InvalidObject,
    check_object,
    is_identifier,
    new_kind_of,
    parse_timestamp,
    property_kind,
)
from tests.hypothesis_profiles import examples


def reference_check(obj: Any) -> str:  # noqa: C901 - the one-pass version, kept as it was
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
    is_sco = kind in SCO_TYPES or new_kind_of(obj) == "new-sco"
    version = obj.get("spec_version")
    if version is None and not is_sco:
        raise InvalidObject("spec_version is required")
    if version is not None and version != "2.1":
        raise InvalidObject(f"spec_version {version!r} is not 2.1")
    kinds = [property_kind(name) for name in obj]
    for name, kind_of_name in zip(obj, kinds, strict=True):
        if kind_of_name == BAD_NAME:
            raise InvalidObject(f"property name {name!r} is not 3-250 lowercase letters, digits or '_'")
    if not is_sco:
        if "created" not in obj:
            raise InvalidObject("created is required")
        if kind != "marking-definition" and "modified" not in obj:
            raise InvalidObject("modified is required")
    for name in TIMESTAMP_PROPERTIES:
        if name in obj:
            try:
                parse_timestamp(obj[name])
            except ValueError as error:
                raise InvalidObject(f"{name}: {error}") from None
    if "created" in obj and "modified" in obj:  # noqa: SIM102
        if parse_timestamp(obj["modified"]) < parse_timestamp(obj["created"]):
            raise InvalidObject("modified is before created")
    known = kind in SDO_REQUIRED or kind in SCO_TYPES or kind == "marking-definition"
    if not known and not kind.startswith("x-") and new_kind_of(obj) is None:
        raise InvalidObject(f"type {kind!r} is neither a STIX 2.1 type nor defined by an extension")
    for name in SDO_REQUIRED.get(kind, ()):
        if name not in obj:
            raise InvalidObject(f"{kind} requires {name}")
    for (name, value), kind_of_name in zip(obj.items(), kinds, strict=True):
        if kind_of_name == REF_NAME and not (isinstance(value, str) and is_identifier(value)):
            raise InvalidObject(f"{name} {value!r} is not an identifier")
        if kind_of_name == REFS_NAME and not (
            isinstance(value, list) and value and all(isinstance(v, str) and is_identifier(v) for v in value)
        ):
            raise InvalidObject(f"{name} must be a non-empty list of identifiers")
    if kind == "indicator" and obj.get("pattern_type") == "stix":
        errors = pattern_errors(str(obj["pattern"]))
        if errors:
            raise InvalidObject(f"pattern: {errors[0]}")
    if kind == "marking-definition" and "definition_type" not in obj and "extensions" not in obj:
        raise InvalidObject("a marking-definition needs definition_type and definition, or extensions")
    return identifier


def outcome(check: Any, obj: Any) -> tuple[bool, str]:
    try:
        return True, check(obj)
    except InvalidObject as error:
        return False, str(error)


UUIDS = st.sampled_from(
    ["7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "not-a-uuid"]
)
KINDS = st.sampled_from(
    [
        "indicator",
        "identity",
        "incident",
        "relationship",
        "sighting",
        "marking-definition",
        "ipv4-addr",
        "x-customs-seizure",
        "customs-thing",
        "Bad_Type",
    ]
)
STAMPS = st.sampled_from(
    ["2026-11-01T12:00:00.000Z", "2026-11-02T08:00:00Z", "2026-10-01T00:00:00.123456Z", "yesterday", 17]
)
REFS = st.one_of(
    st.builds(lambda k, u: f"{k}--{u}", KINDS, UUIDS),
    st.lists(st.builds(lambda k, u: f"{k}--{u}", KINDS, UUIDS), max_size=2),
    st.integers(),
)
PATTERNS = st.sampled_from(
    [
        "[x-customs-declaration:hs_code = '240220']",
        "[x-customs-declaration:hs_code = '240220' AND x-customs-declaration:origin_country = 'VN']",
        "[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value = 'example.com']",
        "[x-customs-declaration:hs_code = ]",
        "not a pattern",
    ]
)
VALUES: dict[str, Any] = {
    "spec_version": st.sampled_from(["2.1", "2.0", None]),
    "created": STAMPS,
    "modified": STAMPS,
    "valid_from": STAMPS,
    "valid_until": STAMPS,
    "name": st.text(max_size=5),
    "pattern": PATTERNS,
    "pattern_type": st.sampled_from(["stix", "sigma"]),
    "relationship_type": st.just("related-to"),
    "source_ref": REFS,
    "target_ref": REFS,
    "created_by_ref": REFS,
    "object_marking_refs": REFS,
    "sighting_of_ref": REFS,
    "definition_type": st.just("statement"),
    "extensions": st.sampled_from(
        [
            {},
            {"extension-definition--1": {"extension_type": "new-sdo"}},
            {"extension-definition--1": {"extension_type": "new-sco"}},
            {"extension-definition--1": {"extension_type": "property-extension"}},
        ]
    ),
    "x_Bad": st.just(1),
    "ab": st.just(1),
}


@st.composite
def objects(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=1)))
    kind = draw(KINDS)
    obj: dict[str, Any] = {"type": kind, "id": f"{draw(st.one_of(st.just(kind), KINDS))}--{draw(UUIDS)}"}
    names = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=9))
    for name in names:
        value = draw(VALUES[name])
        if value is not None:
            obj[name] = value
    if draw(st.booleans()):  # most objects complete enough to reach the later checks
        for name in ("spec_version", "created", "modified"):
            obj.setdefault(name, "2.1" if name == "spec_version" else "2026-11-01T12:00:00.000Z")
    return obj


@settings(max_examples=examples(300), deadline=None)
@given(objects())
def test_the_shape_cached_check_decides_as_the_one_pass_check(obj: Any) -> None:
    assert outcome(check_object, obj) == outcome(reference_check, obj)


def test_both_checks_refuse_and_accept_the_same_examples() -> None:
    good = {
        "type": "indicator",
        "id": "indicator--7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f",
        "spec_version": "2.1",
        "created": "2026-11-01T12:00:00.000Z",
        "modified": "2026-11-01T12:00:00.000Z",
        "pattern": "[x-customs-declaration:hs_code = '240220']",
        "pattern_type": "stix",
        "valid_from": "2026-11-01T12:00:00.000Z",
    }
    assert check_object(good) == good["id"]
    for change, reason in (
        ({"modified": "2026-10-01T12:00:00.000Z"}, "modified is before created"),
        ({"created_by_ref": "identity--nope"}, "created_by_ref 'identity--nope' is not an identifier"),
        ({"pattern": "[x:y = ]"}, "pattern: "),
        ({"x_Name": 1}, "property name 'x_Name' is not 3-250"),
    ):
        ok, why = outcome(check_object, {**good, **change})
        assert not ok
        assert why.startswith(reason), why
        assert outcome(reference_check, {**good, **change}) == (ok, why)
    missing = {k: v for k, v in good.items() if k != "valid_from"}
    assert outcome(check_object, missing) == (False, "indicator requires valid_from")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(JSON_VALUES, max_size=4),
    st.dictionaries(st.sampled_from(["more", "next", "x"]), JSON_VALUES, max_size=2),
    st.sampled_from([None, 0, 2]),
    st.booleans(),
    st.booleans(),
)
def test_an_envelope_is_read_as_the_json_parser_reads_it_with_each_objects_text(
    objects: list[Any], others: dict[str, Any], indent: int | None, ascii_only: bool, objects_first: bool
) -> None:
    envelope = {"objects": objects, **others} if objects_first else {**others, "objects": objects}
    body = json.dumps(envelope, indent=indent, ensure_ascii=ascii_only).encode()
    read = read_envelope(body, max_length=len(body))
    assert read.objects == json.loads(body)["objects"]
    assert read.texts is not None
    assert [json.loads(text) for text in read.texts] == read.objects
    assert all(text in body.decode() for text in read.texts)


def test_what_is_not_an_envelope_of_json_is_refused_with_the_reason() -> None:
    for body, reason in (
        (b'{"objects": [NaN]}', "not JSON: NaN is not JSON"),
        (b'{"objects": [{"a": Infinity}]}', "not JSON: Infinity is not JSON"),
        (b'{"objects": [1,]}', "not JSON"),
        (b'{"objects": [1]} x', "not JSON"),
        (b'{"objects": 3}', "not a TAXII envelope"),
        (b"[1]", "not a TAXII envelope"),
        (b'{"objects": [1], "objects": {}}', "not a TAXII envelope"),
    ):
        try:
            read_envelope(body, max_length=100)
        except IntelError as error:
            assert reason in str(error), (body, str(error))
            assert error.status == 400
        else:
            raise AssertionError(f"{body!r} was read")
    try:
        read_envelope(b'{"objects": []}', max_length=5)
    except IntelError as error:
        assert error.status == 413
    else:
        raise AssertionError("an envelope over the limit was read")
