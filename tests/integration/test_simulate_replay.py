"""``borderwatch simulate`` on generated traffic: the exact JSON shape, and a planted drift that only the
borderwatch policy (with its control sample) discovers."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.feedback.replay import STRATEGIES, SimulationConfig, SimulationError, simulate
from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

WINDOW_KEYS = {"start", "n", "k", "frauds_found", "precision", "recall", "duty_recall"}
SUMMARY_KEYS = {"precision", "recall", "duty_recall", "precision_last13"}


@pytest.fixture(scope="module")
def small_traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "traffic.csv"
    write_traffic(generate_traffic(GeneratorConfig(declarations=1500, seed=5, days=52)), path)
    return path


def test_simulate_writes_the_documented_shape(small_traffic: Path, tmp_path: Path) -> None:
    out = tmp_path / "sim.json"
    plot = tmp_path / "sim.png"
    arguments = ["simulate", "--data", str(small_traffic), "--rate", "10", "--window", "7"]
    for name in STRATEGIES:
        arguments += ["--strategy", name]
    result = CliRunner().invoke(app, [*arguments, "--json", str(out), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert set(document["strategies"]) == set(STRATEGIES)
    declarations, outcomes = read_kcs_frames(small_traffic)
    first_day = declarations["declared_on"].min()
    assert isinstance(first_day, date)
    replay_start = first_day + timedelta(days=30)
    per_day = declarations.group_by("declared_on").agg(pl.len(), pl.col("lrn"))
    for name, result_doc in document["strategies"].items():
        assert set(result_doc) == {"windows", "summary"}
        assert set(result_doc["summary"]) >= SUMMARY_KEYS
        windows = result_doc["windows"]
        assert windows, name
        for window in windows:
            assert set(window) >= WINDOW_KEYS
            start = date.fromisoformat(window["start"])
            assert (start - replay_start).days % 7 == 0
            n = int(
                per_day.filter(
                    (pl.col("declared_on") >= start) & (pl.col("declared_on") < start + timedelta(days=7))
                )["len"].sum()
            )
            assert window["n"] == n
            assert window["k"] == math.floor(0.1 * n + 0.5)
            assert 0 <= window["precision"] <= 1 and 0 <= window["recall"] <= 1
            assert window["frauds_found"] <= window["k"]
        precisions = [w["precision"] for w in windows]
        assert result_doc["summary"]["precision"] == pytest.approx(sum(precisions) / len(precisions))
        assert result_doc["summary"]["precision_last13"] == pytest.approx(
            sum(precisions[-13:]) / len(precisions[-13:])
        )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = document["strategies"]["borderwatch"]["summary"]
    control = summary["control_estimate"]
    assert control["low"] <= control["rate"] <= control["high"]
    # the budget splits into the model's picks and the random draws, whose hits add up to what was found
    picks = summary["model_picks"]
    found = sum(w["frauds_found"] for w in document["strategies"]["borderwatch"]["windows"])
    selected = sum(w["k"] for w in document["strategies"]["borderwatch"]["windows"])
    assert picks["random_share"] == pytest.approx(control["n"] / selected)
    model_hits = picks["precision"] * (selected - control["n"])
    assert model_hits + control["rate"] * control["n"] == pytest.approx(found)
    fraud = outcomes.join(declarations.select("lrn", "declared_on"), on="lrn")
    truth = fraud.filter(pl.col("declared_on") >= replay_start)["fraud"].mean()
    assert document["true_fraud_rate"] == pytest.approx(truth)


def test_simulate_rejects_bad_input_with_one_sentence(small_traffic: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        app, ["simulate", "--data", str(tmp_path / "nope.csv"), "--json", str(tmp_path / "o")]
    )
    assert missing.exit_code == 2
    assert "does not exist" in " ".join(missing.output.split())
    unknown = runner.invoke(
        app, ["simulate", "--data", str(small_traffic), "--strategy", "oracle", "--json", str(tmp_path / "o")]
    )
    assert unknown.exit_code == 2
    assert "unknown strategy 'oracle'" in " ".join(unknown.output.split())
    declarations, outcomes = read_kcs_frames(small_traffic)
    short = declarations.filter(pl.col("declared_on") < pl.col("declared_on").min() + timedelta(days=20))
    with pytest.raises(SimulationError, match="more than 30 days"):
        simulate(declarations=short, outcomes=outcomes, strategies=["random"])


def test_borderwatch_finds_a_planted_drift_that_exploit_misses(tmp_path: Path) -> None:
    traffic = generate_traffic(GeneratorConfig(declarations=6000, seed=3, days=120, drift_at=0.5))
    pattern = traffic.truth["patterns"]["drift"]
    write_traffic(traffic, tmp_path / "drift.csv")
    declarations, outcomes = read_kcs_frames(tmp_path / "drift.csv")
    document = simulate(
        declarations=declarations,
        outcomes=outcomes,
        strategies=["exploit", "borderwatch"],
        config=SimulationConfig(control_rate=0.03),
        watch=pattern["lrns"],
    )
    drift_date = date.fromisoformat(pattern["drift_date"])

    def found(name: str) -> list[tuple[int, int]]:
        return [
            (w["watched_found"], w["watched_frauds"])
            for w in document["strategies"][name]["windows"]
            if date.fromisoformat(w["start"]) >= drift_date - timedelta(days=6)
        ]

    borderwatch, exploit = found("borderwatch"), found("exploit")
    assert sum(f for f, _ in borderwatch) >= 8
    assert sum(f for f, _ in exploit) <= 1
    # Within a few windows of the drift borderwatch inspects the new pattern, and by the end mostly.
    first_hit = next(i for i, (f, _) in enumerate(borderwatch) if f > 0)
    assert first_hit <= 4
    late_found = sum(f for f, _ in borderwatch[-3:])
    late_frauds = sum(t for _, t in borderwatch[-3:])
    assert late_found >= 0.3 * late_frauds


def test_the_replay_scores_a_window_as_the_production_scorer_does(small_traffic: Path) -> None:
    """borderwatch's replay is the production policy: its scores of a window are what ``RiskModel`` gives
    for the same trained models and the same features (hit rates from the labels the replay revealed)."""
    from borderwatch.features.build import numeric_feature_names
    from borderwatch.features.history import rate_feature_names
    from borderwatch.feedback.replay import get_strategy
    from borderwatch.feedback.replay.data import fill_features, initial_state, prepare_replay
    from borderwatch.feedback.replay.strategies import BorderwatchStrategy
    from borderwatch.scoring.profiles import default_profiles
    from borderwatch.scoring.risk_model import NO_EXPLANATION, RiskModel

    declarations, outcomes = read_kcs_frames(small_traffic)
    config = SimulationConfig()
    replay = prepare_replay(declarations, outcomes, config)
    profiles = default_profiles()
    strategy = get_strategy("borderwatch")
    assert isinstance(strategy, BorderwatchStrategy)
    state = initial_state("borderwatch", replay, profiles, uses_features=True)
    _, rows = replay.windows[2]
    fill_features(replay, state, rows, profiles)
    strategy.train(replay, state, config)
    scorer = strategy.scorer
    assert scorer is not None
    replayed = strategy.scores(replay, state, rows, scorer.probability(state.features[rows]))

    model = RiskModel(
        fraud_booster=scorer.fraud,
        duty_booster=scorer.duty,
        vocabulary=replay.vocabulary,
        numeric=numeric_feature_names(),
        reference=scorer.reference,
        params=config.params,
        seed=config.seed,
        trained_from=None,
        trained_until=None,
        metrics={},
    )
    rates = [replay.names.index(name) for name in rate_feature_names()]
    features = replay.frame[rows].with_columns(
        pl.Series(name, state.features[rows, column])
        for name, column in zip(rate_feature_names(), rates, strict=True)
    )
    produced = model.score_features(features, profiles=profiles, explain=NO_EXPLANATION)
    by_lrn = dict(zip(produced["lrn"].to_list(), produced["score"].to_list(), strict=True))
    expected = [by_lrn[lrn] for lrn in replay.frame[rows]["lrn"].to_list()]
    assert len(set(expected)) > 10  # a real spread of scores, not a constant
    assert replayed.tolist() == pytest.approx(expected, abs=1e-9)
