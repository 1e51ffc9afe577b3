"""Plate normalisation per country format, look-alike repair, and the hotlist index's tolerant matching."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import DamerauLevenshtein

from borderwatch.vehicles import HotlistIndex, Listed, PlateError, confusion_key, normalise
from borderwatch.vehicles.plates import TEMPLATES, clean
from tests.hypothesis_profiles import examples

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
DIGITS = "0123456789"


@pytest.mark.parametrize(
    ("text", "country", "plate", "repairs"),
    [
        ("AB12 CDE", "GB", "AB12CDE", ()),
        ("A812 CDE", "GB", "AB12CDE", ("2:8>B",)),
        ("AB1Z C0E", "GB", "AB12COE", ("4:Z>2", "6:0>O")),
        ("ab-123-cd", "FR", "AB123CD", ()),
        ("1234 8CD", "ES", "1234BCD", ("5:8>B",)),
        ("I234BCD", "ES", "1234BCD", ("1:I>1",)),
        ("M-AB 1234", "DE", "MAB1234", ()),
        ("5K-123-A", "GB", "5K123A", ()),  # fits no GB template: cleaned, not repaired
        ("7ABC123", "US", "7ABC123", ()),
    ],
)
def test_normalise_repairs_lookalikes_where_the_country_format_says(
    text: str, country: str, plate: str, repairs: tuple[str, ...]
) -> None:
    result = normalise(text, country, confidence=0.9)
    assert (result.plate, result.repairs, result.original) == (plate, repairs, text)
    assert result.confidence == pytest.approx(0.9 * 0.95 ** len(repairs), abs=1e-4)


@pytest.mark.parametrize("text", ["", "  - ", "ABCDEFGHIJKLM", "AB€12"])
def test_text_that_cannot_be_a_plate_is_refused_with_the_reason(text: str) -> None:
    with pytest.raises(PlateError):
        normalise(text, "GB")


def _plate_of(template: str, rng: random.Random) -> str:
    return "".join(rng.choice(LETTERS if c == "A" else DIGITS) for c in template)


@settings(max_examples=examples(200), deadline=None)
@given(st.sampled_from(sorted(c for c, t in TEMPLATES.items() if t)), st.integers(0, 10**6))
def test_a_misread_of_one_lookalike_is_repaired_to_the_plate(country: str, seed: int) -> None:
    rng = random.Random(seed)
    template = rng.choice(TEMPLATES[country])
    plate = _plate_of(template, rng)
    swaps = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "B": "8", "S": "5", "Z": "2", "O": "0"}
    positions = [i for i, c in enumerate(plate) if c in swaps]
    if not positions:
        return
    i = rng.choice(positions)
    misread = plate[:i] + swaps[plate[i]] + plate[i + 1 :]
    result = normalise(misread, country)
    # The misread is one repair from the plate: the repair takes it back, or takes another of the country's
    # templates that it fits as cheaply (NL's A999AA and AA999A both fit C6995G with one repair).
    assert result.fits
    assert result.plate == plate or len(result.repairs) <= 1


@given(st.text(max_size=30))
def test_normalise_never_fails_otherwise_than_plate_error(text: str) -> None:
    try:
        result = normalise(text, "GB")
    except PlateError:
        return
    assert result.plate == clean(result.plate) and 2 <= len(result.plate) <= 12


def test_hotlist_matches_exact_lookalike_and_one_edit_but_not_two() -> None:
    index = HotlistIndex.build(
        [
            Listed(1, "AB12CDE", "GB", "national", "stolen"),
            Listed(2, "XY99ZZZ", "GB", "partner", "smuggling"),
            Listed(3, "AB12CDE", "FR", "partner", "same text, other country"),
        ]
    )
    exact = index.match("AB12CDE", "GB")
    assert [(h.entry.entry_id, h.how, h.score) for h in exact] == [(1, "exact", 1.0), (3, "exact", 0.8)]
    assert [(h.entry.entry_id, h.how) for h in index.match("A812COE", "GB")] == [(1, "lookalike")]
    assert [h.how for h in index.match("AB12CD", "GB")] == ["one_edit"]  # a missed character
    assert [h.how for h in index.match("AB12CDEE", "GB")] == ["one_edit"]  # an extra one
    assert [h.how for h in index.match("AB12CXE", "GB")] == ["one_edit"]  # one different
    assert index.match("AB12XXE", "GB") == []


@settings(max_examples=examples(100), deadline=None)
@given(st.integers(0, 10**6))
def test_hotlist_index_finds_what_a_scan_finds(seed: int) -> None:
    rng = random.Random(seed)
    listed = [Listed(i, _plate_of("AA99AAA", rng), "GB", "national", "x") for i in range(200)]
    index = HotlistIndex.build(listed)
    probe = rng.choice(listed).plate
    if rng.random() < 0.5:
        i = rng.randrange(len(probe))
        probe = probe[:i] + rng.choice(LETTERS + DIGITS) + probe[i + 1 :]
    found = {h.entry.entry_id for h in index.match(probe, "GB")}
    scanned = {
        e.entry_id
        for e in listed
        if DamerauLevenshtein.distance(confusion_key(e.plate), confusion_key(probe)) <= 1
    }
    assert found == scanned
