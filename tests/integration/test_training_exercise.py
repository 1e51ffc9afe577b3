"""Exercises from the synthetic generator: deterministic, solvable from the trainee's view, graded fairly."""

from __future__ import annotations

import contextlib
import json
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.training.exercise import Exercise, build_exercise
from borderwatch.training.grading import Choice, GradingError, grade, read_choices_csv
from borderwatch.training.indicators import seen
from borderwatch.training.scenarios import get_scenario, load_scenarios
from tests.hypothesis_profiles import examples


@cache
def exercise(scenario_id: str, seed: int = 5) -> Exercise:
    return build_exercise(get_scenario(scenario_id), seed=seed, with_model=False)


def test_the_same_scenario_and_seed_give_the_same_queue() -> None:
    again = build_exercise(get_scenario("misclassification"), seed=5, with_model=False)
    assert again.queue_document() == exercise("misclassification").queue_document()
    other = build_exercise(get_scenario("misclassification"), seed=6, with_model=False)
    assert [d["lrn"] for d in other.declarations] != [d["lrn"] for d in again.declarations]


@pytest.mark.parametrize("scenario", [s.id for s in load_scenarios()])
def test_every_indicator_named_in_the_debrief_is_visible_in_the_trainees_view(scenario: str) -> None:
    built = exercise(scenario)
    plan = get_scenario(scenario)
    assert built.size == plan.queue.size
    planted = [t for t in built.truth if t["tactic"]]
    assert len(planted) == sum(plan.plant.values())
    views = {view["lrn"]: view for view in built.declarations}
    debrief = grade(built, []).debrief
    for row in debrief["details"]:
        visible = set(seen(views[row["lrn"]]))
        assert set(row["indicators"]) <= visible, (row["lrn"], row["tactic"], row["indicators"], visible)
    # and what the scenario promises to teach is on the page of at least one planted declaration
    for indicator in plan.indicators:
        assert any(indicator in seen(views[t["lrn"]]) for t in planted), indicator
    # the trainee's view never carries the outcome
    assert "fraud" not in json.dumps(built.queue_document()).lower()


def test_a_trainee_who_picks_exactly_the_frauds_scores_full_marks() -> None:
    built = exercise("undervaluation")
    frauds = [t for t in built.truth if t["fraud"]]
    choices = [Choice(t["lrn"], "red", 1.0, tuple(t["indicators"])) for t in frauds]
    result = grade(built, choices)
    assert result.trainee.hit_rate == 1.0
    assert result.trainee.duty_recovered_share == pytest.approx(1.0)
    assert result.trainee.frauds_missed == 0 and result.trainee.needless_inspections == 0
    assert result.indicators_recognised == 1.0
    assert result.debrief["duty_uncollected"] == 0 and result.debrief["missed_indicators"] == []
    # certain and right on the frauds, certain nothing else was (green by default, no forecast): Brier 0
    assert result.brier == 0.0


def test_a_trainee_who_picks_at_random_scores_near_the_queues_base_rate() -> None:
    built = exercise("normal-day")
    lrns = [t["lrn"] for t in built.truth]
    base = sum(t["fraud"] for t in built.truth) / len(lrns)
    rng = np.random.default_rng(3)
    rates = []
    for _ in range(400):
        picked = rng.choice(len(lrns), size=built.budget, replace=False)
        result = grade(built, [Choice(lrns[i], "red", 0.5) for i in picked])
        assert result.trainee.hit_rate is not None
        rates.append(result.trainee.hit_rate)
    assert np.mean(rates) == pytest.approx(base, abs=0.025)
    assert grade(built, []).random.hit_rate == pytest.approx(base, abs=1e-4)
    assert grade(built, []).trainee.hit_rate is None  # no inspection: no hit rate, not zero


def test_bad_choices_are_refused_with_the_declaration_and_line() -> None:
    built = exercise("undervaluation")
    with pytest.raises(GradingError, match="not in the queue"):
        grade(built, [Choice("00000000", "red")])
    with pytest.raises(GradingError, match="blue"):
        grade(built, [Choice(built.truth[0]["lrn"], "blue")])
    with pytest.raises(GradingError, match="line 3"):
        read_choices_csv("lrn,lane,confidence\n1,red,0.5\n2,red,sure\n")


