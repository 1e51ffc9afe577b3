"""The risk model: reproducible by seed, saved and loaded losslessly, scores with checkable reasons, and the
evaluation harness writes exactly the agreed shape while never using the test file's outcomes."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from borderwatch.core.reasons import Reason
from borderwatch.features.build import build_features
from borderwatch.scoring.evaluate import RATES, evaluate_files, ranking_report
from borderwatch.scoring.model import ModelParams
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.risk_model import (
    NO_EXPLANATION,
    ExplainPolicy,
    RiskModel,
    ScoringError,
    train_risk_model,
)
from tests.unit.scoring_support import generated_csv, traffic_frames

CUT = date(2024, 4, 1)
FAST = ModelParams(fraud_rounds=60, duty_rounds=30, learning_rate=0.1)


@pytest.fixture(scope="module")
def split() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    declarations, outcomes = traffic_frames()
    train = declarations.filter(pl.col("declared_on") < CUT)
    test = declarations.filter(pl.col("declared_on") >= CUT)
    return train, outcomes.filter(pl.col("recorded_on") < CUT), test


@pytest.fixture(scope="module")
def model(split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> RiskModel:
    train, outcomes, _ = split
    return train_risk_model(declarations=train, outcomes=outcomes, seed=7, params=FAST)


@pytest.fixture(scope="module")
def scored(model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    train, outcomes, test = split
    return model.score(declarations=test, history=pl.concat([train, test]), outcomes=outcomes)


def test_same_seed_same_model_other_seed_other_model(
    model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], scored: pl.DataFrame
) -> None:
    train, outcomes, test = split
    again = train_risk_model(declarations=train, outcomes=outcomes, seed=7, params=FAST)
    assert again.version == model.version
    rescored = again.score(declarations=test, history=pl.concat([train, test]), outcomes=outcomes)
    assert_frame_equal(rescored, scored)
    other = train_risk_model(declarations=train, outcomes=outcomes, seed=8, params=FAST)
    assert other.version != model.version


def test_save_and_load_give_identical_scores(
    model: RiskModel,
    split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
    scored: pl.DataFrame,
    tmp_path: Path,
) -> None:
    train, outcomes, test = split
    model.save(tmp_path / "m.json")
    loaded = RiskModel.load(tmp_path / "m.json")
    assert (loaded.version, loaded.trained_until, loaded.metrics) == (
        model.version,
        model.trained_until,
        model.metrics,
    )
    assert_frame_equal(
        loaded.score(declarations=test, history=pl.concat([train, test]), outcomes=outcomes), scored
    )
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ScoringError, match="not a borderwatch risk model"):
        RiskModel.load(tmp_path / "bad.json")


def test_scores_are_one_row_per_declaration_in_range(
    scored: pl.DataFrame, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    _, _, test = split
    assert scored.columns == [
        "lrn",
        "score",
        "fraud_probability",
        "expected_duty",
        "forced_lane",
        "reasons",
        "reason_codes",
    ]
    assert scored.height == test["lrn"].n_unique()
    assert scored["score"].is_between(0, 100).all()
    assert scored["fraud_probability"].is_between(0, 1).all()


def test_every_reason_has_its_code_in_the_same_place(scored: pl.DataFrame) -> None:
    """One code per sentence, in the same order: a code's family matches what its sentence is about."""
    assert scored["reasons"].list.len().to_list() == scored["reason_codes"].list.len().to_list()
    pairs = [
        (sentence, Reason.from_json(code).family, Reason.from_json(code).id)
        for sentences, codes in zip(
            scored["reasons"].to_list(), scored["reason_codes"].to_list(), strict=True
        )
        for sentence, code in zip(sentences, codes, strict=True)
    ]
    families = {family for _, family, _ in pairs}
    assert {"model", "anomaly", "revenue"} <= families
    for sentence, family, reason_id in pairs:
        if family == "anomaly":
            assert sentence.startswith("anomaly: ") and reason_id.startswith("ANOMALY-")
        elif family == "revenue":
            assert sentence.startswith("revenue at risk: ") and reason_id == "REVENUE-AT-RISK"
        elif family == "model":
            assert reason_id.startswith("MODEL-")


def test_model_ranks_frauds_first(scored: pl.DataFrame) -> None:
    _, outcomes = traffic_frames()
    graded = scored.join(outcomes, on="lrn")
    labels = graded["fraud"].to_numpy()
    report = ranking_report(labels, graded["score"].to_numpy(), np.ones(len(labels)))
    assert report["auc"] > 0.65
    assert report["at"]["5"]["precision"] > 2 * labels.mean()


