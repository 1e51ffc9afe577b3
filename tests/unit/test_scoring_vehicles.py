"""Alerts on a declaration's vehicle as points, reasons and risk-profile fields (``scoring.vehicles``)."""

from __future__ import annotations

import polars as pl

from borderwatch.core.reasons import Reason
from borderwatch.scoring.vehicles import MAX_VEHICLE_POINTS, VEHICLE_ALERT_SCHEMA, vehicle_evidence


def _alerts(*rows: tuple[str, int, str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [(lrn, alert_id, code, "AB12CDE", points) for lrn, alert_id, code, points in rows],
        schema=VEHICLE_ALERT_SCHEMA,
        orient="row",
    )


def test_each_alert_counts_once_with_a_reason_and_the_fields() -> None:
    alerts = _alerts(
        ("a", 1, "hotlist_national", 30.0), ("a", 1, "hotlist_national", 30.0), ("a", 2, "convoy", 10.0)
    )
    evidence = vehicle_evidence(pl.Series(["b", "a"]), alerts)
    assert evidence["vehicle_points"].to_list() == [0.0, 40.0]
    assert evidence["vehicle_hotlist"].to_list() == [0, 1]
    assert evidence["vehicle_alert"].to_list() == [0, 2]
    assert evidence["vehicle_reasons"].to_list() == [
        [],
        ["vehicle AB12CDE: hotlist national (alert 1)", "vehicle AB12CDE: convoy (alert 2)"],
    ]
    # one code per sentence: the alert's kind as a stable id, its points and id as figures
    codes = [[Reason.from_json(c) for c in row] for row in evidence["vehicle_codes"].to_list()]
    assert codes == [
        [],
        [
            Reason("VEHICLE-HOTLIST-NATIONAL", "vehicle", {"points": 30.0, "alert_id": 1}),
            Reason("VEHICLE-CONVOY", "vehicle", {"points": 10.0, "alert_id": 2}),
        ],
    ]


def test_points_are_capped_and_no_alerts_give_nothing() -> None:
    many = _alerts(*[("a", i, "cloned_plate", 25.0) for i in range(5)])
    assert vehicle_evidence(pl.Series(["a"]), many)["vehicle_points"].to_list() == [MAX_VEHICLE_POINTS]
    none = vehicle_evidence(pl.Series(["a", "b"]), None)
    assert none.rows() == [(0.0, [], [], 0, 0), (0.0, [], [], 0, 0)]


def test_shipped_vehicle_profiles_force_the_lane_of_a_declaration_whose_vehicle_has_alerts() -> None:
    from borderwatch.scoring.profiles import default_profiles, evaluate_profiles

    profiles = [p for p in default_profiles() if p.id.startswith("RP-VEHICLE-")]
    assert {p.id for p in profiles} == {"RP-VEHICLE-HOTLIST", "RP-VEHICLE-PATTERNS"}
    alerts = _alerts(
        ("hot", 1, "hotlist_national", 30.0),
        ("two", 2, "cloned_plate", 8.0),
        ("two", 3, "convoy", 5.0),
        ("one", 4, "shuttle_trips", 5.0),
    )
    lrns = pl.Series(["hot", "two", "one", "none"])
    features = vehicle_evidence(lrns, alerts).select("vehicle_alert", "vehicle_hotlist")
    decided = evaluate_profiles(features, profiles)
    assert decided["forced_lane"].to_list() == ["red", "yellow", None, None]
    assert decided["rule_hits"].to_list() == [
        ["RP-VEHICLE-HOTLIST"],
        ["RP-VEHICLE-PATTERNS"],
        [],
        [],
    ]
    # where no vehicle check ran the fields are absent: the rules hold nothing
    assert evaluate_profiles(pl.DataFrame({"office": ["1"]}), profiles)["forced_lane"].to_list() == [None]
