"""The indexed matcher: explanations, qualifiers, and a candidate index that never scans the whole list."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from borderwatch.screening.entries import Alias, Identifier, WatchEntry
from borderwatch.screening.matcher import Channels, Matcher, Query
from borderwatch.screening.normalize import normalize_name


def _entries() -> list[WatchEntry]:
    return [
        WatchEntry(
            entity_id="t:1",
            list_name="test",
            kind="person",
            name="AL-ZAWAHIRI, Ayman",
            aliases=(Alias("Abu Muhammad"), Alias("The Doctor", weak=True)),
            dobs=("1951-06-19",),
            nationalities=("EG",),
            identifiers=(Identifier("Passport", "1084010", "Egypt"),),
        ),
        WatchEntry(
            entity_id="t:2",
            list_name="test",
            kind="organization",
            name="KOREA MINING DEVELOPMENT TRADING CORP",
        ),
        WatchEntry(
            entity_id="t:3", list_name="test", kind="person", name="KIM Jong Un", dobs=("1984-01-08",)
        ),
    ]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(_entries())


def test_match_explains_parts_and_qualifiers(matcher: Matcher) -> None:
    (match,) = matcher.screen(
        Query(name="Aiman al Zawahiry", date_of_birth="1951-06-19", nationality="Egypt")
    )
    assert match.entity_id == "t:1"
    assert match.score > match.name_score  # date of birth and nationality raised it
    assert "ayman~aiman" in match.explanation or "aiman~ayman" in match.explanation
    assert "date of birth 1951-06-19 matches" in match.explanation
    assert "nationality EG matches" in match.explanation


def test_other_date_of_birth_lowers_the_score_below_the_threshold(matcher: Matcher) -> None:
    (with_same_name,) = matcher.screen(Query(name="Kim Jong Un"))
    assert with_same_name.score == 1.0
    assert matcher.screen(Query(name="Kim Jong Un", date_of_birth="1941-03-02")) == []
    (low,) = matcher.screen(Query(name="Kim Jong Un", date_of_birth="1941-03-02"), threshold=0.3)
    assert "differs" in low.explanation


def test_person_screened_against_an_organisation_is_penalised(matcher: Matcher) -> None:
    as_company = matcher.screen(
        Query(name="Korea Mining Development Trading Corporation", kind="organization")
    )
    as_person = matcher.screen(
        Query(name="Korea Mining Development Trading Corporation", kind="person"), threshold=0
    )
    assert as_company[0].entity_id == "t:2" and as_company[0].score >= 0.9
    assert as_person[0].score < as_company[0].score
    assert "listed organization" in as_person[0].explanation


def test_identifier_match_lifts_a_weak_name_match(matcher: Matcher) -> None:
    assert matcher.screen(Query(name="Ayman Khalil")) == []  # another family name: not him by name
    (hit,) = matcher.screen(Query(name="Ayman Khalil", identifiers=("1084-010",)))
    assert hit.entity_id == "t:1" and "identifier 1084010 matches" in hit.explanation


def test_weak_alias_is_flagged(matcher: Matcher) -> None:
    (hit,) = matcher.screen(Query(name="The Doctor"), threshold=0.5)
    assert hit.entity_id == "t:1"
    assert "weak alias" in hit.qualifiers
    assert hit.score < 1.0


def test_candidate_index_never_scans_the_whole_list() -> None:
    rnd = random.Random(3)
    syllables = ["ka", "ri", "mo", "ha", "se", "lu", "an", "to", "bi", "ne", "za", "qu", "or", "di"]
    entries = [
        WatchEntry(
            entity_id=f"g:{i}",
            list_name="gen",
            kind="person",
            name=" ".join(
                "".join(rnd.choices(syllables, k=rnd.randint(2, 4))) for _ in range(rnd.randint(2, 3))
            ),
        )
        for i in range(3000)
    ]
    both = Channels(gram_candidates=6, part_index_floor=1.1)  # both channels, always
    matcher = Matcher(entries, candidates=12, channels=both)
    for entry in entries[:200]:
        candidates = matcher.candidate_names(normalize_name(entry.name))
        assert len(candidates) <= 12 + 6  # the part index's, then the trigram index's
        # the listed name itself is always among its own candidates
        assert any(matcher.entry_of_name(c).entity_id == entry.entity_id for c in candidates)
        (best,) = matcher.screen(Query(name=entry.name), limit=1)
        assert best.score == 1.0


def test_empty_and_unknown_queries(matcher: Matcher) -> None:
    assert matcher.screen(Query(name="")) == []
    assert matcher.screen(Query(name="Zzyzx Qwerty")) == []


def test_generated_sanctioned_sellers_are_found_on_the_real_lists(shared_data: Path) -> None:
    from borderwatch.screening.parsers import read_list
    from borderwatch.synthetic import tables

    lists = shared_data / "watchlists"
    real = Matcher(read_list(lists / "ofac_sdn.csv") + read_list(lists / "un_consolidated.xml"))
    for _, _, ofac_number, variant, _ in tables.SANCTIONED:
        matches = real.screen(Query(name=variant, kind="organization"))
        assert f"ofac:{ofac_number}" in [m.entity_id for m in matches], variant
    for ring_name in tables.RING_NAMES:  # an ordinary trader's name is not a hit
        assert real.screen(Query(name=ring_name, kind="organization")) == []