def test_reasons_quote_the_declarations_real_values(
    model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], scored: pl.DataFrame
) -> None:
    train, outcomes, test = split
    features = build_features(declarations=test, history=pl.concat([train, test]), outcomes=outcomes)
    by_lrn = {row["lrn"]: row for row in features.to_dicts()}
    checked = revenue = 0
    for row in scored.sort("score", descending=True).head(60).iter_rows(named=True):
        facts = by_lrn[row["lrn"]]
        assert row["reasons"], "a top-ranked declaration needs at least one reason"
        for reason in row["reasons"]:
            if reason.startswith("importer ") and "/" not in reason and "earlier inspections" in reason:
                assert reason.startswith(f"importer {facts['importer_id']}: ")
                found = re.search(r"fraud found in (\d+) of (\d+) earlier inspections", reason)
                assert found is not None
                assert (int(found[1]), int(found[2])) == (
                    facts["importer_frauds"],
                    facts["importer_inspected"],
                )
                checked += 1
            if reason.startswith("unit value") and "median" in reason:
                assert f"HS {facts['hs_code']}" in reason
                pct = int(re.search(r"unit value (\d+) %", reason)[1])  # type: ignore[index]
                assert pct == round(abs(facts["unit_value_ratio"] - 1) * 100)
                checked += 1
            if reason.startswith("duty at stake"):
                assert str(round(facts["duty_at_stake"])) in reason
                checked += 1
            if reason.startswith("revenue at risk"):
                found = re.search(r"P\(fraud\) (\d+) % × duty at stake (\d+) ≈ (\d+)", reason)
                assert found is not None
                assert int(found[1]) == round(row["fraud_probability"] * 100)
                assert int(found[2]) == round(facts["duty_at_stake"])
                assert int(found[3]) == round(row["fraud_probability"] * facts["duty_at_stake"])
                revenue += 1
            if reason.startswith("anomaly: first declaration seen for importer"):
                assert facts["importer_count"] == 0 and facts["importer_id"] in reason
                checked += 1
    assert checked >= 5
    assert revenue >= 1, "some of the riskiest are there for their revenue at risk, and say so"


def test_explanations_can_be_skipped_without_changing_scores(
    model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], scored: pl.DataFrame
) -> None:
    train, outcomes, test = split
    quick = model.score(
        declarations=test, history=pl.concat([train, test]), outcomes=outcomes, explain=NO_EXPLANATION
    )
    assert_frame_equal(quick.drop("reasons", "reason_codes"), scored.drop("reasons", "reason_codes"))
    assert all(not r.startswith(("importer ", "unit value")) for rs in quick["reasons"] for r in rs)


def test_multi_item_declaration_takes_its_riskiest_item(
    model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    train, outcomes, test = split
    two = test.head(2).with_columns(
        pl.lit("MULTI").alias("lrn"), pl.Series("item_no", [1, 2], dtype=pl.Int32)
    )
    single = model.score(declarations=test.head(2), history=train, outcomes=outcomes)
    combined = model.score(declarations=two, history=train, outcomes=outcomes)
    assert combined.height == 1
    assert combined["score"][0] == pytest.approx(single["score"].max())
    assert combined["expected_duty"][0] == pytest.approx(single["expected_duty"].sum())
    # the first reason names the item that scored highest; the rest are that item's own reasons
    top = single.sort("score", descending=True).row(0, named=True)
    item = test.head(2)["lrn"].to_list().index(top["lrn"]) + 1
    assert combined["reasons"][0][0] == f"goods item {item} of 2 scores highest"
    assert combined["reasons"][0].to_list()[1:] == top["reasons"]
    assert not any(r.startswith("goods item") for rs in single["reasons"] for r in rs)


def test_training_needs_both_outcomes(split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    train, outcomes, _ = split
    with pytest.raises(ScoringError, match="both kinds"):
        train_risk_model(
            declarations=train, outcomes=outcomes.with_columns(pl.lit(0, pl.Int8).alias("fraud"))
        )


def test_ranking_report_by_hand() -> None:
    labels = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1] * 10)
    ranking = np.arange(100, 0, -1, dtype=float)  # the first rows first
    duty = np.where(np.arange(100) == 0, 90.0, 1.0)
    report = ranking_report(labels, ranking, duty)
    assert report["at"]["1"] == {
        "precision": 1.0,
        "recall": pytest.approx(1 / 30),
        "duty_recall": pytest.approx(90 / 119),
    }
    assert report["at"]["10"]["precision"] == pytest.approx(3 / 10)
    assert set(report["at"]) == {str(r) for r in RATES}


