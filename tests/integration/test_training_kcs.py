"""An exercise from real closed cases: KCS declarations with their outcomes hidden from the view, parties
pseudonymised, graded against those outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.training.exercise import exercise_from_cases
from borderwatch.training.grading import Choice, grade


@pytest.mark.kcs
def test_an_exercise_from_kcs_closed_cases_is_graded_against_their_outcomes(kcs_dir: Path) -> None:
    declarations, outcomes = read_kcs_frames(kcs_dir / "df_syn_valid_eng.csv", agency="kcs")
    # a few weeks are enough for the history and keep the test light
    last = declarations["declared_on"].max()
    assert last is not None
    keep = declarations.filter(pl.col("declared_on") > last - pl.duration(days=35))
    kept = outcomes.join(keep.select("lrn"), on="lrn", how="semi")
    built = exercise_from_cases(
        declarations=keep, outcomes=kept, seed=3, salt=b"course-7", queue_size=60, budget=6
    )
    real_lrns = set(keep["lrn"].to_list())
    assert not any(view["lrn"] in real_lrns for view in built.declarations)  # pseudonymised
    assert all(view["lrn"].startswith("D-") for view in built.declarations)
    # outcomes hidden: nothing but the model's own reasons (its p(fraud), past findings) speaks of fraud
    without_model = json.dumps(
        [{k: v for k, v in view.items() if k != "model"} for view in built.declarations]
    )
    assert "fraud" not in without_model.lower() and "critical" not in without_model.lower()
    truth = {row["lrn"]: row["fraud"] for row in built.truth}
    frauds = [lrn for lrn, fraud in truth.items() if fraud]
    assert frauds, "the sampled week has frauds to find"
    perfect = grade(built, [Choice(lrn, "red", 1.0) for lrn in frauds])
    assert perfect.trainee.hit_rate == 1.0
    assert perfect.random.hit_rate == pytest.approx(len(frauds) / len(truth), abs=1e-4)
    assert perfect.model is not None and perfect.model.hit_rate is not None
