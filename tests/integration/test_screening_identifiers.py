"""Identifiers: each kind matched exactly or by its own rule, from the OFAC and UN files and from queries."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from borderwatch.screening.entries import Address, Identifier, WatchEntry
from borderwatch.screening.identifiers import imo_check_digit_ok, listed_key, query_key
from borderwatch.screening.matcher import Matcher, Query
from borderwatch.screening.parsers import read_ofac, read_un_consolidated


@given(st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_exactly_one_imo_check_digit_holds(first_six: str) -> None:
    assert sum(imo_check_digit_ok(first_six + d) for d in "0123456789") == 1


def test_imo_keys_need_a_valid_check_digit() -> None:
    assert imo_check_digit_ok("9187629")
    assert listed_key("Vessel Registration Identification", "IMO 9187629").key == "imo:9187629"  # type: ignore[union-attr]
    assert listed_key("Vessel Registration Identification", "IMO 9187628") is None
    assert query_key("IMO 9187628").problem == "IMO 9187628 fails its check digit"
    assert query_key("aircraft:EP-MMH").value == "EPMMH"


def _entries() -> list[WatchEntry]:
    return [
        WatchEntry(
            entity_id="t:ship",
            list_name="t",
            kind="vessel",
            name="HERMANN",
            identifiers=(
                Identifier("Vessel Registration Identification", "IMO 9187629"),
                Identifier("Call Sign", "CL2685"),
            ),
        ),
        WatchEntry(
            entity_id="t:plane",
            list_name="t",
            kind="aircraft",
            name="EP-MMH",
            identifiers=(Identifier("Aircraft Tail Number", "EP-MMH"),),
        ),
        WatchEntry(
            entity_id="t:firm",
            list_name="t",
            kind="organization",
            name="OCEAN STAR SHIPPING LLC",
            identifiers=(
                Identifier("Registration Number", "1027700132195"),
                Identifier("Tax ID No.", "7705037207"),
            ),
            addresses=(Address("12 Harbour Road, Port Said, Egypt", "EG"),),
        ),
    ]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(_entries())


def _ids(matcher: Matcher, query: Query) -> list[str]:
    return [m.entity_id for m in matcher.screen(query)]


def test_vessel_by_imo_number_whatever_the_name(matcher: Matcher) -> None:
    (hit,) = matcher.screen(Query("Blue Dolphin", kind="vessel", identifiers=("IMO 9187629",)))
    assert hit.entity_id == "t:ship" and "imo 9187629 matches" in hit.explanation
    assert _ids(matcher, Query("Blue Dolphin", kind="vessel", identifiers=("IMO 9187628",))) == []


def test_ship_name_from_a_manifest_with_a_typo(matcher: Matcher) -> None:
    assert _ids(matcher, Query("HERMAN N", kind="vessel")) == ["t:ship"]


def test_vessel_call_sign(matcher: Matcher) -> None:
    assert _ids(matcher, Query("Blue Dolphin", kind="vessel", identifiers=("callsign:CL 2685",))) == [
        "t:ship"
    ]


def test_aircraft_registration_with_or_without_its_dash(matcher: Matcher) -> None:
    for written in ("aircraft:EP-MMH", "aircraft:epmmh", "EP MMH"):
        assert _ids(matcher, Query("Unknown Carrier", kind="aircraft", identifiers=(written,))) == ["t:plane"]
    assert _ids(matcher, Query("Unknown Carrier", kind="aircraft", identifiers=("aircraft:EP-MMJ",))) == []


def test_company_registration_number(matcher: Matcher) -> None:
    query = Query("Atlantic Traders", kind="organization", identifiers=("registration:1027700132195",))
    (hit,) = matcher.screen(query)
    assert hit.entity_id == "t:firm" and "registration 1027700132195 matches" in hit.explanation


def test_tax_number_matches_only_as_a_tax_number(matcher: Matcher) -> None:
    tax = Query("Atlantic Traders", kind="organization", identifiers=("tax:7705-037-207",))
    assert _ids(matcher, tax) == ["t:firm"]
    as_registration = Query("Atlantic Traders", kind="organization", identifiers=("registration:7705037207",))
    assert _ids(matcher, as_registration) == []


def test_address_raises_a_name_match(matcher: Matcher) -> None:
    plain = matcher.screen(Query("Ocean Star Shiping", kind="organization"), threshold=0.3)
    with_address = matcher.screen(
        Query("Ocean Star Shiping", kind="organization", address="Harbour Road 12, Port Said (Egypt)"),
        threshold=0.3,
    )
    assert with_address[0].score > plain[0].score
    assert "address matches" in with_address[0].explanation
    elsewhere = matcher.screen(
        Query("Ocean Star Shiping", kind="organization", address="4 Rue de Rivoli, Paris"), threshold=0.3
    )
    assert elsewhere[0].score == plain[0].score


def test_identifiers_come_from_the_ofac_and_un_files(shared_data: Path) -> None:
    lists = shared_data / "watchlists"
    ofac = {e.entity_id: e for e in read_ofac([lists / "ofac_sdn.csv"])}
    keys = {
        e.entity_id: {k.key for i in e.identifiers if (k := listed_key(i.type, i.value))}
        for e in ofac.values()
    }
    assert any(k.startswith("imo:") for ks in keys.values() for k in ks)
    assert any("aircraft:EPMMH" in ks for ks in keys.values())  # "Aircraft Tail Number EP-MMH"
    assert "callsign:CL2685" in keys["ofac:4234"]  # HERMANN's call sign column
    assert any(k.startswith("tax:") for ks in keys.values() for k in ks)
    assert any(k.startswith("registration:") for ks in keys.values() for k in ks)
    un = read_un_consolidated(lists / "un_consolidated.xml")
    un_imo = {listed_key(i.type, i.value) for e in un for i in e.identifiers if i.type == "IMO"}
    assert len(un_imo - {None}) >= 1  # "IMO Number: ..." in the comments
    matcher = Matcher(ofac.values())
    imo = next(k for ks in keys.values() for k in ks if k.startswith("imo:"))
    owner = next(e for e, ks in keys.items() if imo in ks)
    assert owner in [
        m.entity_id for m in matcher.screen(Query("Some Other Ship", kind="vessel", identifiers=(imo,)))
    ]