def test_evaluate_writes_the_agreed_shape_and_ignores_test_outcomes(tmp_path: Path) -> None:
    train = generated_csv(tmp_path / "train.csv", declarations=1500, seed=5, start=date(2024, 1, 1), days=90)
    test = generated_csv(tmp_path / "test.csv", declarations=400, seed=6, start=date(2024, 3, 31), days=20)
    evaluation = evaluate_files(train=[train], test=test, seed=1, params=FAST)
    report = json.loads(json.dumps(evaluation.report))
    assert list(report) == ["rates", "models"]
    assert report["rates"] == [1, 2, 5, 10, 20]
    assert set(report["models"]) == {"borderwatch", "baseline"}
    for metrics in report["models"].values():
        assert set(metrics) == {"auc", "at"}
        assert isinstance(metrics["auc"], float)
        assert list(metrics["at"]) == ["1", "2", "5", "10", "20"]
        for cell in metrics["at"].values():
            assert set(cell) == {"precision", "recall", "duty_recall"}
            assert all(0.0 <= value <= 1.0 for value in cell.values())

    # The same test file with its outcome columns blanked gets exactly the same scores.
    raw = pl.read_csv(test, infer_schema=False)
    blank = tmp_path / "blank.csv"
    raw.with_columns(pl.lit("0").alias("Fraud"), pl.lit("0").alias("Critical Fraud")).write_csv(blank)
    blanked = evaluate_files(train=[train], test=blank, seed=1, params=FAST)
    assert evaluation.scores is not None and blanked.scores is not None
    assert_frame_equal(evaluation.scores, blanked.scores)
    assert blanked.report["models"]["borderwatch"]["at"]["5"]["precision"] == 0.0


def test_screening_hits_become_points_and_reasons(
    model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], scored: pl.DataFrame
) -> None:
    train, outcomes, test = split
    target = scored.sort("score").row(0, named=True)  # the least risky: room for the points
    hits = pl.DataFrame(
        {
            "lrn": [target["lrn"]] * 2,
            "role": ["seller", "seller"],
            "party_id": ["S1", "S1"],
            "party_name": ["Banco Nacionl de Cuba", "Banco Nacionl de Cuba"],
            "entity_id": [None, None],
            "list": ["ofac", "un"],
            "name": ["BANCO NACIONAL DE CUBA", "Banco Nacional de Cuba"],
            "score": [0.92, 0.81],
            "explanation": ["", ""],
        }
    )
    history = pl.concat([train, test])
    screened = model.score(declarations=test, history=history, outcomes=outcomes, screening_hits=hits)
    row = screened.filter(pl.col("lrn") == target["lrn"]).row(0, named=True)
    assert row["score"] == pytest.approx(min(100.0, target["score"] + 15 * 0.92))
    assert row["reasons"][0] == (
        "screening: seller Banco Nacionl de Cuba resembles BANCO NACIONAL DE CUBA on ofac (match 0.92)"
    )
    assert any("on un (match 0.81)" in reason for reason in row["reasons"])
    others = screened.filter(pl.col("lrn") != target["lrn"]).drop("reasons", "reason_codes")
    assert_frame_equal(others, scored.filter(pl.col("lrn") != target["lrn"]).drop("reasons", "reason_codes"))


def test_reason_sentences_follow_the_contributions() -> None:
    from borderwatch.scoring.explain import model_reasons

    features = pl.DataFrame({"a": [1.5, 2.5, 3.5], "b": [10.0, 20.0, 30.0]})
    nothing = np.zeros((3, 3))  # a, b, bias: nothing pushes the risk up
    assert model_reasons(features, nothing, ["a", "b"]).to_list() == [[], [], []]
    pushes = np.array([[0.4, 0.9, 0.0], [0.0, -0.3, 0.0], [0.2, 0.01, 0.0]])
    assert model_reasons(features, pushes, ["a", "b"]).to_list() == [
        ["b = 10.0", "a = 1.5"],
        [],
        ["a = 3.5"],
    ]


def test_reasons_for_the_riskiest_only(
    model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], scored: pl.DataFrame
) -> None:
    train, outcomes, test = split
    history = pl.concat([train, test])
    quick = model.score(declarations=test, history=history, outcomes=outcomes, explain=NO_EXPLANATION)
    top = model.score(
        declarations=test, history=history, outcomes=outcomes, explain=ExplainPolicy(top_items=5)
    )
    assert_frame_equal(top.drop("reasons", "reason_codes"), scored.drop("reasons", "reason_codes"))
    full = dict(zip(scored["lrn"], scored["reasons"].to_list(), strict=True))
    bare = dict(zip(quick["lrn"], quick["reasons"].to_list(), strict=True))
    explained = [
        lrn for lrn, reasons in zip(top["lrn"], top["reasons"].to_list(), strict=True) if reasons != bare[lrn]
    ]
    assert 1 <= len(explained) <= 5
    assert all(
        full[lrn] == reasons
        for lrn, reasons in zip(top["lrn"], top["reasons"].to_list(), strict=True)
        if lrn in explained
    )
    assert set(explained) <= set(
        top["lrn"].head(8).to_list()
    )  # the riskiest (anomaly points may reorder a little)


