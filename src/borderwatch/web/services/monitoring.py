"""Monitoring figures for the dashboards: the feedback stage's report plus weekly series over time.

The headline figures (hit rate per lane and per risk profile with Wilson intervals, control-sample
non-compliance, PSI, calibration) are ``borderwatch.feedback.monitor.monitor_report``'s; this module only adds
their week-by-week breakdown for charts, using the same inputs and the same statistics.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from borderwatch.feedback.monitor import first_outcomes, monitor_report, profile_hits
from borderwatch.feedback.stats import psi, wilson_interval
from borderwatch.ingest.models import OutcomeRow
from borderwatch.lanes.service import decisions_frame


class Monitoring(BaseModel):
    """``report``: the feedback stage's monitor report; the rest: weekly series (week = ISO Monday)."""

    report: dict[str, Any]
    lanes_weekly: list[dict[str, Any]]
    profiles_weekly: list[dict[str, Any]]
    control_weekly: list[dict[str, Any]]
    duty_weekly: list[dict[str, Any]]
    drift_weekly: list[dict[str, Any]]


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such figures (a statistic over nothing) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _with_interval(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["low"], row["high"] = wilson_interval(int(row["frauds"]), int(row["inspected"]))
        row["hit_rate"] = row["frauds"] / row["inspected"] if row["inspected"] else 0.0
    return rows


def _weekly(labelled: pl.DataFrame, by: str) -> list[dict[str, Any]]:
    if labelled.is_empty():
        return []
    grouped = (
        labelled.group_by("week", by)
        .agg(pl.len().alias("inspected"), pl.col("fraud").sum().cast(pl.Int64).alias("frauds"))
        .sort("week", by)
        .with_columns(pl.col("week").cast(pl.String))
    )
    return _with_interval(grouped.to_dicts())


def monitoring(*, db: Session, state: Any, agency: str) -> Monitoring:
    stored = decisions_frame(session=db, agency=agency)
    outcomes = first_outcomes(state.engine, agency=agency)
    report = monitor_report(
        engine=state.engine, session=db, agency=agency, decisions=stored, outcomes=outcomes
    )
    decisions = stored.with_columns(pl.col("declared_on").dt.truncate("1w").alias("week"))
    labelled = decisions.join(outcomes, on="lrn", how="inner")
    inspected = labelled.filter(pl.col("lane") != "green")
    profiles = profile_hits(labelled)
    control = labelled.filter(pl.col("control")).with_columns(pl.lit("control sample").alias("sample"))
    duty_rows = db.execute(
        select(OutcomeRow.recorded_on, OutcomeRow.duty_recovered).where(
            OutcomeRow.agency == agency, OutcomeRow.duty_recovered.is_not(None)
        )
    ).all()
    duty = (
        pl.DataFrame(duty_rows, schema={"recorded_on": pl.Date, "duty": pl.Float64}, orient="row")
        .with_columns(pl.col("recorded_on").dt.truncate("1w").cast(pl.String).alias("week"))
        .group_by("week")
        .agg(pl.col("duty").sum().alias("duty_recovered"), pl.len().alias("outcomes"))
        .sort("week")
    )
    return Monitoring(
        report=_finite(report),
        lanes_weekly=_weekly(inspected, "lane"),
        profiles_weekly=_weekly(profiles, "profile") if profiles.height else [],
        control_weekly=_weekly(control, "sample"),
        duty_weekly=duty.to_dicts(),
        drift_weekly=_finite(_drift(decisions)),
    )


def _drift(decisions: pl.DataFrame) -> list[dict[str, Any]]:
    """PSI of each week's scores against the first week's (the reference the model was deployed on)."""
    scored = decisions.drop_nulls("score")
    weeks = scored["week"].unique().sort().to_list()
    if len(weeks) < 2:
        return []
    reference = scored.filter(pl.col("week") == weeks[0])["score"]
    return [
        {"week": str(week), "psi": psi(reference, scored.filter(pl.col("week") == week)["score"])}
        for week in weeks[1:]
    ]