def test_cli_queue_and_grade_report_the_model_and_random_beside_the_trainee(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["training", "list"])
    assert listed.exit_code == 0, listed.output
    assert (
        "undervaluation Undervaluation of garments, footwear and bags from China"
        in listed.output.splitlines()
    )
    queue_path, choices_path, grade_path = tmp_path / "q.json", tmp_path / "c.csv", tmp_path / "g.json"
    ran = runner.invoke(
        app, ["training", "queue", "undervaluation", "--seed", "5", "--json", str(queue_path)]
    )
    assert ran.exit_code == 0, ran.output
    queue = json.loads(queue_path.read_text())
    truth = exercise("undervaluation")
    assert queue["scenario"] == "undervaluation" and queue["seed"] == 5 and queue["budget"] == truth.budget
    assert [d["lrn"] for d in queue["declarations"]] == [t["lrn"] for t in truth.truth]
    assert all(d["model"] is not None for d in queue["declarations"])  # aids on in this scenario
    frauds = [t["lrn"] for t in truth.truth if t["fraud"]]
    choices_path.write_text("lrn,lane,confidence\n" + "".join(f"{lrn},red,0.9\n" for lrn in frauds))
    ran = runner.invoke(
        app,
        [
            "training",
            "grade",
            "undervaluation",
            "--seed",
            "5",
            "--choices",
            str(choices_path),
            "--json",
            str(grade_path),
        ],
    )
    assert ran.exit_code == 0, ran.output
    result = json.loads(grade_path.read_text())
    assert result["hit_rate"] == 1.0 and result["duty_recovered_share"] == pytest.approx(1.0)
    assert result["frauds_missed"] == 0 and result["needless_inspections"] == 0
    assert sorted(result["debrief"]["frauds"]) == sorted(frauds)
    assert result["random"]["hit_rate"] == pytest.approx(len(frauds) / len(truth.truth), abs=1e-4)
    # the model, trained on the history only, finds undervaluation far better than chance
    assert result["model"]["hit_rate"] > 1.5 * result["random"]["hit_rate"]
    assert 0.0 <= result["model"]["brier"] <= 0.25


def test_an_exercise_from_closed_cases_is_pseudonymised_and_graded_on_their_outcomes() -> None:
    from borderwatch.synthetic import GeneratorConfig, generate_traffic
    from borderwatch.training.exercise import canonical, exercise_from_cases

    traffic = generate_traffic(GeneratorConfig(declarations=1500, seed=4, days=40))
    declarations = canonical(traffic.frame)
    outcomes = declarations.select("lrn", pl.col("declared_on").alias("recorded_on")).join(
        traffic.labels.select("lrn", "fraud", pl.col("critical_fraud")), on="lrn"
    )
    built = exercise_from_cases(
        declarations=declarations,
        outcomes=outcomes,
        seed=2,
        salt=b"k",
        queue_size=40,
        budget=4,
        with_model=False,
    )
    real = set(declarations["lrn"].to_list()) | set(declarations["importer_id"].to_list())
    shown = json.dumps(built.queue_document())
    assert not any(value in shown for value in real)
    assert all(v["parties"]["importer"]["name"] is None for v in built.declarations)
    frauds = [t["lrn"] for t in built.truth if t["fraud"]]
    by_real = dict(zip(traffic.labels["lrn"], traffic.labels["fraud"], strict=True))
    assert len(frauds) == sum(by_real[lrn] for lrn in _real_lrns(built, declarations, b"k"))
    assert grade(built, [Choice(lrn, "red", 1.0) for lrn in frauds]).trainee.hit_rate == 1.0


def _real_lrns(built: Exercise, declarations: pl.DataFrame, salt: bytes) -> list[str]:
    from borderwatch.training.exercise import pseudonym

    shown = {v["lrn"] for v in built.declarations}
    return [lrn for lrn in declarations["lrn"].to_list() if pseudonym(lrn, salt=salt, prefix="D") in shown]


@settings(max_examples=examples(200), deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list('lrn,aecofid;0123456789.\n"xyz-')), max_size=200))
def test_any_choices_file_is_read_or_refused_with_a_grading_error(text: str) -> None:
    with contextlib.suppress(GradingError):  # anything else (an IndexError, a KeyError...) fails the test
        read_choices_csv(text)