def test_reasons_above_a_score_only(
    model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], scored: pl.DataFrame
) -> None:
    train, outcomes, test = split
    history = pl.concat([train, test])
    quick = model.score(declarations=test, history=history, outcomes=outcomes, explain=NO_EXPLANATION)
    cut = scored["score"].quantile(0.8)
    assert cut is not None
    some = model.score(
        declarations=test, history=history, outcomes=outcomes, explain=ExplainPolicy(min_score=cut)
    )
    assert_frame_equal(some.drop("reasons", "reason_codes"), scored.drop("reasons", "reason_codes"))
    flags = ExplainPolicy(min_score=cut).explains(some)
    assert 0 < int(flags.sum()) < some.height
    expected = [
        full if keep else bare
        for full, bare, keep in zip(
            scored["reasons"].to_list(), quick["reasons"].to_list(), flags.to_list(), strict=True
        )
    ]
    assert some["reasons"].to_list() == expected
    # a declaration explained is one scoring at least the cut (no profile forces a lane here)
    assert flags.to_list() == (some["score"] >= cut).to_list()
    # some explained declarations do gain the model's sentences
    assert any(
        full != bare
        for full, bare, keep in zip(
            scored["reasons"].to_list(), quick["reasons"].to_list(), flags.to_list(), strict=True
        )
        if keep
    )


def test_declarations_forced_to_yellow_are_explained_whatever_their_score(
    model: RiskModel, split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
) -> None:
    train, outcomes, test = split
    history = pl.concat([train, test])
    office = test["office"].mode()[0]
    rule = RiskProfile.model_validate(
        {
            "id": "OFFICE-CHECK",
            "name": "documentary check at one office",
            "rationale": "test",
            "author": "t",
            "when": {"all": [{"field": "office", "op": "eq", "value": office}]},
            "effect": {"force_lane": "yellow"},
        }
    )
    full = model.score(declarations=test, history=history, outcomes=outcomes, profiles=[rule])
    quick = model.score(
        declarations=test, history=history, outcomes=outcomes, profiles=[rule], explain=NO_EXPLANATION
    )
    some = model.score(  # no score reaches it: only the rule decides
        declarations=test,
        history=history,
        outcomes=outcomes,
        profiles=[rule],
        explain=ExplainPolicy(min_score=101.0),
    )  # no score reaches it: only the rule decides
    flags = ExplainPolicy(min_score=101.0).explains(some)
    assert flags.to_list() == (some["forced_lane"] == "yellow").fill_null(False).to_list()
    assert 0 < int(flags.sum()) < some.height
    for got, everything, bare, keep in zip(
        some["reasons"].to_list(),
        full["reasons"].to_list(),
        quick["reasons"].to_list(),
        flags.to_list(),
        strict=True,
    ):
        assert got == (everything if keep else bare)


def test_family_contributions_add_up_and_read_as_words(model: RiskModel) -> None:
    from borderwatch.scoring.explain import family_contributions

    names = model.feature_names
    row = np.linspace(-1.0, 1.0, len(names))
    grouped = family_contributions(row, names)
    assert sum(value for _, value in grouped) == pytest.approx(row.sum())
    assert [abs(v) for _, v in grouped] == sorted((abs(v) for _, v in grouped), reverse=True)
    labels = [label for label, _ in grouped]
    assert len(set(labels)) == len(labels)
    assert "importer: earlier inspection results" in labels
    assert "unit value and its position among peers" in labels
    assert not any(":" in label and label.split(":")[0] in {"hits", "seen", "category"} for label in labels)


def test_a_repeated_declared_value_is_explained_with_its_earlier_results() -> None:
    from borderwatch.scoring.explain import sentence

    rows = pl.DataFrame(
        {
            "customs_value": [372254.4, 241.58000000000004, 99.0],
            "hs_code": ["610910", "850440", "020130"],
            "value_inspected": [3, 1, 0],
            "value_frauds": [2, 1, 0],
            "hs_value_inspected": [2, 1, 0],
            "hs_value_frauds": [2, 0, 0],
        }
    )
    said = rows.select(sentence("hits:value").alias("a"), sentence("hits:hs_value").alias("b"))
    assert said["a"].to_list() == [
        "declared value 372254.4: fraud found in 2 of 3 earlier inspections (67 %)",
        "declared value 241.58: fraud found in 1 of 1 earlier inspections (100 %)",
        "declared value 99.0: no earlier inspection results",
    ]
    assert (
        said["b"][0]
        == "HS code / declared value 610910 / 372254.4: fraud found in 2 of 2 earlier inspections (100 %)"
    )
