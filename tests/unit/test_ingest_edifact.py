"""EDIFACT syntax and the CUSDEC/CUSCAR/IFTMCS mappings: the shared samples, the faults the issue names,
and properties (our tokeniser agrees with pydifact's; fuzzed input never crashes and names the segment)."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydifact.control.characters import Characters
from pydifact.parser import Parser

from borderwatch.ingest.edifact.cusdec import read_cusdec
from borderwatch.ingest.edifact.cusres import Answer, read_cusres, write_cusres
from borderwatch.ingest.edifact.manifest import read_manifest
from borderwatch.ingest.edifact.reader import EdifactReader
from borderwatch.ingest.edifact.syntax import (
    Fault,
    Message,
    Separators,
    read_messages,
    render,
    sniff,
)
from borderwatch.ingest.schemas import PartyRole
from tests.conftest import SHARED_DATA
from tests.hypothesis_profiles import examples

EDIFACT = SHARED_DATA / "edifact"


def _messages(text: str) -> list[Message | Fault]:
    return list(read_messages(io.BytesIO(text.encode("latin-1"))))


def _sample(kind: str) -> Path:
    folder = EDIFACT / kind
    if not folder.is_dir():
        pytest.skip(f"shared EDIFACT samples not found at {folder}")
    return next(folder.glob("*.edi"))


def cusdec(
    *,
    lrn: str = "LRN1",
    items: list[str] | None = None,
    count: int | None = None,
    cnt: int | None = None,
    extra_header: str = "",
) -> str:
    """A CUSDEC interchange of our own, one segment a line; ``count`` overrides UNT's segment count."""
    goods = items or [
        "CST+1+85176200:122+40'\nFTX+AAA+++ROUTERS'\nLOC+27+CN'\nMEA+AAE+AAA+KGM:760'\nMOA+40:36540:USD'\n"
        "TAX+1+CUD+++:::2.5'"
    ]
    body = [
        f"BGM+929+{lrn}+9'",
        "DTM+137:20260115:102'",
        "LOC+22+XXPRT1'",
        "LOC+35+CN'",
        "TDT+20+VOY1+1++CARRIER:172+++9123456'",
        "EQD+CN+MSKU1234565'",
        "NAD+IM+TIN1++IMPORTER LTD+1 ROAD+CITY++1000+BE'",
        "NAD+DT+AGT1++BROKER'",
        "NAD+CZ+++EXPORTER CO'",
        "RFF+BM:BL-1'",
        *([extra_header] if extra_header else []),
        "UNS+D'",
        *goods,
        "UNS+S'",
        f"CNT+5:{cnt if cnt is not None else len(goods)}'",
    ]
    segments = "\n".join(body).count("'") + 2
    return (
        "UNA:+.? '\nUNB+UNOC:3+BROKER:ZZZ+CUSTOMS:ZZZ+260115:0930+ICR1'\n"
        "UNH+M1+CUSDEC:D:96B:UN'\n" + "\n".join(body) + f"\nUNT+{count or segments}+M1'\nUNZ+1+ICR1'\n"
    )


def _only_message(text: str) -> Message:
    found = [m for m in _messages(text) if isinstance(m, Message)]
    assert len(found) == 1
    return found[0]


# ---------------------------------------------------------------------------------------------- the samples


def test_shared_cusdec_sample_reads_two_items() -> None:
    with _sample("cusdec").open("rb") as handle:
        (message,) = list(read_messages(handle))
    assert isinstance(message, Message) and message.error is None
    declaration = read_cusdec(message)
    assert declaration.lrn == "LRN0001202601150001"
    assert [i.hs_code for i in declaration.items] == ["85176200", "61091000"]
    assert [i.net_mass for i in declaration.items] == [760.0, 430.0]
    assert [i.tax_rate for i in declaration.items] == [0.0, 20.0]  # the CUD rate, not the VAT one
    assert (
        declaration.parties[PartyRole.SELLER].address == "88 FACTORY ST+ UNIT 5, SHENZHEN, 518000"
    )  # ?+ escape
    assert declaration.parties[PartyRole.IMPORTER].id == "TIN123456789"
    assert declaration.transport.means_id == "9123456"
    assert declaration.date.isoformat() == "2026-01-15"  # no DTM+137: the UNB preparation date


def test_shared_iftmcs_sample_reads_a_manifest_line() -> None:
    with _sample("iftmcs").open("rb") as handle:
        (message,) = list(read_messages(handle))
    assert isinstance(message, Message) and message.error is None
    (line,) = read_manifest(message)
    assert (line.consignment_ref, line.container_ids, line.gross_mass, line.packages) == (
        "BKG445566",
        ["MSKU1234565"],
        800.0,
        40.0,
    )


def test_shared_cusres_sample_reads_with_its_escape() -> None:
    with _sample("cusres").open("rb") as handle:
        (message,) = list(read_messages(handle))
    assert isinstance(message, Message) and message.error is None
    ftx = next(s for s in message.segments if s.tag == "FTX")
    assert ftx.value(4) == "SELECTED FOR DOCUMENTARY CHECK: LANE ORANGE"


