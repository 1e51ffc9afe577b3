"""The loop from the command line: lanes assign, cases, outcome, retrain, monitor (both databases)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from borderwatch.access import audit as audit_log
from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.scoring.registry import list_models
from borderwatch.scoring.risk_model import train_risk_model
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("BORDERWATCH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def text(output: str) -> str:
    return " ".join(output.split())


def test_lanes_cases_retrain_and_monitor(cli: CliRunner, tmp_path: Path) -> None:
    traffic = tmp_path / "traffic.csv"
    write_traffic(generate_traffic(GeneratorConfig(declarations=900, seed=9, days=35)), traffic)
    assert cli.invoke(app, ["ingest", "--no-select", str(traffic)]).exit_code == 0
    declarations, outcomes = read_kcs_frames(traffic)
    first = declarations["declared_on"].min()
    assert first is not None
    cut = first + timedelta(days=28)  # type: ignore[operator]
    model = train_risk_model(
        declarations=declarations.filter(pl.col("declared_on") < cut),
        outcomes=outcomes.join(declarations.filter(pl.col("declared_on") < cut).select("lrn"), on="lrn"),
    )
    model_path = tmp_path / "model.json"
    model.save(model_path)
    importer = declarations.filter(pl.col("declared_on") >= cut)["importer_id"][0]
    added = cli.invoke(app, ["aeo", "add", importer, "--from", str(first), "--certificate", "AEO-1"])
    assert added.exit_code == 0, added.output
    assert importer in cli.invoke(app, ["aeo", "list"]).output
    bad_date = cli.invoke(app, ["aeo", "add", "X", "--from", "yesterday"])
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in text(bad_date.output)

    assigned = cli.invoke(app, ["lanes", "assign", "--model", str(model_path), "--since", str(cut)])
    assert assigned.exit_code == 0, assigned.output
    assert "lane decisions" in assigned.output and "red" in assigned.output
    missing_model = cli.invoke(app, ["lanes", "assign", "--model", str(tmp_path / "none.json")])
    assert missing_model.exit_code == 2

    listed = cli.invoke(app, ["cases", "list", "--status", "open"])
    assert listed.exit_code == 0 and "inspection cases" in listed.output
    agency = get_settings().agency
    for name, role in (("kim", "inspector"), ("chief", "supervisor")):
        added = cli.invoke(app, ["users", "add", name, "--role", role, "--agency", agency, "--system"])
        assert added.exit_code == 0, added.output
    # officers are users: a name that is not one is refused, and so is acting as nobody known
    stranger = cli.invoke(app, ["--as", "chief", "cases", "assign", "1", "--officer", "nobody"])
    assert stranger.exit_code == 2 and "not an active officer" in text(stranger.output)
    unknown = cli.invoke(app, ["--as", "ghost", "cases", "assign", "1", "--officer", "kim"])
    assert unknown.exit_code == 2 and "not an active borderwatch user" in text(unknown.output)
    assigned_case = cli.invoke(app, ["--as", "chief", "cases", "assign", "1", "--officer", "kim"])
    assert assigned_case.exit_code == 0, assigned_case.output
    photo = tmp_path / "seal.jpg"
    photo.write_bytes(b"broken seal")
    recorded = cli.invoke(
        app,
        [
            "--as",
            "kim",
            "cases",
            "record",
            "1",
            "--result",
            "seizure",
            "--goods",
            "cigarettes",
            "--quantity",
            "40",
            "--unit",
            "cartons",
            "--duty",
            "1200",
            "--evidence",
            str(photo),
        ],
    )
    assert recorded.exit_code == 0, recorded.output
    shown = cli.invoke(app, ["cases", "show", "1"])
    assert "seizure" in shown.output and "closed" in shown.output
    future = cli.invoke(
        app, ["--as", "kim", "cases", "record", "2", "--result", "no_finding", "--on", "2999-01-01"]
    )
    assert future.exit_code == 2 and "in the future" in text(future.output)
    early = cli.invoke(
        app, ["--as", "kim", "cases", "record", "2", "--result", "no_finding", "--on", "1999-01-01"]
    )
    assert early.exit_code == 2 and "before the declaration's date" in text(early.output)
    again = cli.invoke(app, ["cases", "record", "1", "--result", "no_finding", "--officer", "kim"])
    assert again.exit_code == 2 and "already closed" in text(again.output)

    lrn = declarations.filter(pl.col("declared_on") >= cut)["lrn"][-1]
    override = cli.invoke(
        app, ["--as", "chief", "lanes", "override", lrn, "--lane", "red", "--reason", "tip-off"]
    )
    assert override.exit_code == 0, override.output
    no_decision = cli.invoke(
        app, ["--as", "chief", "lanes", "override", "nope", "--lane", "red", "--reason", "x"]
    )
    assert no_decision.exit_code == 2
    # the command line's actions are in the audit log, under the user who acted
    engine = make_engine(get_settings().database_url)
    with session_scope(session_factory(engine)) as session:
        entries, _ = audit_log.search(db_session=session, limit=100)
    engine.dispose()
    acted = {(e.actor, e.resource, e.resource_id) for e in entries if (e.detail or {}).get("via") == "cli"}
    assert ("chief", "case", "1") in acted and ("kim", "outcome", "1") in acted
    assert ("chief", "lane", lrn) in acted

    retrained = cli.invoke(app, ["retrain", "--out", str(tmp_path / "retrained.json")])
    assert retrained.exit_code == 0, retrained.output
    assert (tmp_path / "retrained.json").exists()
    # retrain registers its model; it scores arrivals once a supervisor promotes it, and can be rolled back
    engine = make_engine(get_settings().database_url)
    with session_scope(session_factory(engine)) as session:
        versions = {row.version: row.active for row in list_models(session=session, agency=agency)}
    engine.dispose()
    (newest,) = [version for version, active in versions.items() if version in retrained.output]
    assert versions[newest] is (len(versions) == 1)
    promoted = cli.invoke(app, ["--as", "chief", "models", "promote", newest])
    assert promoted.exit_code == 0 and "now active" in text(promoted.output), promoted.output
    refused = cli.invoke(app, ["--as", "ghost", "models", "promote", newest])
    assert refused.exit_code == 2
    listed_models = cli.invoke(app, ["models", "list"])
    assert newest in listed_models.output and "yes" in listed_models.output

    monitored = cli.invoke(app, ["monitor", "--out", str(tmp_path / "monitor")])
    assert monitored.exit_code == 0, monitored.output
    report = json.loads((tmp_path / "monitor" / "monitor.json").read_text())
    lanes = {row["lane"]: row for row in report["lanes"]}
    assert "red" in lanes and lanes["red"]["inspected"] > 0
    assert 0 <= lanes["red"]["hit_rate"] <= 1
    assert report["labelled"] == sum(row["inspected"] for row in report["lanes"])
    assert (tmp_path / "monitor" / "hit_rate_per_lane.png").exists()
    assert (tmp_path / "monitor" / "calibration.png").exists()
