"""The ingest, schema and quarantine commands: summaries, exit codes and one-sentence errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.ingest.frame import KCS_COLUMNS

HEADER = ",".join(KCS_COLUMNS)
GOOD = (
    "97061800,2020-01-01,30,B,11,21,11,10,ZZR1LT6,QLRUBN9,0VKY2BR,,440890,BE,BE,0.0,FEU1,G,108.0,372254.4,0,0"
)


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _text(result: Result) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(result.output.split())


def _kcs(path: Path) -> Path:
    bad_hs = GOOD.replace("97061800", "11111111").replace("440890", "44AB90")
    path.write_text(f"{HEADER}\n{GOOD}\n{bad_hs}\n")
    return path


def test_ingest_summary_then_quarantine_fix(cli: CliRunner, tmp_path: Path) -> None:
    path = _kcs(tmp_path / "day.csv")
    result = cli.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 0, _text(result)
    assert "day.csv" in _text(result)
    assert "is not an HS code of 6 to 10 digits" in _text(result)

    listed = cli.invoke(app, ["quarantine", "list"])
    assert listed.exit_code == 0
    assert "11111111" in _text(listed)
    shown = cli.invoke(app, ["quarantine", "show", "1"])
    assert shown.exit_code == 0
    assert "44AB90" in _text(shown)
    assert "HS6 Code" in _text(shown)

    still_bad = cli.invoke(app, ["quarantine", "release", "1", "--value", "4408"])
    assert still_bad.exit_code == 2
    assert "record still rejected" in _text(still_bad)
    released = cli.invoke(app, ["quarantine", "release", "1", "--value", "440890"])
    assert released.exit_code == 0, _text(released)
    assert "released #1: stored" in _text(released)
    assert "11111111" not in _text(cli.invoke(app, ["quarantine", "list"]))

    again = cli.invoke(app, ["ingest", str(path)])
    assert again.exit_code == 0
    assert "1 known" in _text(again)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist or is not a file"),
        ("", "is empty"),
        ("a,b\n1,2\n", "is not a CSV of the kcs layout"),
        (f"{HEADER}\n\n", "holds no records"),
    ],
)
def test_unreadable_file_exits_2_with_one_sentence(
    cli: CliRunner, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_text(content)
    result = cli.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 2
    assert message in _text(result)
    assert "Traceback" not in _text(result)


def test_one_readable_file_of_two_exits_0(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["ingest", str(_kcs(tmp_path / "ok.csv")), str(tmp_path / "missing.csv")])
    assert result.exit_code == 0
    assert "skipped" in _text(result)


def test_bad_mapping_and_format_options(cli: CliRunner, tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  lrn: No\n")
    result = cli.invoke(app, ["ingest", "--mapping", str(mapping), str(_kcs(tmp_path / "x.csv"))])
    assert result.exit_code == 2
    assert "required field 'declared_on'" in _text(result)
    result = cli.invoke(app, ["ingest", "--format", "xml", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "--format must be one of" in _text(result)


def test_schema_prints_the_declaration_json_schema() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "Declaration"
    assert {"lrn", "date", "items"} <= set(schema["required"])
    outcome = json.loads(CliRunner().invoke(app, ["schema", "--outcome"]).output)
    assert outcome["title"] == "Outcome"