def test_shared_paxlst_groups_split_and_unt_counts_reported() -> None:
    folder = EDIFACT / "paxlst"
    if not folder.is_dir():
        pytest.skip("shared PAXLST samples not found")
    with (folder / "ediclean_reference_A.edi").open("rb") as handle:
        found = list(read_messages(handle))
    messages = [m for m in found if isinstance(m, Message)]
    assert [m.message_type for m in messages] == ["PAXLST"]
    error = messages[0].error
    assert error is not None and error.segment == "UNT" and "but the message has 25" in error.reason


# ---------------------------------------------------------------------------------------------- the faults


def test_own_cusdec_reads() -> None:
    declaration = read_cusdec(_only_message(cusdec()))
    assert declaration.office == "XXPRT1"
    assert declaration.transport.container_ids == ["MSKU1234565"]
    assert declaration.parties[PartyRole.SELLER].id == "EXPORTER CO"
    assert declaration.items[0].tax_rate == 2.5
    assert [d.type for d in declaration.documents] == ["BM"]


def test_wrong_unt_count_names_the_segment_and_the_next_message_is_read() -> None:
    text = cusdec(count=99)
    text = text.replace("UNZ+1+ICR1'", "") + cusdec(lrn="LRN2").split("ICR1'\n", 1)[1]
    found = _messages(text)
    first, second = (m for m in found if isinstance(m, Message))
    assert first.error is not None
    assert (first.error.segment, first.error.element) == ("UNT", 1)
    assert "UNT counts 99 segments" in str(first.error) and "message M1" in str(first.error)
    assert second.error is None and read_cusdec(second).lrn == "LRN2"


def test_unknown_qualifier_is_refused_at_its_element() -> None:
    message = _only_message(cusdec(extra_header="NAD+ZZ9+X1'"))
    with pytest.raises(Exception) as raised:
        read_cusdec(message)
    error = raised.value
    assert "'ZZ9' is not a party function code qualifier" in str(error)
    assert getattr(error, "segment", None) == "NAD" and getattr(error, "element", None) == 1
    assert getattr(error, "position", None) == 12  # UNH 1, BGM 2, ..., the extra NAD the 12th


def test_escape_at_the_end_of_a_segment_is_named() -> None:
    text = cusdec().replace("FTX+AAA+++ROUTERS'", "FTX+AAA+++ROUTERS?'")
    message = _only_message(text)
    assert message.error is not None
    assert message.error.segment == "FTX"
    assert "release character" in message.error.reason


def test_broken_segment_quarantines_its_message_only() -> None:
    bad = cusdec().replace("DTM+137:20260115:102'", "DT!+137'")
    text = bad.replace("UNZ+1+ICR1'", "") + cusdec(lrn="LRN2").split("ICR1'\n", 1)[1]
    first, second = (m for m in _messages(text) if isinstance(m, Message))
    assert first.error is not None and "'DT!' is not a segment tag" in first.error.reason
    assert first.error.position == 3
    assert second.error is None


def test_canonical_model_refusal_points_at_the_segment() -> None:
    message = _only_message(cusdec(items=["CST+1+ABC+40'\nMOA+40:10:USD'"]))
    with pytest.raises(Exception) as raised:
        read_cusdec(message)
    text = str(raised.value)
    assert "segment CST #13, element 2" in text and "is not an HS code" in text


def test_goods_item_count_checked() -> None:
    with pytest.raises(Exception, match="CNT\\+5 counts 3 goods items but the message has 1"):
        read_cusdec(_only_message(cusdec(cnt=3)))


def test_own_service_characters_and_decimal_comma() -> None:
    text = (
        cusdec().replace("UNA:+.? '", "UNA*|,! ~").replace("MEA+AAE+AAA+KGM:760'", "MEA+AAE+AAA+KGM:760.5'")
    )
    # rewrite every separator: component ':'→'*', element '+'→'|', decimal '.'→',', release '?'→'!', "'"→'~'
    table = str.maketrans({":": "*", "+": "|", "'": "~", "?": "!"})
    head, _, body = text.partition("\n")
    body = body.translate(table).replace("760.5", "760,5")
    found = [m for m in _messages(head + "\n" + body) if isinstance(m, Message)]
    assert len(found) == 1 and found[0].error is None
    declaration = read_cusdec(found[0])
    assert declaration.items[0].net_mass == 760.5
    assert declaration.parties[PartyRole.IMPORTER].name == "IMPORTER LTD"


def test_sniff() -> None:
    assert sniff(b"UNA:+.? 'UNB+UNOC:3+X'")
    assert sniff(b"\nUNB+UNOA:2+X'")
    assert not sniff(b"Declaration ID,Date\n")
    assert not sniff(b'{"lrn": "UNB"}')


