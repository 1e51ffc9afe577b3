"""Traveller risk: watchlist screening, travel patterns, a score with its reasons, and referral.

Screening goes through the screening stage's matcher (names as the list gives them and as the MRZ
transliterates them; date of birth and nationality as qualifiers). Travel patterns: a route through a
transit hub of concern, repeated short stays, a one-way ticket bought late, travelling on the same booking (or
phone, or address) as a flagged person, and a link to a trader under investigation (name, address, phone).

The score combines the reasons' weights as independent signals, ``1 - Π(1 - wᵢ)``, so each reason adds to it
and none can push it past 1. Referral (secondary inspection) uses the lanes stage's engine and policy: a
capacity per movement, a seeded control sample drawn whatever the score, a minimum score below which no
capacity is spent, and mandatory referral for a stolen or specimen document or a strong watchlist hit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from borderwatch.lanes.engine import assign_lanes_frame
from borderwatch.lanes.policy import Capacity, LanePolicy
from borderwatch.screening import DEFAULT_THRESHOLD, Match, Matcher, Query, compare_names
from borderwatch.travellers.checks import (
    PATTERN,
    WATCHLIST,
    Reason,
    document_reasons,
    holder_key,
    holders_of,
)
from borderwatch.travellers.mrz import MrzError, read_mrz, transliterate
from borderwatch.travellers.records import Movement, Traveller

_DIGITS = re.compile(r"\D")


class TravellerPolicy(BaseModel):
    """Weights, pattern thresholds and referral capacity; stored by ``version`` with each assessment."""

    model_config = ConfigDict(extra="forbid")

    version: str = "travellers-1"
    referral_capacity: int = Field(default=10, ge=0, description="secondary inspections per movement")
    min_score: float = Field(default=0.35, ge=0.0, le=1.0, description="never refer on a lower score")
    control_rate: float = Field(
        default=0.01, ge=0.0, le=1.0, description="random referrals, whatever the score"
    )
    seed: int = 42
    watch_threshold: float = DEFAULT_THRESHOLD
    mandatory_watch_score: float = Field(
        default=0.95, description="a hit at least this strong (name and date of birth) is always referred"
    )
    transit_hubs: tuple[str, ...] = ()
    hub_weight: float = 0.15
    short_stay_days: int = 3
    short_stay_repeats: int = 3
    short_stay_window_days: int = 180
    short_stay_weight: float = 0.25
    late_booking_days: int = 2
    one_way_late_weight: float = 0.2
    co_traveller_weight: float = 0.4
    trader_link_weight: float = 0.4


@dataclass(frozen=True)
class TraderContact:
    """A trader under investigation, with the names, addresses and phone numbers on its file."""

    trader_id: str
    names: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


@dataclass
class Assessment:
    key: str
    score: float
    reasons: list[Reason] = field(default_factory=list)
    referred: bool = False
    basis: str = "none"
    control: bool = False

    @property
    def mandatory(self) -> bool:
        return any(reason.mandatory for reason in self.reasons)


def screening_names(traveller: Traveller) -> list[str]:
    """The names a traveller is screened under, MRZ spellings first (Doc 9303's transliteration), then the
    list's name transliterated the same way, then as the list wrote it."""
    names = []
    for document in traveller.documents:
        if document.mrz:
            try:
                names.append(read_mrz(document.mrz).name)
            except MrzError:
                continue
    names.extend((transliterate(traveller.name), traveller.name))
    seen: dict[str, None] = {}
    for name in names:
        if name.strip():
            seen.setdefault(name.strip().upper(), None)
    return list(seen)


def watchlist_reasons(traveller: Traveller, matcher: Matcher, policy: TravellerPolicy) -> list[Reason]:
    best: dict[str, tuple[Match, str]] = {}
    for name in screening_names(traveller):
        query = Query(
            name=name,
            kind="person",
            date_of_birth=traveller.birth_date.isoformat() if traveller.birth_date else None,
            nationality=traveller.nationality,
            identifiers=tuple(d.number for d in traveller.documents),
        )
        for match in matcher.screen(query, threshold=policy.watch_threshold, limit=3):
            if match.entity_id not in best or match.score > best[match.entity_id][0].score:
                best[match.entity_id] = (match, name)
    return [
        Reason(
            "watchlist_hit",
            WATCHLIST,
            round(min(match.score, 0.95), 4),
            {
                "entity_id": match.entity_id,
                "list": match.list_name,
                "listed_name": match.matched_name,
                "screened_name": name,
                "score": match.score,
                "explanation": match.explanation,
            },
            mandatory=match.score >= policy.mandatory_watch_score,
        )
        for match, name in best.values()
    ]


def _phone(value: str) -> str:
    digits = _DIGITS.sub("", value)
    return digits[-9:] if len(digits) >= 6 else ""


def pattern_reasons(
    traveller: Traveller,
    movement: Movement,
    *,
    policy: TravellerPolicy,
    stays: Sequence[tuple[dt.date, dt.date]] = (),
    traders: Sequence[TraderContact] = (),
) -> list[Reason]:
    """Travel-pattern findings of one traveller (without the co-traveller one, which needs the whole list).

    ``stays`` are the traveller's earlier stays (arrival, departure) known to the agency.
    """
    reasons: list[Reason] = []
    # Where the traveller changed planes or ships: the itinerary, and this movement's departure when they
    # boarded elsewhere (a passenger who starts at a hub does not transit through it).
    route = [p for p in (traveller.embarkation, *traveller.itinerary) if p]
    transits = list(traveller.itinerary)
    if (
        traveller.embarkation
        and movement.departure_place
        and traveller.embarkation != movement.departure_place
    ):
        transits.append(movement.departure_place)
        route.append(movement.departure_place)
    hubs = sorted({p for p in transits if p in policy.transit_hubs})
    if hubs:
        reasons.append(Reason("transit_hub", PATTERN, policy.hub_weight, {"hubs": hubs, "route": route}))
    travel_day = (movement.departure_at or movement.arrival_at or dt.datetime.now()).date()
    window_start = travel_day - dt.timedelta(days=policy.short_stay_window_days)
    short = [(a, b) for a, b in stays if a >= window_start and 0 <= (b - a).days <= policy.short_stay_days]
    if len(short) >= policy.short_stay_repeats:
        reasons.append(
            Reason(
                "repeated_short_stays",
                PATTERN,
                policy.short_stay_weight,
                {"stays": [[a.isoformat(), b.isoformat()] for a, b in short[-5:]], "count": len(short)},
            )
        )
    if traveller.one_way and traveller.booked_on is not None:
        lead = (travel_day - traveller.booked_on).days
        if lead <= policy.late_booking_days:
            reasons.append(
                Reason(
                    "one_way_late_booking",
                    PATTERN,
                    policy.one_way_late_weight,
                    {"booked_on": traveller.booked_on.isoformat(), "days_before_travel": lead},
                )
            )
    for trader in traders:
        link = _trader_link(traveller, trader)
        if link:
            reasons.append(
                Reason(
                    "trader_link", PATTERN, policy.trader_link_weight, {"trader_id": trader.trader_id, **link}
                )
            )
    return reasons


def _trader_link(traveller: Traveller, trader: TraderContact) -> dict[str, str]:
    phone = _phone(traveller.phone or "")
    if phone and any(_phone(p) == phone for p in trader.phones):
        return {"via": "phone", "value": traveller.phone or ""}
    if traveller.address:
        for address in trader.addresses:
            if fuzz.token_set_ratio(traveller.address.upper(), address.upper()) >= 92:
                return {"via": "address", "value": traveller.address, "trader_address": address}
    for name in trader.names:
        if compare_names(traveller.name, name) >= 0.8:
            return {"via": "name", "value": traveller.name, "trader_name": name}
    return {}


def _flagged(reasons: Sequence[Reason]) -> list[str]:
    return sorted({r.code for r in reasons if r.mandatory or r.family == WATCHLIST or r.points >= 0.5})


def co_traveller_reasons(
    travellers: Sequence[Traveller], reasons: Mapping[str, list[Reason]], *, policy: TravellerPolicy
) -> dict[str, list[Reason]]:
    """For each traveller on the same booking, phone or address as a flagged one, the link as a reason."""
    flagged = {t.key: _flagged(reasons.get(t.key, [])) for t in travellers}
    groups: dict[tuple[str, str], list[Traveller]] = {}
    for traveller in travellers:
        for via, value in (
            ("booking", traveller.booking_ref or ""),
            ("phone", _phone(traveller.phone or "")),
            ("address", " ".join((traveller.address or "").upper().split())),
        ):
            if value:
                groups.setdefault((via, value), []).append(traveller)
    found: dict[str, list[Reason]] = {}
    for (via, value), members in groups.items():
        if len(members) < 2:
            continue
        for member in members:
            for other in members:
                if other.key == member.key or not flagged[other.key]:
                    continue
                already = {r.evidence.get("flagged_traveller") for r in found.get(member.key, [])}
                if other.key in already:
                    continue
                found.setdefault(member.key, []).append(
                    Reason(
                        "co_traveller_flagged",
                        PATTERN,
                        policy.co_traveller_weight,
                        {
                            "via": via,
                            "value": value,
                            "flagged_traveller": other.key,
                            "flagged_for": flagged[other.key],
                        },
                    )
                )
    return found


def combine(reasons: Sequence[Reason]) -> float:
    """``1 - Π(1 - wᵢ)``: independent signals, each adding, the total below 1."""
    remaining = 1.0
    for reason in reasons:
        remaining *= 1.0 - min(max(reason.points, 0.0), 1.0)
    return round(1.0 - remaining, 4)


def assess_movement(
    movement: Movement,
    travellers: Sequence[Traveller],
    *,
    policy: TravellerPolicy,
    matcher: Matcher | None = None,
    lost_stolen: Mapping[str, Sequence[Mapping[str, object]]] | None = None,
    holders: Mapping[str, set[str]] | None = None,
    stays: Mapping[str, Sequence[tuple[dt.date, dt.date]]] | None = None,
    traders: Sequence[TraderContact] = (),
    today: dt.date | None = None,
) -> list[Assessment]:
    """Every traveller of a movement checked, screened, scored and referred (or not) under the policy.

    ``holders`` (document number → holder keys seen before) is merged with this list's own holders;
    ``stays`` maps :func:`~borderwatch.travellers.checks.holder_key` to earlier stays.
    """
    when = movement.arrival_at or movement.departure_at
    on = when.date() if when is not None else (today or dt.date.today())
    seen = holders_of(travellers)
    for number, keys in (holders or {}).items():
        seen.setdefault(number, set()).update(keys)
    reasons: dict[str, list[Reason]] = {}
    for traveller in travellers:
        found = document_reasons(traveller, on=on, lost_stolen=lost_stolen or {}, holders=seen)
        if matcher is not None:
            found.extend(watchlist_reasons(traveller, matcher, policy))
        found.extend(
            pattern_reasons(
                traveller,
                movement,
                policy=policy,
                stays=(stays or {}).get(holder_key(traveller), ()),
                traders=traders,
            )
        )
        reasons[traveller.key] = found
    for key, extra in co_traveller_reasons(travellers, reasons, policy=policy).items():
        reasons[key].extend(extra)
    assessments = [
        Assessment(key=t.key, score=combine(reasons[t.key]), reasons=reasons[t.key]) for t in travellers
    ]
    refer(assessments, movement=movement, policy=policy, on=on)
    return assessments


def lane_policy(policy: TravellerPolicy) -> LanePolicy:
    """The lanes stage's policy for referrals: red is secondary inspection, no yellow band, no AEO factor."""
    return LanePolicy(
        version=policy.version,
        red=Capacity(default=policy.referral_capacity),
        yellow=Capacity(default=0),
        control_rate=policy.control_rate,
        aeo_factor=1.0,
        min_red_probability=policy.min_score,
        seed=policy.seed,
    )


def refer(
    assessments: Sequence[Assessment], *, movement: Movement, policy: TravellerPolicy, on: dt.date
) -> None:
    """Set ``referred``/``basis``/``control`` on each assessment with the lanes engine, in place."""
    if not assessments:
        return
    frame = pl.DataFrame(
        {
            "lrn": [f"{movement.key}#{a.key}" for a in assessments],
            "declared_on": [on] * len(assessments),
            "office": [movement.key] * len(assessments),
            "fraud_probability": [a.score for a in assessments],
            "score": [a.score for a in assessments],
            "forced_lane": ["red" if a.mandatory else None for a in assessments],
        },
        schema_overrides={"forced_lane": pl.String},
    )
    decided = assign_lanes_frame(
        frame, policy=lane_policy(policy), red_budget=policy.referral_capacity, yellow_budget=0
    )
    by_lrn = {row["lrn"]: row for row in decided.iter_rows(named=True)}
    for assessment in assessments:
        row = by_lrn[f"{movement.key}#{assessment.key}"]
        assessment.referred = row["lane"] == "red"
        assessment.control = bool(row["control"]) and assessment.referred and not assessment.mandatory
        assessment.basis = (
            "mandatory"
            if assessment.mandatory
            else "control"
            if assessment.control and assessment.score < policy.min_score
            else "risk"
            if assessment.referred
            else "none"
        )
