"""The model registry and stored scores on SQLite and PostgreSQL, and the scoring commands end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from borderwatch.cli.main import app
from borderwatch.core.errors import ConfigError, NotFoundError
from borderwatch.core.reasons import REASON_CODES, Reason
from borderwatch.core.settings import get_settings
from borderwatch.db.session import session_scope
from borderwatch.scoring.model import ModelParams
from borderwatch.scoring.profile_store import agency_profiles_dir, profile_file, write_profile
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.registry import (
    get_model_row,
    latest_scores,
    list_models,
    load_model,
    register_model,
    store_scores,
)
from borderwatch.scoring.risk_model import RiskModel, train_risk_model
from tests.unit.scoring_support import generated_csv, traffic_frames

FAST = ModelParams(fraud_rounds=40, duty_rounds=20, learning_rate=0.1)


@pytest.fixture(scope="module")
def small_model() -> RiskModel:
    declarations, outcomes = traffic_frames()
    return train_risk_model(declarations=declarations, outcomes=outcomes, seed=3, params=FAST)


def test_registry_round_trip(
    session_factory: sessionmaker[Session], small_model: RiskModel, tmp_path: Path
) -> None:
    path = tmp_path / "model.json"
    small_model.save(path)
    with session_scope(session_factory) as session:
        register_model(session=session, model=small_model, path=path, agency="kr")
        register_model(session=session, model=small_model, path=path, agency="kr")  # idempotent
    with session_scope(session_factory) as session:
        rows = list_models(session=session, agency="kr")
        assert [r.version for r in rows] == [small_model.version]
        row = rows[0]
        assert (row.trained_from, row.trained_until, row.seed) == (
            small_model.trained_from,
            small_model.trained_until,
            3,
        )
        assert row.features == small_model.feature_names
        assert row.metrics["training_rows"] == small_model.metrics["training_rows"]
        assert load_model(session=session, agency="kr").version == small_model.version
        with pytest.raises(NotFoundError, match="borderwatch train"):
            get_model_row(session=session, agency="other")


def test_scores_and_reasons_round_trip(session_factory: sessionmaker[Session]) -> None:
    first = pl.DataFrame(
        {
            "lrn": ["A", "B"],
            "score": [91.5, 3.25],
            "fraud_probability": [0.9, 0.01],
            "expected_duty": [1200.0, 0.0],
            "forced_lane": ["red", None],
            "reasons": [
                [
                    "unit value 83 % below the median for HS 610910 from CN",
                    "risk profile RP-1 (x): +5 points",
                ],
                [],
            ],
            "reason_codes": [
                [
                    Reason("MODEL-UNIT-VALUE", "model", {"log_odds": 0.8}).to_text(),
                    Reason("RP-1", "profile", {"points": 5.0, "lane": ""}).to_text(),
                ],
                [],
            ],
        },
        schema_overrides={"reason_codes": REASON_CODES},
    )
    second = first.filter(pl.col("lrn") == "A").with_columns(
        pl.lit(40.0).alias("score"), pl.lit(None, pl.String).alias("forced_lane")
    )
    with session_scope(session_factory) as session:
        assert store_scores(session=session, scores=first, model_version="v1") == 2
    with session_scope(session_factory) as session:
        store_scores(session=session, scores=second, model_version="v2")
    with session_scope(session_factory) as session:
        stored = latest_scores(session=session)
        only_b = latest_scores(session=session, lrns=["B"])
    assert stored["lrn"].to_list() == ["A", "B"]
    newest_a = stored.row(0, named=True)
    assert (newest_a["score"], newest_a["model_version"], newest_a["forced_lane"]) == (40.0, "v2", None)
    assert newest_a["reasons"] == first["reasons"][0].to_list()
    assert [Reason.from_json(c) for c in newest_a["reason_codes"]] == [
        Reason("MODEL-UNIT-VALUE", "model", {"log_odds": 0.8}),
        Reason("RP-1", "profile", {"points": 5.0, "lane": ""}),
    ]
    assert only_b["reasons"].to_list() == [[]] and only_b["model_version"].to_list() == ["v1"]


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("BORDERWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "250")  # keep Rich tables on one line per row
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _text(result: Result) -> str:
    return " ".join(result.output.split())


def test_train_score_explain_and_list_from_the_command_line(
    cli: CliRunner, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = generated_csv(tmp_path / "traffic.csv", declarations=1200, seed=4, start=date(2024, 1, 1), days=60)
    assert cli.invoke(app, ["ingest", "--no-select", str(path)]).exit_code == 0

    trained = cli.invoke(app, ["train", "--holdout", "0.2", "--seed", "5"])
    assert trained.exit_code == 0, _text(trained)
    assert "holdout_auc" in _text(trained)
    listed = cli.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and "2024-01-" in _text(listed)

    week = pl.read_csv(path, infer_schema=False).filter(pl.col("Date") >= "2024-02-20")
    chapter = week["HS6 Code"][0][:2]
    # A rule the agency added (as the workspace's editor does) applies to `score` without --profiles.
    agency_rules = agency_profiles_dir(get_settings().data_dir, get_settings().agency)
    write_profile(
        agency_rules,
        RiskProfile.model_validate(
            {
                "id": "RP-AGENCY-EDIT",
                "name": "Every declaration of one HS chapter goes red",
                "rationale": "test",
                "author": "tester",
                "when": {"all": [{"field": "hs2", "op": "in", "value": [chapter]}]},
                "effect": {"force_lane": "red"},
            }
        ),
    )
    scored = cli.invoke(app, ["score", "--since", "2024-02-20", "--show", "3", "--screen"])
    assert scored.exit_code == 0, _text(scored)
    assert f"stored {week.height} scores" in _text(scored)

    with session_scope(session_factory) as session:
        stored = latest_scores(session=session)
    assert set(stored["lrn"].to_list()) == set(week["Declaration ID"].to_list())
    in_chapter = set(week.filter(pl.col("HS6 Code").str.starts_with(chapter))["Declaration ID"].to_list())
    forced = stored.filter(pl.col("forced_lane") == "red")["lrn"].to_list()
    assert in_chapter and in_chapter <= set(forced)
    assert stored["reasons"].list.len().sum() > 0
    top = stored["lrn"][0]
    assert top in scored.output  # the riskiest is printed
    explained = cli.invoke(app, ["explain", top])
    assert explained.exit_code == 0, _text(explained)
    assert f"{top}: score" in _text(explained)
    assert " 1. " in explained.output

    missing = cli.invoke(app, ["explain", "NOPE"])
    assert missing.exit_code == 2
    assert "has no stored score" in _text(missing)


def test_profiles_check_names_the_problem(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "profiles:\n  - id: X1\n    name: n\n    rationale: r\n    author: a\n"
        "    when: {all: [{field: colour, op: eq, value: red}]}\n    effect: {add_points: 1}\n"
    )
    result = cli.invoke(app, ["profiles", "check", str(bad)])
    assert result.exit_code == 2
    assert "entry 'X1'" in _text(result) and "colour" in _text(result)
    # The agency's profiles are seeded from the shipped ones the first time they are needed.
    shipped = cli.invoke(app, ["profiles", "list"])
    assert shipped.exit_code == 0 and "RP-REPEAT-OFFENDER" in shipped.output.replace("\n", "")
    seeded = agency_profiles_dir(tmp_path / "data", "default")
    assert (seeded / "RP-REPEAT-OFFENDER.yaml").is_file()


def test_profile_ids_cannot_escape_the_agency_directory(tmp_path: Path) -> None:
    for unsafe in ("../passwd", "a/b", ".hidden", ""):
        with pytest.raises(ConfigError, match="profile id"):
            profile_file(tmp_path, unsafe)
    assert profile_file(tmp_path, "RP-1.v2") == tmp_path / "RP-1.v2.yaml"


def test_evaluate_command_writes_report_and_plot(tmp_path: Path) -> None:
    train = generated_csv(tmp_path / "train.csv", declarations=1200, seed=8, start=date(2024, 1, 1), days=80)
    test = generated_csv(tmp_path / "test.csv", declarations=300, seed=9, start=date(2024, 3, 21), days=14)
    out, plot = tmp_path / "out" / "report.json", tmp_path / "out" / "pr.png"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--train", str(train), "--test", str(test), "--json", str(out), "--plot", str(plot)],
    )
    assert result.exit_code == 0, _text(result)
    report = json.loads(out.read_text())
    assert report["rates"] == [1, 2, 5, 10, 20]
    assert set(report["models"]) == {"borderwatch", "baseline"}
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert "borderwatch" in result.output and "baseline" in result.output
    absent = CliRunner().invoke(
        app, ["evaluate", "--train", "nope.csv", "--test", str(test), "--json", str(out)]
    )
    assert absent.exit_code == 2 and "does not exist" in _text(absent)
