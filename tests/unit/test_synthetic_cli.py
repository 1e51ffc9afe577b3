"""``borderwatch generate``: the file, its truth, the summary, and one-sentence errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.ingest.frame import read_kcs_frames

runner = CliRunner()


def test_generate_writes_the_file_and_its_truth(tmp_path: Path) -> None:
    out = tmp_path / "traffic.csv"
    result = runner.invoke(
        app,
        [
            "generate",
            "--declarations",
            "1200",
            "--seed",
            "4",
            "--start",
            "2025-06-01",
            "--days",
            "30",
            "--drift-at",
            "0.5",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "traffic.truth.json").read_text(encoding="utf-8"))
    assert truth["config"] == {
        "declarations": 1200,
        "seed": 4,
        "start": "2025-06-01",
        "days": 30,
        "drift_at": 0.5,
        "corrupt": 0,
    }
    assert set(truth["patterns"]) == {
        "undervaluation",
        "false_origin",
        "importer_ring",
        "sanctioned_party",
        "drift",
    }
    declarations, _ = read_kcs_frames(out)
    assert declarations.height == 1200
    assert str(declarations["declared_on"].min()) == "2025-06-01"
    assert "undervaluation" in result.output
    assert "traffic.truth.json" in result.output


def test_generate_with_corrupt_lines_counts_them(tmp_path: Path) -> None:
    out = tmp_path / "bad.csv"
    result = runner.invoke(app, ["generate", "-n", "300", "--days", "10", "--corrupt", "5", str(out)])

    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1 + 300 + 5
    truth = json.loads((tmp_path / "bad.truth.json").read_text(encoding="utf-8"))
    assert len(truth["corrupt_lines"]) == 5


def test_generate_refuses_bad_options_with_one_sentence(tmp_path: Path) -> None:
    for arguments, message in (
        (["-n", "0"], "at least 1"),
        (["-n", "10", "--drift-at", "2"], "strictly between 0 and 1"),
        (["-n", "10", "--start", "01/02/2025"], "YYYY-MM-DD"),
    ):
        result = runner.invoke(app, ["generate", *arguments, str(tmp_path / "x.csv")])
        assert result.exit_code == 2, arguments
        assert message in result.output, result.output
    assert not (tmp_path / "x.csv").exists()


def test_generate_reports_an_unwritable_destination(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = runner.invoke(app, ["generate", "-n", "20", "--days", "5", str(blocker / "out.csv")])
    assert result.exit_code == 2
    assert "cannot write" in result.output