def test_reader_batches_records_and_problems() -> None:
    text = cusdec().replace("UNZ+1+ICR1'", "") + cusdec(lrn="LRN2", cnt=7).split("ICR1'\n", 1)[1]
    text = text.replace("UNZ+1+ICR1'", "UNZ+2+ICR1'")
    batches = list(EdifactReader(source="t").read(iter(_messages(text)), size=100))
    (batch,) = batches
    assert batch.records["lrn"].to_list() == ["LRN1"]
    (problem,) = batch.problems
    assert problem.record_key == "LRN2" and problem.field == "segment CNT #20, element 1, component 2"
    assert problem.raw.startswith("UNA:+.? '\nUNB+UNOC:3") and "UNH+M1+CUSDEC" in problem.raw
    # the envelope's own count is checked too
    wrong = list(EdifactReader(source="t").read(iter(_messages(text.replace("UNZ+2", "UNZ+5"))), size=100))
    assert any("UNZ counts 5 but the interchange has 2 messages" in p.reason for p in wrong[0].problems)


# ---------------------------------------------------------------------------------------------- properties

_TEXT = st.text(alphabet=st.sampled_from("ABC 019.:+?'-/"), min_size=0, max_size=12)
_SEGMENT = st.tuples(
    st.sampled_from(["FTX", "NAD", "LOC", "RFF", "MOA"]),
    st.lists(st.lists(_TEXT, min_size=1, max_size=3), min_size=1, max_size=5),
)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(_SEGMENT, min_size=1, max_size=8))
def test_tokeniser_agrees_with_pydifact_and_round_trips(segments: list[tuple[str, list[list[str]]]]) -> None:
    separators = Separators()
    body = [render(tag, elements, separators) for tag, elements in segments]
    count = len(body) + 2
    text = "UNB+UNOC:3+A+B+260101:0000+R1'UNH+1+CUSDEC:D:96B:UN'" + "".join(body) + f"UNT+{count}+1'UNZ+1+R1'"
    (message,) = _messages(text)
    assert isinstance(message, Message) and message.error is None
    ours = [(s.tag, [list(e) for e in s.elements]) for s in message.segments[1:-1]]
    with warnings.catch_warnings():  # pydifact warns of empty segments and its missing XML directories
        warnings.simplefilter("ignore")
        theirs = [
            (s.tag, [e if isinstance(e, list) else [e] for e in s.elements])
            for s in Parser().parse(text, Characters())  # type: ignore[no-untyped-call]
            if s.tag not in {"UNB", "UNH", "UNT", "UNZ"}
        ]
    assert ours == theirs
    # rendering what we read gives the same text back
    assert [render(tag, elements, separators) for tag, elements in ours] == body


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=400))
def test_fuzzed_interchange_never_crashes_and_names_the_segment(noise: bytes, at: int) -> None:
    text = cusdec().encode("latin-1")
    at = min(at, len(text))
    data = text[:at] + noise + text[at:]
    for item in read_messages(io.BytesIO(data)):
        error = item.error
        if isinstance(item, Message) and error is None:
            try:
                read_cusdec(item) if item.message_type == "CUSDEC" else read_manifest(item)
            except Exception as raised:  # the one kind of error a message may raise: named
                assert type(raised).__name__ == "EdifactError"
                assert getattr(raised, "segment", None), str(raised)
            continue
        assert error is not None
        assert error.segment or error.position is not None, str(error)


# ---------------------------------------------------------------------------------------------- CUSRES out

_FREE_TEXT = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("+:?'"),
        min_size=1,
        max_size=40,
    )
    .map(lambda t: " ".join(t.split()))
    .filter(bool)
)
_ANSWERS = st.builds(
    Answer,
    lrn=st.text(alphabet="ABCDEFGHIJ0123456789-+?'", min_size=1, max_size=20),
    decided_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=0)),
    lane=st.sampled_from(["red", "yellow", "green"]),
    basis=_FREE_TEXT,
    reasons=st.lists(_FREE_TEXT, max_size=4),
    case_status=st.none(),
    case_result=st.none(),
    duty_recovered=st.none() | st.floats(min_value=0, max_value=1e9).map(lambda v: round(v, 2)),
)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(_ANSWERS, min_size=1, max_size=3), st.sampled_from([None, "open", "seizure", "no_finding"]))
def test_cusres_round_trip(answers: list[Answer], case: str | None) -> None:
    if case == "open":
        answers = [a.model_copy(update={"case_status": "open"}) for a in answers]
    elif case is not None:
        answers = [a.model_copy(update={"case_status": "closed", "case_result": case}) for a in answers]
    text = write_cusres(
        answers, sender="CUSTOMS", recipient="TRADER", reference="R1", prepared_at=answers[0].decided_at
    )
    encoding = "utf-8" if "UNB+UNOY" in text else "latin-1"
    found = list(read_messages(io.BytesIO(text.encode(encoding))))
    assert all(isinstance(m, Message) and m.error is None for m in found), found
    assert [read_cusres(m) for m in found if isinstance(m, Message)] == answers
