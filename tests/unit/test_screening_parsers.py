"""Watchlist readers on the real published files and on small malformed ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.core.errors import ConfigError
from borderwatch.screening.entries import WatchEntry
from borderwatch.screening.parsers import (
    detect_format,
    group_list_files,
    iter_ftm_jsonl,
    ofac_part,
    parse_date_text,
    read_bis_dpl,
    read_ftm_jsonl,
    read_list,
    read_list_files,
    read_national_csv,
    read_ofac,
    read_ofac_sdn,
    read_un_consolidated,
)
from tests.hypothesis_profiles import examples

ISO_PREFIX = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@pytest.fixture(scope="module")
def ofac(shared_data: Path) -> list[WatchEntry]:
    return read_ofac_sdn(shared_data / "watchlists" / "ofac_sdn.csv")


def test_ofac_sdn_has_every_record_alias_and_address(ofac: list[WatchEntry]) -> None:
    assert len(ofac) == 8976
    strong = [a for e in ofac for a in e.aliases if not a.weak]
    assert len(strong) == 11910  # one per line of ofac_alt.csv
    assert sum(len(e.addresses) for e in ofac) > 10_000
    by_id = {e.entity_id: e for e in ofac}
    bank = by_id["ofac:306"]
    assert bank.name == "BANCO NACIONAL DE CUBA"
    assert bank.kind == "organization"
    assert [a.name for a in bank.aliases if a.weak] == ["BNC"]  # from "a.k.a. 'BNC'." in the remarks
    assert "NATIONAL BANK OF CUBA" in [a.name for a in bank.aliases]
    assert any(a.country == "CH" for a in bank.addresses)
    zawahiri = by_id["ofac:2676"]
    assert zawahiri.kind == "person"
    assert zawahiri.dobs == ("1951-06-19",)
    assert any(i.type == "Passport" and i.value == "1084010" for i in zawahiri.identifiers)
    assert all(e.name and "-0-" not in e.name for e in ofac)


def test_un_consolidated_list_has_every_individual_and_entity(shared_data: Path) -> None:
    entries = read_un_consolidated(shared_data / "watchlists" / "un_consolidated.xml")
    assert len(entries) == 1003
    kinds = [e.kind for e in entries]
    assert kinds.count("person") == 730 and kinds.count("organization") == 273
    badege = next(e for e in entries if e.entity_id == "un:6907993")
    assert badege.name == "ERIC BADEGE"
    assert badege.dobs == ("1971",) and badege.nationalities == ("CD",)
    assert badege.programmes == ("DRC",)
    assert any(a.weak for e in entries for a in e.aliases)  # "Low" quality aliases
    assert any(a.type == "original script" for e in entries for a in e.aliases)


def test_bis_denied_persons_group_addresses_under_one_name(shared_data: Path) -> None:
    path = shared_data / "watchlists" / "bis_dpl.txt"
    entries = read_bis_dpl(path)
    names = {
        line.split("\t")[0].strip('"').strip() for line in path.read_text().splitlines()[1:] if line.strip()
    }
    assert len(entries) == len(names)
    alhay = next(e for e in entries if e.name == "ALI ABDULLAH ALHAY")
    assert {a.country for a in alhay.addresses} == {"SA", "IQ"}
    assert detect_format(path) == "bis"


def test_broken_xml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "un.xml"
    path.write_text("<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID>")
    with pytest.raises(ConfigError, match=r"un\.xml: is not well-formed"):
        read_list(path)


def test_xml_entities_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "un.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>&b;</FIRST_NAME>"
        "</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(ConfigError, match="safe XML"):
        read_un_consolidated(path)


def test_wrong_xml_root_is_named(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<sdnList></sdnList>")
    with pytest.raises(ConfigError, match="expected <CONSOLIDATED_LIST>"):
        read_un_consolidated(path)


def test_ofac_line_with_missing_columns_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv"
    path.write_text('1,"GOOD NAME",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n2,"SHORT"\n')
    with pytest.raises(ConfigError, match=r"sdn\.csv: line 2 has 2 columns, the format needs 12"):
        read_ofac_sdn(path)


def test_bis_file_without_a_required_column(tmp_path: Path) -> None:
    path = tmp_path / "dpl.txt"
    path.write_text('"Name"\t"Street_Address"\t"City"\n"A PERSON"\t"1 ROAD"\t"TOWN"\n')
    with pytest.raises(ConfigError, match=r"missing column\(s\) State, Country, Postal_Code"):
        read_bis_dpl(path)


def test_ftm_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "entities.ftm.json"
    records = [
        {
            "id": "os-1",
            "schema": "Person",
            "datasets": ["eu_fsf"],
            "properties": {
                "name": ["Ivan Petrov"],
                "alias": ["Ivan Petroff"],
                "weakAlias": ["Vanya"],
                "birthDate": ["1970-02-03"],
                "nationality": ["ru"],
                "passportNumber": ["7512345"],
                "address": ["Moscow"],
            },
        },
        {"id": "os-2", "schema": "Ownership", "properties": {"owner": ["os-1"]}},
        {"id": "os-3", "schema": "Company", "caption": "Petrov Holding", "properties": {}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    entries = read_list(path)
    assert [e.entity_id for e in entries] == ["ftm:os-1", "ftm:os-3"]
    person = entries[0]
    assert person.list_name == "eu_fsf"
    assert [(a.name, a.weak) for a in person.aliases] == [("Ivan Petroff", False), ("Vanya", True)]
    assert person.dobs == ("1970-02-03",) and person.nationalities == ("RU",)
    assert person.identifiers[0].value == "7512345"
    assert entries[1].kind == "organization" and entries[1].name == "Petrov Holding"


def test_ftm_line_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "schema": "Person", "properties": {"name": ["A"]}}\n{not json\n')
    with pytest.raises(ConfigError, match="line 2"):
        read_ftm_jsonl(path)


def test_national_csv_list(tmp_path: Path) -> None:
    path = tmp_path / "kr_watch.csv"
    path.write_text(
        "id,name,kind,aliases,date_of_birth,nationality,identifiers\n"
        "7,Kim Chol,person,Kim Cheol;Chol Kim,1970,KP,passport:836110034\n"
        "8,Ocean Star Shipping,organization,,,,\n"
    )
    entries = read_national_csv(path)
    assert [e.entity_id for e in entries] == ["kr_watch:7", "kr_watch:8"]
    assert [a.name for a in entries[0].aliases] == ["Kim Cheol", "Chol Kim"]
    assert entries[0].identifiers[0].type == "passport"
    assert entries[0].nationalities == ("KP",)


def test_national_csv_without_name_column(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("id,full\n1,Someone\n")
    with pytest.raises(ConfigError, match=r"list\.csv: missing column\(s\) name"):
        read_national_csv(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_list(tmp_path / "nowhere.csv")


@settings(max_examples=examples(200), deadline=None)
@given(st.text(max_size=40))
def test_date_text_parser_returns_only_iso_dates(text: str) -> None:
    assert all(ISO_PREFIX.match(d) for d in parse_date_text(text))


def test_date_text_forms() -> None:
    assert parse_date_text("10 Dec 1948") == ["1948-12-10"]
    assert parse_date_text("circa 1960") == ["1960"]
    assert parse_date_text("1960 to 1962") == ["1960", "1962"]
    assert parse_date_text("Feb 1975") == ["1975-02"]


def _renamed_ofac(shared_data: Path, tmp_path: Path) -> dict[str, Path]:
    """The three shipped OFAC files under names that say nothing of which is which."""
    out = {}
    for index, part in enumerate(("sdn", "alt", "add")):
        target = tmp_path / f"file{index}.csv"
        target.write_bytes((shared_data / "watchlists" / f"ofac_{part}.csv").read_bytes())
        out[part] = target
    return out


def test_ofac_files_are_recognised_by_content(shared_data: Path, tmp_path: Path) -> None:
    files = _renamed_ofac(shared_data, tmp_path)
    assert {part: ofac_part(path) for part, path in files.items()} == {p: p for p in ("sdn", "alt", "add")}
    assert all(detect_format(path) == "ofac" for path in files.values())
    assert ofac_part(shared_data / "watchlists" / "un_consolidated.xml") is None


def test_ofac_files_in_any_order_and_combination(
    shared_data: Path, tmp_path: Path, ofac: list[WatchEntry]
) -> None:
    files = _renamed_ofac(shared_data, tmp_path)
    backwards = read_ofac([files["add"], files["alt"], files["sdn"]])
    assert backwards == ofac  # the same entries as the sdn file with its siblings beside it
    without_alt = read_ofac([files["add"], files["sdn"]])
    assert len(without_alt) == len(ofac)
    assert not [a for e in without_alt for a in e.aliases if not a.weak]  # no alt file, no strong aliases
    assert sum(len(e.addresses) for e in without_alt) == sum(len(e.addresses) for e in ofac)
    un = shared_data / "watchlists" / "un_consolidated.xml"
    groups = group_list_files([files["alt"], un, files["sdn"]])
    assert groups == [("ofac", [files["alt"], files["sdn"]]), ("un", [un])]
    assert read_list_files(groups[0][1])[0].aliases  # the first SDN record has its alt alias


def test_ofac_alias_file_without_sdn_is_a_clear_error(shared_data: Path, tmp_path: Path) -> None:
    files = _renamed_ofac(shared_data, tmp_path)
    with pytest.raises(ConfigError, match="needs its sdn file"):
        read_ofac([files["alt"], files["add"]])
    with pytest.raises(ConfigError, match="second OFAC sdn file"):
        read_ofac([files["sdn"], shared_data / "watchlists" / "ofac_sdn.csv"])


def test_ftm_export_is_read_one_line_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "entities.ftm.json"
    good = {"id": "os-1", "schema": "Person", "properties": {"name": ["Ivan Petrov"]}}
    path.write_text(json.dumps(good) + "\n" + "{broken\n")
    entries = iter_ftm_jsonl(path)
    first = next(entries)  # read before the broken line is reached
    assert first.entity_id == "ftm:os-1" and first.name == "Ivan Petrov"
    with pytest.raises(ConfigError, match="line 2"):
        next(entries)
