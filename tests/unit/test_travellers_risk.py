"""Document checks, screening, travel patterns, scores and referrals of travellers (no database)."""

from __future__ import annotations

import datetime as dt

from borderwatch.screening import Matcher, WatchEntry
from borderwatch.travellers import compose_mrz
from borderwatch.travellers.checks import document_reasons, holders_of
from borderwatch.travellers.generate import generate_flight
from borderwatch.travellers.records import Movement, TravelDocument, Traveller
from borderwatch.travellers.risk import (
    TraderContact,
    TravellerPolicy,
    assess_movement,
    combine,
    pattern_reasons,
)

ON = dt.date(2026, 11, 20)
MOVEMENT = Movement(
    kind="flight", number="BW1", departure_place="IST", departure_at=dt.datetime(2026, 11, 20, 9, 0)
)


def _person(key: str = "T1", **changes: object) -> Traveller:
    mrz = compose_mrz(
        fmt="TD3",
        document_number="XA1234567",
        issuing_state="FRA",
        nationality="FRA",
        surname="DUPONT",
        given_names="MARIE",
        birth_date="800101",
        sex="F",
        expiry_date="300101",
    )
    traveller = Traveller(
        key=key,
        surname="DUPONT",
        given_names="MARIE",
        birth_date=dt.date(1980, 1, 1),
        nationality="FRA",
        documents=[
            TravelDocument(
                code="P", number="XA1234567", issuing_state="FRA", expiry=dt.date(2030, 1, 1), mrz=mrz
            )
        ],
    )
    for name, value in changes.items():
        setattr(traveller, name, value)
    return traveller


def _codes(traveller: Traveller, **kwargs: object) -> list[str]:
    reasons = document_reasons(
        traveller,
        on=ON,
        lost_stolen=kwargs.get("lost_stolen", {}),  # type: ignore[arg-type]
        holders=kwargs.get("holders", holders_of([traveller])),  # type: ignore[arg-type]
    )
    return [r.code for r in reasons]


def test_a_clean_document_has_no_reason() -> None:
    assert _codes(_person()) == []


def test_each_document_check_with_its_evidence() -> None:
    person = _person()
    document = person.documents[0]
    first, second = (document.mrz or "").split("\n")
    document.mrz = f"{first}\n{second[:9]}{(int(second[9]) + 1) % 10}{second[10:]}"
    assert _codes(person)[:1] == ["mrz_check_digit"]
    person = _person()
    person.documents[0].expiry = dt.date(2026, 1, 1)
    assert _codes(person) == ["document_expired"]
    listed = {"XA1234567": [{"issuing_state": "FRA", "status": "stolen"}]}
    assert _codes(_person(), lost_stolen=listed) == ["document_lost_stolen"]
    other_state = {"XA1234567": [{"issuing_state": "DEU", "status": "stolen"}]}
    assert _codes(_person(), lost_stolen=other_state) == []
    assert "nationality_issuer_mismatch" in _codes(_person(nationality="DEU"))
    twin = _person("T2", given_names="PAUL", birth_date=dt.date(1970, 5, 5))
    reasons = document_reasons(_person(), on=ON, lost_stolen={}, holders=holders_of([_person(), twin]))
    (two,) = [r for r in reasons if r.code == "document_two_holders"]
    assert two.evidence["other_holders"] == ["DUPONT|PAUL|1970-05-05"]
    specimen = _person(surname="ERIKSSON", given_names="ANNA MARIA")
    specimen.documents = [TravelDocument(code="P", number="L898902C3", issuing_state="UTO")]
    reasons = document_reasons(specimen, on=ON, lost_stolen={}, holders={})
    (found,) = [r for r in reasons if r.code == "specimen_document"]
    assert found.evidence["specimen_number"] == "L898902C3"
    assert found.mandatory


def test_mrz_disagreeing_with_the_list_is_a_reason() -> None:
    person = _person(birth_date=dt.date(1981, 1, 1))
    assert _codes(person) == ["mrz_mismatch"]


