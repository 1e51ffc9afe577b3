"""borderwatch records as STIX 2.1: every object valid under stix2-validator (strict), patterns that say what
the risk-profile conditions say, personal data minimised, and received indicators back as risk profiles."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_instance

from borderwatch.access.policy import TLP
from borderwatch.intel.patterns import COMMON_PATTERNS, PatternParser, pattern_tokens, simple_pattern
from borderwatch.intel.stix import (
    CONDITION,
    Party,
    SeizureRecord,
    agency_identity,
    condition_pattern,
    extension_definitions,
    indicator_object,
    indicator_profile,
    project_identity,
    seizure_objects,
    sighting_object,
)
from borderwatch.intel.tlp import MARKING_IDS, marking_definition
from borderwatch.intel.validate import check_object
from borderwatch.scoring.profiles import AllOf, RiskProfile, evaluate_profiles
from tests.hypothesis_profiles import examples

STRICT = ValidationOptions(strict=True, version="2.1")
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def valid(obj: dict[str, Any]) -> None:
    result = validate_instance(obj, STRICT)
    assert result.is_valid, [str(e) for e in result.errors]
    check_object(obj)  # and the server's own check agrees


def pseudonym(value: str) -> str:
    return hmac.new(b"key", value.encode(), hashlib.sha256).hexdigest()[:16]


RECORD = SeizureRecord(
    case_id=17,
    seized_on=dt.date(2026, 11, 19),
    hs_code="240220",
    goods="cigarettes",
    quantity=120000,
    quantity_unit="pieces",
    concealment="false floor of the container",
    origin_country="VN",
    departure_country="MY",
    transit_countries=("SG",),
    transport_mode="1",
    office="KRPUS",
    parties=(
        Party("importer", "IMP-9", "Ocean Star Trading Co. Ltd", "KR"),
        Party("courier", "C-3", "Kim Minsu"),
    ),
)


def test_a_seizure_as_valid_stix_with_every_field_a_partner_acts_on() -> None:
    objects = seizure_objects(RECORD, agency="kcs", tlp=TLP.AMBER, now=NOW, pseudonymise=pseudonym)
    for obj in objects:
        valid(obj)
        assert obj["object_marking_refs"] == [MARKING_IDS[TLP.AMBER]]
        assert obj["created_by_ref"] == agency_identity("kcs")["id"]
    incident = objects[0]
    seizure = next(iter(incident["extensions"].values()))
    assert seizure["hs_code"] == "240220" and seizure["quantity"] == 120000
    assert seizure["concealment"] == "false floor of the container"
    assert seizure["route"] == {
        "origin_country": "VN",
        "departure_country": "MY",
        "transit_countries": ["SG"],
    }
    assert (seizure["transport_mode"], seizure["office"], seizure["seized_on"]) == (
        "1",
        "KRPUS",
        "2026-11-19",
    )
    identities = [o for o in objects if o["type"] == "identity"]
    company, person = identities
    assert company["name"] == "Ocean Star Trading Co. Ltd" and company["identity_class"] == "organization"
    assert "Kim" not in json.dumps(objects) and "C-3" not in json.dumps(objects)
    assert person["name"] == f"person {pseudonym('Kim Minsu')}"
    assert sum(o["type"] == "relationship" for o in objects) == 2
    # the agreement allows personal data: the name leaves in clear
    clear = seizure_objects(RECORD, agency="kcs", tlp=TLP.AMBER, now=NOW, pseudonymise=None)
    assert any(o.get("name") == "Kim Minsu" for o in clear)
    # the same case shared again is a new version of the same objects
    later = seizure_objects(
        RECORD, agency="kcs", tlp=TLP.AMBER, now=NOW + dt.timedelta(days=1), pseudonymise=None
    )
    assert [o["id"] for o in later] == [o["id"] for o in clear]
    assert later[0]["modified"] > clear[0]["modified"]


def test_identities_markings_extension_definitions_and_sightings_are_valid() -> None:
    for obj in [agency_identity("kcs"), project_identity(), *extension_definitions()]:
        valid(obj)
    for level in TLP:
        result = validate_instance(marking_definition(level), STRICT)
        assert result.is_valid, [str(e) for e in result.errors]
    schemas = [json.loads(d["schema"]) for d in extension_definitions()]
    assert {s["title"] for s in schemas} == {
        "customs-seizure",
        "customs-party",
        "customs-condition",
        "x-customs-declaration",
    }
    sighting = sighting_object(
        indicator_id="indicator--2e27bdee-ab10-4f2a-a952-4a135254d858",
        count=3,
        agency="b",
        tlp=TLP.AMBER,
        first_seen=NOW,
        last_seen=NOW,
        now=NOW,
    )
    valid(sighting)
    assert sighting["count"] == 3 and set(sighting) >= {"sighting_of_ref", "created_by_ref"}


PROFILE = RiskProfile.model_validate(
    {
        "id": "RP-CIG",
        "name": "Cigarettes from VN via MY",
        "rationale": "three seizures this month",
        "author": "risk-unit",
        "when": {
            "all": [
                {"field": "hs_code", "op": "startswith", "value": "2402"},
                {
                    "any": [
                        {"field": "origin_country", "op": "in", "value": ["VN", "KH"]},
                        {"field": "seller_id", "op": "is_null"},
                    ]
                },
                {"field": "net_mass", "op": "between", "value": [100, 5000]},
            ]
        },
        "effect": {"add_points": 25},
        "valid_to": "2026-12-31",
    }
)


def test_an_indicator_round_trips_to_a_risk_profile_that_hits_the_same_declarations() -> None:
    obj = indicator_object(PROFILE, agency="kcs", tlp=TLP.GREEN, now=NOW)
    valid(obj)
    assert obj["pattern"].startswith("[x-customs-declaration:hs_code LIKE '2402%' AND (")
    assert obj["valid_until"].startswith("2026-12-31T23:59:59")
    received = indicator_profile(obj, partner="kcs")
    profile = received.profile
    assert profile.effect.add_points == 25
    assert "kcs" in profile.name and obj["id"] in profile.rationale
    assert profile.valid_to == dt.date(2026, 12, 31)
    frame = pl.DataFrame(
        {
            "hs_code": ["240220", "240220", "610910", "240220"],
            "origin_country": ["VN", "CN", "VN", "CN"],
            "seller_id": ["s", "s", "s", None],
            "net_mass": [200.0, 200.0, 200.0, 4000.0],
            "declared_on": [dt.date(2026, 12, 1)] * 4,
        }
    )
    ours = evaluate_profiles(frame, [PROFILE.model_copy(update={"valid_to": None})])["rule_hits"].to_list()
    theirs = evaluate_profiles(frame, [profile])["rule_hits"].to_list()
    assert [bool(h) for h in ours] == [bool(h) for h in theirs] == [True, False, False, True]
    with pytest.raises(ValueError, match="customs-condition"):
        indicator_profile({**obj, "extensions": {}}, partner="kcs")
    assert CONDITION.id in obj["extensions"]


leaves = st.one_of(
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        st.sampled_from(["hs_code", "origin_country", "office", "importer_id"]),
        st.sampled_from(["eq", "ne", "startswith", "contains"]),
        st.text(alphabet="AB'%_\\1 ", min_size=1, max_size=6),
    ),
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        st.sampled_from(["net_mass", "customs_value", "unit_value_z"]),
        st.sampled_from(["gt", "ge", "lt", "le"]),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    ),
    st.builds(lambda f: {"field": f, "op": "is_null"}, st.sampled_from(["seller_id", "courier_id"])),
)
trees = st.recursive(
    leaves,
    lambda inner: st.dictionaries(
        st.sampled_from(["all", "any"]), st.lists(inner, min_size=1, max_size=3), min_size=1, max_size=1
    ),
    max_leaves=6,
)


@settings(max_examples=examples(60), deadline=None)
@given(trees)
def test_every_condition_becomes_a_valid_stix_pattern(tree: dict[str, Any]) -> None:
    condition = AllOf.model_validate({"all": [tree]})
    pattern = condition_pattern(condition)
    assert run_validator(pattern, stix_version="2.1") == []


pieces = st.lists(
    st.sampled_from(
        [
            "[",
            "]",
            "(",
            ")",
            ",",
            " AND ",
            " OR ",
            " NOT ",
            " IN ",
            " LIKE ",
            " MATCHES ",
            " EXISTS ",
            " FOLLOWEDBY ",
            " = ",
            " != ",
            " >= ",
            " < ",
            "x-customs-declaration:hs_code",
            "file:name",
            "file:hashes.md5",
            "ab:x",
            "X:y",
            "'a'",
            "'it\\'s'",
            "'bad\\q'",
            "12",
            "-1.5",
            "007",
            "1.",
            "true",
            "t'2026-01-01T00:00:00Z'",
            " WITHIN 5 SECONDS",
        ]
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=examples(150), deadline=None)
@given(pieces)
def test_the_fast_pattern_recogniser_never_accepts_what_the_reference_parser_refuses(
    parts: list[str],
) -> None:
    pattern = "".join(parts)
    if simple_pattern(pattern):
        assert run_validator(pattern, stix_version="2.1") == [], pattern


_comparison = st.builds(
    "{}{}{}{}{}".format,
    st.sampled_from(["x-customs-declaration:hs_code", "file:name", "file:hashes.md5", "ab:x", "X:y", "a-:b"]),
    st.sampled_from(["", " ", "\n"]),
    st.sampled_from(["=", "!=", ">=", "<", "==", "IN"]),
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(["'a'", "'it\\'s'", "'bad\\q'", "12", "-1.5", "007", "1.", "true", "truex", "('a')"]),
)
_joiner = st.sampled_from([" AND ", " OR ", "AND", " AND", "  OR\n", " FOLLOWEDBY "])
_observation = st.builds(
    lambda first, rest, gap: f"[{gap}{first}{''.join(j + c for j, c in rest)}{gap}]",
    _comparison,
    st.lists(st.tuples(_joiner, _comparison), max_size=3),
    st.sampled_from(["", " "]),
)
near_patterns = st.builds(
    lambda first, rest, tail: first + "".join(j + o for j, o in rest) + tail,
    _observation,
    st.lists(st.tuples(_joiner, _observation), max_size=2),
    st.sampled_from(["", " ", " WITHIN 5 SECONDS", "]"]),
)


@settings(max_examples=examples(300), deadline=None)
@given(near_patterns)
def test_the_whole_pattern_expression_accepts_only_valid_patterns_the_recogniser_accepts(
    pattern: str,
) -> None:
    if COMMON_PATTERNS.fullmatch(pattern):
        tokens = pattern_tokens(pattern)
        assert tokens is not None, pattern
        assert PatternParser(tokens).pattern(), pattern
        assert run_validator(pattern, stix_version="2.1") == [], pattern


def test_the_fast_recogniser_takes_the_patterns_borderwatch_writes() -> None:
    assert simple_pattern(indicator_object(PROFILE, agency="kcs", tlp=TLP.GREEN, now=NOW)["pattern"])
    assert simple_pattern("[file:name = 'a'] AND [x-customs-declaration:hs_code IN ('1', '2')]")
    assert not simple_pattern("[file:name = 'a'] WITHIN 5 SECONDS")  # left to the reference parser
    assert not simple_pattern("[file:hashes.md5 = 'a']")  # the reference parser checks hash values (refuses)
    assert not simple_pattern("[file:size >= true]")  # an ordering never takes a boolean (the grammar)
    for common in (
        "[x-customs-declaration:hs_code = '240220' AND x-customs-declaration:origin_country = 'VN']",
        "[file:name = 'a'] OR [file:size >= 10 AND file:name != 'it\\'s']",
    ):
        assert COMMON_PATTERNS.fullmatch(common), common
    for uncommon in (
        "[file:name = 'a' AND x-y:z = 1]",
        "[file:size = 007]",
        "[file:name = 'a']AND[file:size = 1]",
    ):
        assert not COMMON_PATTERNS.fullmatch(uncommon), uncommon
