"""Field-by-field repair of OCR'd MRZ lines, without the OCR model (its confusions are simulated)."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.travellers import compose_mrz
from borderwatch.travellers.ocr import normalise_ocr_line, repair_mrz
from tests.hypothesis_profiles import examples

TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]


def test_the_confusions_seen_on_the_sample_pages_are_repaired() -> None:
    noisy = [
        "Surname: ERIKSSoN",
        "P<UTOErIKSSON<<ANNA<MArIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UT07408122F1204159ZE184226B<<<<<10",
    ]
    result, repairs = repair_mrz(noisy)
    assert result is not None and result.valid
    assert list(result.lines) == TD3
    assert repairs == ["line 2 position 13: 0 -> O"]


def test_filler_runs_read_short_or_long_are_fitted() -> None:
    short = [TD2[0].replace("<<<<<<<<<<<", "<<<<<<<<<"), TD2[1].replace("<<<<<<<", "<<<<<<<<")]
    result, repairs = repair_mrz(short)
    assert result is not None and list(result.lines) == TD2
    assert any("fitted to 36" in r for r in repairs)


def test_letters_for_digits_in_dates_and_ambiguity_in_the_number_resolved_by_its_check_digit() -> None:
    noisy = ["P<UT0ERIKSS0N<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8989O2C36UTO74O8122F12O4159ZE184226B<<<<<1O"]
    result, _ = repair_mrz(noisy)
    assert result is not None and list(result.lines) == TD3


def test_nothing_like_an_mrz_gives_none() -> None:
    assert repair_mrz(["UTOPIA", "PASSPORT", "Given names: ANNA"]) == (None, [])


def test_filler_lookalikes_and_spaces() -> None:
    assert normalise_ocr_line("P«UTO ERIKSSON‹‹anna") == "P<UTOERIKSSON<<ANNA"


_CONFUSE_ALPHA = {"O": "0", "I": "1", "S": "5", "B": "8", "Z": "2", "G": "6"}
_CONFUSE_DIGIT = {v: k for k, v in _CONFUSE_ALPHA.items()}


@settings(max_examples=examples(80), deadline=None)
@given(
    st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=12),
    st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=12),
    st.dates().map(lambda d: d.strftime("%y%m%d")),
    st.data(),
)
def test_letter_digit_confusions_in_names_codes_and_dates_are_undone(
    surname: str, given_name: str, born: str, data: st.DataObject
) -> None:
    text = compose_mrz(
        fmt="TD3",
        document_number="X12345678",
        issuing_state="GBR",
        nationality="GBR",
        surname=surname,
        given_names=given_name,
        birth_date=born,
        sex="F",
        expiry_date="301231",
    )
    first, second = text.split("\n")
    # Confuse letters in the name field and digits in the birth date, as OCR does.
    top = "".join(_CONFUSE_ALPHA.get(c, c) if data.draw(st.booleans()) else c for c in first)
    top = first[:5] + top[5:]  # keep the document code and issuing state readable
    dates = "".join(_CONFUSE_DIGIT.get(c, c) for c in second[13:19])
    bottom = second[:13] + dates + second[19:]
    result, _ = repair_mrz([top, bottom])
    assert result is not None
    assert list(result.lines) == [first, second]
    assert result.valid