def test_patterns() -> None:
    policy = TravellerPolicy(transit_hubs=("DXB",))
    person = _person(
        itinerary=("DXB",), one_way=True, booked_on=dt.date(2026, 11, 19), phone="+33 6 12 34 56 78"
    )
    stays = [(dt.date(2026, 9, d), dt.date(2026, 9, d + 2)) for d in (1, 8, 15)]
    traders = [TraderContact(trader_id="TR9", phones=("0612345678",))]
    codes = [r.code for r in pattern_reasons(person, MOVEMENT, policy=policy, stays=stays, traders=traders)]
    assert codes == ["transit_hub", "repeated_short_stays", "one_way_late_booking", "trader_link"]
    early = _person(one_way=True, booked_on=dt.date(2026, 10, 1))
    assert pattern_reasons(early, MOVEMENT, policy=policy) == []
    address = _person(address="12 Rue de la Paix, Paris")
    link = pattern_reasons(
        address,
        MOVEMENT,
        policy=policy,
        traders=[TraderContact("TR1", addresses=("12 RUE DE LA PAIX PARIS",))],
    )
    assert link[0].evidence["via"] == "address"


def test_combine_adds_each_reason_and_stays_below_one() -> None:
    from borderwatch.travellers.checks import Reason

    one = Reason("a", "pattern", 0.5)
    assert combine([]) == 0.0
    assert combine([one]) == 0.5
    assert combine([one, one]) == 0.75
    assert combine([Reason("b", "document", 1.0), one]) == 1.0


def test_generated_flight_finds_every_planted_case_and_refers_no_clean_one() -> None:
    flight = generate_flight(passengers=300, seed=7)
    policy = TravellerPolicy(transit_hubs=("IST", "DXB"), control_rate=0.0)
    assessments = assess_movement(
        flight.movement,
        flight.travellers,
        policy=policy,
        matcher=Matcher(flight.watchlist),
        lost_stolen=flight.lost_stolen,
    )
    by_key = {a.key: a for a in assessments}
    expected = {
        "listed_transliterated": "watchlist_hit",
        "co_traveller": "co_traveller_flagged",
        "lost_stolen": "document_lost_stolen",
        "bad_check_digit": "mrz_check_digit",
    }
    for case, code in expected.items():
        assessment = by_key[flight.planted[case]]
        assert code in [r.code for r in assessment.reasons], case
        assert assessment.referred, case
    hit = next(
        r for r in by_key[flight.planted["listed_transliterated"]].reasons if r.code == "watchlist_hit"
    )
    assert hit.evidence["screened_name"] == "DMITRII SHCHUKIN"
    assert hit.mandatory
    assert [k for k in flight.clean_keys if by_key[k].referred] == []


def test_capacity_and_control_sample_come_from_the_lanes_engine() -> None:
    flight = generate_flight(passengers=200, seed=3)
    policy = TravellerPolicy(transit_hubs=("IST", "DXB"), control_rate=0.2, referral_capacity=30)
    assessments = assess_movement(
        flight.movement, flight.travellers, policy=policy, lost_stolen=flight.lost_stolen
    )
    controls = [a for a in assessments if a.basis == "control"]
    # The control sample is drawn from everyone at the rate, whatever the capacity (as for declarations);
    # risk referrals get what is left of the capacity.
    assert 25 <= len(controls) <= 55
    assert all(a.score < policy.min_score for a in controls)
    drawn = sum(a.control for a in assessments)
    mandatory = sum(a.basis == "mandatory" for a in assessments)
    assert sum(a.basis == "risk" for a in assessments) <= max(0, 30 - drawn - mandatory)
    tight = TravellerPolicy(transit_hubs=("IST", "DXB"), control_rate=0.0, referral_capacity=0)
    again = assess_movement(flight.movement, flight.travellers, policy=tight, lost_stolen=flight.lost_stolen)
    referred = [a for a in again if a.referred]
    assert referred and all(a.basis == "mandatory" for a in referred)  # mandatory referrals ignore capacity


def test_listed_name_in_cyrillic_found_without_an_mrz() -> None:
    person = _person(
        surname="Щукин", given_names="Дмитрий", birth_date=dt.date(1975, 3, 14), nationality="RUS"
    )
    person.documents = []
    matcher = Matcher(
        [WatchEntry("l:1", "l", "person", "Dmitriy Shchukin", dobs=("1975-03-14",), nationalities=("RU",))]
    )
    (assessment,) = assess_movement(MOVEMENT, [person], policy=TravellerPolicy(), matcher=matcher)
    assert [r.code for r in assessment.reasons] == ["watchlist_hit"]
