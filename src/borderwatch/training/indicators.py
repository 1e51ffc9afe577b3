"""What a trainee can notice on a declaration: each indicator is named once here, with the sentence the pages
show and the test of the trainee's view that says it is there to be seen.

The checks read only the view (``training.view``), never the ground truth: an indicator named in a debrief is
one the trainee could have seen on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from borderwatch.synthetic import DUAL_USE_HS

View = Mapping[str, Any]
UNDERVALUE_RATIO = 0.5
"""A unit value below half the reference for the same goods and origin is worth a look."""


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    seen: Callable[[View], bool]


def _ratio_low(view: View) -> bool:
    ratio = view["goods"]["unit_value_ratio"]
    return ratio is not None and ratio < UNDERVALUE_RATIO


def _description_mismatch(view: View) -> bool:
    goods = view["goods"]
    return (
        bool(goods["hs_heading"])
        and bool(goods["description"])
        and goods["hs_heading"] != goods["description"]
    )


def _route_contradicts(view: View) -> bool:
    route = view["route"]
    return view["goods"]["preferential"] and (route["departure"] != route["origin"] or bool(route["transit"]))


def _broker_one_address(view: View) -> bool:
    broker = view["parties"]["declarant"]
    return bool(broker["importers_served"] >= 2 and broker["addresses_served"] == 1)


def _certificate_reused(view: View) -> bool:
    certificate = view["documents"]["certificate"]
    return certificate is not None and certificate["presented_before"] >= 1


def _screening(field: str) -> Callable[[View], bool]:
    return lambda view: any(hit["field"] == field for hit in view["screening"])


INDICATORS: dict[str, Indicator] = {
    indicator.id: indicator
    for indicator in (
        Indicator(
            "unit_value_below_reference",
            "unit value below half the reference for these goods from this origin",
            _ratio_low,
        ),
        Indicator(
            "description_does_not_match_hs",
            "the goods description does not match the declared HS code's heading",
            _description_mismatch,
        ),
        Indicator(
            "route_contradicts_origin",
            "preferential origin claimed while the goods came from or through another country",
            _route_contradicts,
        ),
        Indicator(
            "preferential_rate_claimed",
            "a preferential (FTA) rate is claimed",
            lambda view: bool(view["goods"]["preferential"]),
        ),
        Indicator(
            "importers_share_address",
            "other importer ids are registered at the importer's address",
            lambda view: view["parties"]["importer"]["importers_at_address"] >= 2,
        ),
        Indicator(
            "broker_serves_one_address",
            "the broker declares for several importer ids, all at one address",
            _broker_one_address,
        ),
        Indicator(
            "certificate_reused",
            "the certificate of origin was already presented on another declaration",
            _certificate_reused,
        ),
        Indicator(
            "seller_address_on_watchlist", "the seller's address is a listed party's", _screening("address")
        ),
        Indicator("listed_name", "a party's name is close to a listed party's", _screening("name")),
        Indicator(
            "dual_use_goods",
            "dual-use goods (export-controlled electronics, machinery, aircraft parts)",
            lambda view: view["goods"]["hs_code"] in DUAL_USE_HS,
        ),
        Indicator(
            "new_importer",
            "the importer has never declared before",
            lambda view: view["parties"]["importer"]["declarations_before"] == 0,
        ),
        Indicator(
            "route_never_seen",
            "this route (origin, departure, transit) was never seen for these goods",
            lambda view: view["route"]["seen_before"] == 0,
        ),
        Indicator(
            "prior_findings",
            "frauds were found on the importer's earlier declarations",
            lambda view: view["parties"]["importer"]["findings_before"] >= 1,
        ),
    )
}


def seen(view: View) -> list[str]:
    """The indicators the view shows, in the order of :data:`INDICATORS`."""
    return [indicator.id for indicator in INDICATORS.values() if indicator.seen(view)]


def label(indicator_id: str) -> str:
    found = INDICATORS.get(indicator_id)
    return found.label if found else indicator_id
