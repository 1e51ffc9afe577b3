"""Alerts on a declaration's vehicle into targeting, on SQLite and PostgreSQL: the vehicles stage's
``VehicleAlertCheck`` (a ``scoring.vehicles.VehicleCheck``) finds a declared plate's hotlist hit; a trained
risk model adds it as points and a reason, and a risk profile on ``vehicle_hotlist`` forces a red lane.
A declaration whose vehicle has no alert gets neither."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.db.session import session_scope
from borderwatch.scoring.profiles import parse_profiles
from borderwatch.vehicles import service

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
CAMERAS = (
    "camera_id,crossing,lane,direction,latitude,longitude,name\nC1,DOVER,1,in,51.127,1.313,Dover east dock\n"
)
READS = (
    "read_id,camera_id,read_at,plate,country,confidence,direction\n"
    "r1,C1,2026-12-03T10:00:00Z,AB12 CDE,GB,0.97,in\n"
    "r2,C1,2026-12-03T10:01:00Z,KL34 MNO,GB,0.97,in\n"
)
HOTLIST = "plate,country,reason,reference\nAB12CDE,GB,stolen vehicle,PNC-1\n"
DECLARED = (
    "lrn,plate,country,crossing,declared_at\n"
    "L-HOT,AB12CDE,GB,DOVER,2026-12-03T09:50:00Z\n"
    "L-CLEAN,KL34MNO,GB,DOVER,2026-12-03T09:51:00Z\n"
)
PROFILES = {
    "profiles": [
        {
            "id": "RP-VEH-HOT",
            "name": "Hotlisted vehicle",
            "rationale": "the declared vehicle is on a hotlist",
            "author": "risk-unit",
            "when": {"all": [{"field": "vehicle_hotlist", "op": "gt", "value": 0}]},
            "effect": {"force_lane": "red"},
        }
    ]
}


def _store(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    files = {"cameras": CAMERAS, "reads": READS, "hotlist": HOTLIST, "declared": DECLARED}
    paths = {name: tmp_path / f"{name}.csv" for name in files}
    for name, text in files.items():
        paths[name].write_text(text)
    with session_scope(session_factory) as session:
        service.load_cameras(session=session, agency="a1", path=paths["cameras"])
        service.load_hotlist(session=session, agency="a1", list_name="national", path=paths["hotlist"])
        service.load_declared_vehicles(session=session, agency="a1", path=paths["declared"])
    with session_scope(session_factory) as session:
        summary = service.ingest_reads(session=session, agency="a1", path=paths["reads"], now=NOW)
    assert summary.alerts == 1


def test_a_hotlisted_declared_vehicle_adds_a_reason_and_forces_a_red_lane(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    from borderwatch.scoring.model import ModelParams
    from borderwatch.scoring.risk_model import NO_EXPLANATION, train_risk_model
    from tests.unit.scoring_support import traffic_frames

    _store(session_factory, tmp_path)
    alerts = service.VehicleAlertCheck(engine)(["L-HOT", "L-CLEAN", "L-NONE"], agency="a1")
    assert alerts["lrn"].to_list() == ["L-HOT"]
    assert alerts["code"].to_list() == ["hotlist_national"] and alerts["plate"].to_list() == ["AB12CDE"]
    assert service.VehicleAlertCheck(engine)(["L-HOT"], agency="other").height == 0  # agencies apart

    declarations, outcomes = traffic_frames()
    model = train_risk_model(
        declarations=declarations,
        outcomes=outcomes,
        seed=3,
        params=ModelParams(fraud_rounds=20, duty_rounds=10, learning_rate=0.1),
    )
    day = declarations["declared_on"].max()
    first, second = declarations.filter(pl.col("declared_on") == day)["lrn"].unique(maintain_order=True)[:2]
    batch = declarations.filter(pl.col("lrn").is_in([first, second])).with_columns(
        pl.col("lrn").replace({first: "L-HOT", second: "L-CLEAN"})
    )
    history = declarations.filter(pl.col("declared_on") < day)
    profiles = parse_profiles(PROFILES, source="test")
    kwargs = {"declarations": batch, "history": history, "outcomes": outcomes, "explain": NO_EXPLANATION}
    plain = model.score(**kwargs, profiles=profiles)  # type: ignore[arg-type]
    flagged = model.score(**kwargs, profiles=profiles, vehicle_alerts=alerts)  # type: ignore[arg-type]
    before = dict(zip(plain["lrn"], plain["score"], strict=True))
    after = {row["lrn"]: row for row in flagged.iter_rows(named=True)}
    assert after["L-HOT"]["score"] > before["L-HOT"]
    assert after["L-HOT"]["forced_lane"] == "red"
    assert any(r.startswith("vehicle AB12CDE: hotlist national") for r in after["L-HOT"]["reasons"])
    assert after["L-CLEAN"]["score"] == before["L-CLEAN"]
    assert after["L-CLEAN"]["forced_lane"] is None
    assert not any(r.startswith("vehicle ") for r in after["L-CLEAN"]["reasons"])
    assert set(plain["forced_lane"].to_list()) == {None}  # without the check, the profile holds nothing


def test_without_a_model_the_alert_still_adds_points_a_reason_and_the_forced_lane() -> None:
    from borderwatch.features.build import build_features
    from borderwatch.scoring.risk_model import NO_MODEL_REASON, rules_only_scores
    from borderwatch.scoring.vehicles import VEHICLE_ALERT_SCHEMA
    from tests.unit.scoring_support import traffic_frames

    declarations, outcomes = traffic_frames()
    day = declarations["declared_on"].max()
    first, second = declarations.filter(pl.col("declared_on") == day)["lrn"].unique(maintain_order=True)[:2]
    batch = declarations.filter(pl.col("lrn").is_in([first, second]))
    history = declarations.filter(pl.col("declared_on") < day)
    features = build_features(declarations=batch, history=history, outcomes=outcomes)
    alerts = pl.DataFrame(
        [(first, 7, "hotlist_national", "AB12CDE", 30.0)], schema=VEHICLE_ALERT_SCHEMA, orient="row"
    )
    profiles = parse_profiles(PROFILES, source="test")
    plain = rules_only_scores(features, profiles=profiles)
    flagged = rules_only_scores(features, profiles=profiles, vehicle_alerts=alerts)
    before = dict(zip(plain["lrn"], plain["score"], strict=True))
    after = {row["lrn"]: row for row in flagged.iter_rows(named=True)}
    assert after[first]["forced_lane"] == "red" and after[first]["score"] > before[first]
    assert after[first]["reasons"][:2] == [NO_MODEL_REASON, "vehicle AB12CDE: hotlist national (alert 7)"]
    assert after[second]["forced_lane"] is None and after[second]["score"] == before[second]
