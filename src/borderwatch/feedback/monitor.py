"""``borderwatch monitor``: is targeting working, and is the traffic still the one the model learnt?"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from borderwatch.feedback.stats import calibration_table, expected_calibration_error, psi, wilson_interval
from borderwatch.ingest.store import load_outcomes
from borderwatch.lanes.service import decisions_frame


def profile_hits(labelled: pl.DataFrame) -> pl.DataFrame:
    """One row per risk profile hit of each decision in ``labelled`` (``lanes.service.decisions_frame``
    rows), with the profile's id in ``profile``: grouped by id, a profile keeps its statistics when it is
    renamed or its points change (its sentence changes, its id does not)."""
    return (
        labelled.explode("reason_codes")
        .filter(pl.col("reason_codes").struct.field("family") == "profile")
        .with_columns(pl.col("reason_codes").struct.field("id").alias("profile"))
    )


def _rates(frame: pl.DataFrame, by: str) -> list[dict[str, Any]]:
    grouped = (
        frame.group_by(by)
        .agg(pl.len().alias("inspected"), pl.col("fraud").sum().alias("frauds"))
        .sort(by)
        .with_columns((pl.col("frauds") / pl.col("inspected")).alias("hit_rate"))
    )
    rows = []
    for row in grouped.iter_rows(named=True):
        low, high = wilson_interval(int(row["frauds"]), int(row["inspected"]))
        rows.append({**row, "frauds": int(row["frauds"]), "low": low, "high": high})
    return rows


def first_outcomes(engine: Engine, *, agency: str) -> pl.DataFrame:
    """Each declaration's first outcome: ``lrn``, ``fraud`` (0/1)."""
    return (
        load_outcomes(engine, agency=agency)
        .sort("recorded_on")
        .unique("lrn", keep="first")
        .select("lrn", pl.col("fraud").cast(pl.Int64))
    )


def monitor_report(
    *,
    engine: Engine,
    session: Session,
    agency: str = "default",
    decisions: pl.DataFrame | None = None,
    outcomes: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """Hit rates per lane and per risk profile, the control-sample non-compliance estimate (Wilson 95 %),
    score drift (PSI of the latest 7 days' scores against the earlier ones) and calibration.

    ``decisions`` (``lanes.service.decisions_frame``) and ``outcomes`` (:func:`first_outcomes`) are read
    when not given; a caller that needs them too (the dashboards) reads them once."""
    if decisions is None:
        decisions = decisions_frame(session=session, agency=agency)
    if outcomes is None:
        outcomes = first_outcomes(engine, agency=agency)
    labelled = decisions.join(outcomes, on="lrn", how="inner")
    profiles = profile_hits(labelled)
    control = labelled.filter(pl.col("control"))
    hits = int(control["fraud"].sum()) if control.height else 0
    low, high = wilson_interval(hits, control.height)
    drift: float | None = None
    scores = decisions.drop_nulls("score")
    if scores.height:
        latest = scores["declared_on"].max()
        assert latest is not None
        cut = latest - timedelta(days=6)  # type: ignore[operator]
        recent = scores.filter(pl.col("declared_on") >= cut)["score"]
        earlier = scores.filter(pl.col("declared_on") < cut)["score"]
        if recent.len() and earlier.len():
            drift = psi(earlier, recent)
    calibration = (
        calibration_table(labelled["fraud_probability"].fill_null(0.0), labelled["fraud"])
        if labelled.height
        else pl.DataFrame()
    )
    return {
        "decisions": decisions.height,
        "labelled": labelled.height,
        "lanes": _rates(labelled, "lane"),
        "profiles": _rates(profiles, "profile") if profiles.height else [],
        "control": {
            "n": control.height,
            "frauds": hits,
            "rate": hits / control.height if control.height else 0.0,
            "low": low,
            "high": high,
        },
        "psi": drift,
        "calibration": calibration.to_dicts(),
        "ece": expected_calibration_error(calibration) if calibration.height else None,
    }


def write_plots(report: dict[str, Any], folder: Path) -> list[Path]:
    """Hit rate per lane (bars with Wilson intervals) and the calibration curve, as PNGs in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    if report["lanes"]:
        figure, axis = plt.subplots(figsize=(6, 4))
        names = [row["lane"] for row in report["lanes"]]
        rates = [row["hit_rate"] for row in report["lanes"]]
        errors = [
            [r - row["low"] for r, row in zip(rates, report["lanes"], strict=True)],
            [row["high"] - r for r, row in zip(rates, report["lanes"], strict=True)],
        ]
        axis.bar(names, rates, yerr=errors, capsize=4, color=["#c0392b", "#d4ac0d", "#27ae60"][: len(names)])
        axis.set_ylabel("hit rate of inspections")
        axis.set_ylim(0, 1)
        figure.tight_layout()
        path = folder / "hit_rate_per_lane.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    if report["calibration"]:
        figure, axis = plt.subplots(figsize=(5, 5))
        table = report["calibration"]
        axis.plot([0, 1], [0, 1], linestyle="--", color="grey")
        axis.plot([r["predicted"] for r in table], [r["observed"] for r in table], marker="o")
        axis.set_xlabel("predicted fraud probability")
        axis.set_ylabel("observed fraud rate")
        figure.tight_layout()
        path = folder / "calibration.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written


def model_report(*, engine: Engine, session: Session, agency: str, model_version: str) -> dict[str, Any]:
    """What the Models page shows of one registered version beside its training metrics: the hit rates,
    calibration (reliability table and ECE) and score drift (PSI, latest 7 days against the earlier ones)
    of the lane decisions scored by it, as :func:`monitor_report` computes them for the whole agency."""
    decisions = decisions_frame(session=session, agency=agency)
    mine = decisions.filter(pl.col("model_version") == model_version)
    return {
        "model_version": model_version,
        **monitor_report(engine=engine, session=session, agency=agency, decisions=mine),
    }
