"""PAXLST interchanges: the shared samples, envelopes, escapes, wrapping, and the errors' addresses."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.travellers.edifact import EdifactError, clean_interchange, read_interchange
from borderwatch.travellers.paxlst import read_paxlst, write_paxlst
from borderwatch.travellers.records import Movement, TravelDocument, Traveller
from borderwatch.travellers.tabular import read_travellers_csv, read_travellers_jsonl
from tests.hypothesis_profiles import examples

# Counted by hand from each file: NAD groups after the TDT (persons) and DOC segments.
EXPECTED = {
    "A": (1, 1, 25, 159),
    "B": (1, 1, 22, 155),
    "C": (3, 3, 50, 152),
    "D": (1, 1, 25, 2100),
    "E": (3, 3, 46, 2100),
    "F": (1, 2, 24, 87),
}


@pytest.mark.parametrize("kind", ["original", "reference"])
@pytest.mark.parametrize("letter", sorted(EXPECTED))
def test_ediclean_samples_ingest_with_their_counts_and_wrong_unt_reported(
    shared_data: Path, kind: str, letter: str
) -> None:
    suffix = "txt" if kind == "original" else "edi"
    path = shared_data / "edifact" / "paxlst" / f"ediclean_{kind}_{letter}.{suffix}"
    result = read_paxlst(path.read_text(encoding="latin-1"), source=path.name)
    travellers, documents, segments, declared = EXPECTED[letter]
    assert len(result.travellers) == travellers
    assert len(result.documents) == documents
    assert result.rejected == []
    expected = f"UNT count is {declared} but there are {segments} segments"
    assert any(expected in issue for issue in result.issues)
    assert len(result.movements) == 1


def test_original_and_reference_read_the_same(shared_data: Path) -> None:
    folder = shared_data / "edifact" / "paxlst"
    for letter in EXPECTED:
        original = read_paxlst((folder / f"ediclean_original_{letter}.txt").read_text(encoding="latin-1"))
        reference = read_paxlst((folder / f"ediclean_reference_{letter}.edi").read_text(encoding="latin-1"))
        assert original.travellers == reference.travellers, letter


def test_sample_a_fields(shared_data: Path) -> None:
    text = (shared_data / "edifact" / "paxlst" / "ediclean_original_A.txt").read_text(encoding="latin-1")
    result = read_paxlst(text)
    movement, (person,) = result.movements[0]
    assert (movement.kind, movement.number) == ("flight", "A92707")
    assert movement.departure_at == dt.datetime(2021, 7, 13, 11, 0)
    assert (person.surname, person.given_names, person.sex) == ("DJEMFISJER", "REDJAE", "M")
    assert person.birth_date == dt.date(1993, 4, 8)
    assert (person.embarkation, person.debarkation, person.seat) == ("TBS", "VIE", "9F")
    assert person.booking_ref == "ABC123"
    (document,) = person.documents
    assert (document.doc_type, document.number) == ("passport", "3DEJ2ED3E")
    assert document.expiry == dt.date(2028, 9, 7)


def test_crew_member_with_two_documents(shared_data: Path) -> None:
    text = (shared_data / "edifact" / "paxlst" / "ediclean_original_F.txt").read_text(encoding="latin-1")
    (person,) = read_paxlst(text).travellers
    assert person.role == "crew"
    assert [d.code for d in person.documents] == ["P", "L"]
    assert person.birth_place == "BAKIRKOY"


def test_smooks_escapes_and_correct_unt(shared_data: Path) -> None:
    text = (shared_data / "edifact" / "paxlst" / "smooks_unedifact_d03b_message_01.edi").read_text()
    interchange = read_interchange(text)
    assert interchange.messages[0].issues == []
    assert interchange.issues == []
    result = read_paxlst(text)
    assert result.issues == []
    (person,) = result.travellers
    assert len(person.documents) == 2
    assert person.address is not None and "HILL'S ROAD" in person.address  # ?' released
    assert person.sex == "M"  # M*M*M*M*M: repeated with the version 4 repetition separator
    assert person.nationality == "USA"
    assert [d.issuing_state for d in person.documents] == ["USA", "USA"]  # VA:163 is a US state
    assert read_interchange(text).recipient == "CBP-ACE-TEST"  # UNB, not the escaped UNG value
    unb = clean_interchange(text)
    assert "CBP-A?+CE-TEST" in unb


def _interchange(body: str, *, unt: int | None = None, une: int = 1, unz: int = 1) -> str:
    count = unt if unt is not None else len(re.findall(r"(?<!\?)'", body)) + 2
    return (
        "UNA:+.? 'UNB+UNOA:4+AIR:ZZ+GOV:ZZ+240101:1200+REF1++APIS'"
        "UNG+PAXLST+AIR:ZZ+GOV:ZZ+240101:1200+G1+UN+D:05B'"
        f"UNH+M1+PAXLST:D:05B:UN:IATA+XX1/240101/1200+01:F'{body}UNT+{count}+M1'"
        f"UNE+{une}+G1'UNZ+{unz}+REF1'"
    )


_BODY = (
    "BGM+745'NAD+MS+++DESK'TDT+20+XX1+++XX'LOC+125+AAA'DTM+189:2401011200:201'LOC+87+BBB'"
    "DTM+232:2401011500:201'NAD+FL+++O?'NEILL:MARY ANN'ATT+2++F'DTM+329:800101'NAT+2+IRL'"
    "DOC+P:110:111+PA1234567'DTM+36:300101'LOC+91+IRL'CNT+42:1'"
)


def test_a_correct_interchange_has_no_issues_and_releases_escapes() -> None:
    result = read_paxlst(_interchange(_BODY))
    assert result.issues == []
    (person,) = result.travellers
    assert person.surname == "O'NEILL"
    assert person.given_names == "MARY ANN"


def test_wrong_unt_une_unz_counts_are_reported_as_such() -> None:
    result = read_paxlst(_interchange(_BODY, unt=99, une=2, unz=3))
    assert len(result.travellers) == 1
    text = " | ".join(result.issues)
    assert "message M1, segment UNT #17, element 1: UNT count is 99 but there are 17 segments" in text
    assert "UNE count is 2 but there are 1 messages in the group" in text
    assert "UNZ count is 3 but there are 1 groups" in text


def test_transport_header_and_hard_wrapping_are_removed() -> None:
    text = _interchange(_BODY)
    wrapped = "\x01QP ABCDEFG\r\n.HDQXX 010000\r\n\x02" + "\r\n".join(
        text[i : i + 69] for i in range(0, len(text), 69)
    )
    wrapped += "\r\n\x03\r\nDisclaimer: UNZ+ nothing here'\r\n"
    assert read_paxlst(wrapped).travellers == read_paxlst(text).travellers


def test_header_words_containing_una_or_unb_are_not_taken_for_the_interchange() -> None:
    text = "\x01QP LUNAR UNABLE TO UNBLOCK\r\n.HDQ UNB 010000\r\n" + _interchange(_BODY)
    assert read_paxlst(text).travellers == read_paxlst(_interchange(_BODY)).travellers
    without_una = _interchange(_BODY).split("'", 1)[1]  # starts at UNB
    assert len(read_paxlst("TYPE B HEADER UNAVAILABLE\n" + without_una).travellers) == 1


def test_a_bad_person_is_rejected_naming_segment_and_element_and_the_rest_kept() -> None:
    body = _BODY.replace("DTM+329:800101'", "DTM+329:801399'") + "NAD+FL+++SMITH:JOHN'ATT+2++M'"
    body = body.replace("CNT+42:1'", "") + "CNT+42:2'"
    result = read_paxlst(_interchange(body))
    assert [t.surname for t in result.travellers] == ["SMITH"]
    (rejected,) = result.rejected
    assert rejected.reason.startswith("message M1, segment DTM #11, element 1, component 2:")
    assert "801399" in rejected.reason
    assert "NAD+FL+++O?'NEILL:MARY ANN'" in rejected.raw


def test_person_without_a_name_and_document_without_number() -> None:
    body = _BODY.replace("O?'NEILL:MARY ANN", "").replace("CNT+42:1'", "")
    body += "NAD+FL+++DOE:JANE'DOC+P'"
    result = read_paxlst(_interchange(body))
    reasons = [r.reason for r in result.rejected]
    assert any("segment NAD #9, element 4: a person without a family name" in r for r in reasons)
    assert any("segment DOC" in r and "element 2: a document without a number" in r for r in reasons)


def test_structural_faults_raise_with_their_address() -> None:
    with pytest.raises(EdifactError, match="neither UNA nor UNB"):
        read_paxlst("hello")
    cut = _interchange(_BODY).split("UNT+")[0]
    with pytest.raises(EdifactError, match=r"message M1.*no UNT"):
        read_paxlst(cut + "UNZ+1+REF1'")


def test_a_non_paxlst_message_is_rejected_whole() -> None:
    text = _interchange(_BODY).replace("PAXLST:D:05B:UN:IATA", "CUSDEC:D:96B:UN")
    result = read_paxlst(text)
    assert result.travellers == []
    assert "not PAXLST" in result.rejected[0].reason


@settings(max_examples=examples(200), deadline=None)
@given(st.text(max_size=300))
def test_random_text_raises_edifact_error_only(text: str) -> None:
    with contextlib.suppress(EdifactError):
        read_paxlst(text)


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(min_value=0, max_value=len(_interchange(_BODY)) - 1), st.sampled_from(list("+:'?X")))
def test_corrupted_interchanges_raise_edifact_error_or_read(position: int, char: str) -> None:
    text = _interchange(_BODY)
    with contextlib.suppress(EdifactError):
        read_paxlst(text[:position] + char + text[position + 1 :])


HEADER = (
    "flight,departure_place,departure_at,arrival_place,surname,given_names,birth_date,sex,nationality,"
    "doc_type,doc_number,doc_issuing_state,doc_expiry,booked_on,one_way"
)
CSV = f"""{HEADER}
XX1,AAA,2024-01-01T12:00,BBB,DOE,JANE,1980-01-01,F,FRA,P,12AB34567,FRA,2030-01-01,2023-12-31,yes
XX1,AAA,2024-01-01T12:00,BBB,DOE,JANE,1980-01-01,F,FRA,I,X123,FRA,2030-01-01,2023-12-31,yes
XX1,AAA,2024-01-01T12:00,BBB,ROE,RICHARD,1980-13-01,M,FRA,P,99,FRA,2030-01-01,,
XX1,AAA,2024-01-01T12:00,BBB,,,1981-01-01,M,FRA,P,98,FRA,2030-01-01,,
"""


def test_csv_rows_of_one_traveller_merge_and_bad_rows_name_line_and_field() -> None:
    result = read_travellers_csv(CSV, source="list.csv")
    (person,) = result.travellers
    assert [d.number for d in person.documents] == ["12AB34567", "X123"]
    assert person.one_way is True
    assert [(r.record, r.field) for r in result.rejected] == [
        ("list.csv line 4", "birth_date"),
        ("list.csv line 5", "surname"),
    ]


def test_jsonl_with_an_mrz_fills_identity_and_document() -> None:
    mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
    text = (
        '{"flight": "XX1", "departure_at": "2024-01-01T12:00", "mrz": "' + mrz + '"}\n'
        "not json\n"
        '{"flight": "XX1", "surname": "ROE", '
        '"documents": [{"type": "P", "number": "A1"}, {"number": "B2"}]}\n'
    )
    result = read_travellers_jsonl(text, source="x.jsonl")
    first, second = result.travellers
    assert (first.surname, first.given_names, first.nationality) == ("ERIKSSON", "ANNA MARIA", "UTO")
    assert first.birth_date == dt.date(1974, 8, 12)
    assert first.documents[0].number == "L898902C3"
    assert [d.number for d in second.documents] == ["A1", "B2"]
    assert result.rejected[0].record == "x.jsonl line 2"


# Level A characters (UNOA) a name or number may hold, separators and the release character among them.
_LEVEL_A = string.ascii_uppercase + string.digits + " .,-()/='+:?!\"%&*;<>"
_PART = st.text(alphabet=_LEVEL_A, min_size=1, max_size=20).map(str.strip).filter(bool)
_SERVICE = st.permutations(list(":+?'#*|")).map(lambda p: f"{p[0]}{p[1]}.{p[2]} {p[3]}")


@st.composite
def _lists(draw: st.DrawFn) -> tuple[Movement, list[Traveller]]:
    movement = Movement(
        kind="flight",
        number=draw(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=3, max_size=7)),
        departure_place="AAA",
        departure_at=dt.datetime(2026, 5, 1, 10, 30),
        arrival_place="BBB",
    )
    people = []
    for index in range(draw(st.integers(min_value=1, max_value=4))):
        documents = [
            TravelDocument(
                code="P",
                number=draw(_PART),
                issuing_state=draw(st.sampled_from(["NLD", "DEU", None])),
                expiry=draw(st.one_of(st.none(), st.dates(dt.date(2020, 1, 1), dt.date(2040, 1, 1)))),
            )
            for _ in range(draw(st.integers(min_value=0, max_value=2)))
        ]
        people.append(
            Traveller(
                key=f"1/{index + 1}",
                surname=draw(_PART),
                given_names=draw(_PART),
                role=draw(st.sampled_from(["passenger", "crew"])),
                birth_date=draw(st.one_of(st.none(), st.dates(dt.date(1920, 1, 1), dt.date(2025, 1, 1)))),
                sex=draw(st.sampled_from(["M", "F", None])),
                nationality=draw(st.sampled_from(["NLD", "FRA", None])),
                documents=documents,
                booking_ref=draw(st.one_of(st.none(), _PART)),
            )
        )
    return movement, people


@settings(max_examples=examples(120), deadline=None)
@given(_lists(), _SERVICE, st.integers(min_value=20, max_value=90))
def test_written_lists_read_back_whatever_the_separators_escapes_and_wrapping(
    listing: tuple[Movement, list[Traveller]], service: str, width: int
) -> None:
    movement, people = listing
    text = write_paxlst(movement, people, service=service)
    wrapped = (
        "\x01QP HDR\r\n\x02" + "\r\n".join(text[i : i + width] for i in range(0, len(text), width)) + "\x03"
    )
    result = read_paxlst(wrapped)
    assert result.issues == [] and result.rejected == [], (result.issues, result.rejected, wrapped)
    ((read_movement, read_people),) = result.movements
    assert read_movement.number == movement.number
    assert read_movement.departure_at == movement.departure_at
    assert read_people == people
