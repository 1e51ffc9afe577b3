"""``borderwatch watchlist``, ``screen`` and ``screen-decide`` through the real command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _text(result: Result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture
def national_list(tmp_path: Path) -> Path:
    path = tmp_path / "national.csv"
    path.write_text(
        "id,name,kind,aliases,date_of_birth,nationality\n"
        "1,Ivan Petrov,person,Ivan Petroff,1970-02-03,RU\n"
        "2,Ocean Star Shipping LLC,organization,,,\n"
        "3,Maria Garcia Lopez,person,,1980,MX\n"
    )
    return path


def test_batch_screen_writes_the_agreed_json(cli: CliRunner, national_list: Path, tmp_path: Path) -> None:
    loaded = cli.invoke(app, ["watchlist", "load", str(national_list)])
    assert loaded.exit_code == 0, _text(loaded)
    assert "national" in loaded.output and "3" in loaded.output
    queries = tmp_path / "queries.csv"
    queries.write_text(
        "full_name,date_of_birth,nationality,kind\n"
        "PETROV Ivan,1970-02-03,RU,person\n"
        "Nobody Atall,,,\n"
        "Ocean Star Shipping L.L.C.,,,organization\n"
    )
    out = tmp_path / "out.json"
    result = cli.invoke(app, ["screen", "--file", str(queries), "--json", str(out)])
    assert result.exit_code == 0, _text(result)
    payload = json.loads(out.read_text())
    assert list(payload) == ["results"]
    assert [r["row"] for r in payload["results"]] == [0, 1, 2]
    for row in payload["results"]:
        assert list(row) == ["row", "matches"]
        scores = [m["score"] for m in row["matches"]]
        assert scores == sorted(scores, reverse=True) and all(0.7 <= s <= 1.0 for s in scores)
        for match in row["matches"]:
            assert list(match) == ["entity_id", "list", "name", "score"]
            assert isinstance(match["score"], float)
    assert [m["entity_id"] for m in payload["results"][0]["matches"]] == ["national:1"]
    assert payload["results"][1]["matches"] == []
    assert payload["results"][2]["matches"][0]["entity_id"] == "national:2"


def test_single_name_shows_explanation_and_decision_suppresses(cli: CliRunner, national_list: Path) -> None:
    assert cli.invoke(app, ["watchlist", "load", str(national_list)]).exit_code == 0
    shown = cli.invoke(app, ["screen", "Maria Lopez Garcia"])
    assert shown.exit_code == 0, _text(shown)
    assert "national:3" in shown.output and "garcia" in shown.output
    decided = cli.invoke(
        app,
        [
            "screen-decide",
            "national:3",
            "--name",
            "Maria Lopez Garcia",
            "--analyst",
            "ana",
            "--note",
            "other DOB",
        ],
    )
    assert decided.exit_code == 0, _text(decided)
    again = cli.invoke(app, ["screen", "Maria Lopez Garcia"])
    assert "national:3" not in again.output and "no match" in again.output


def test_watchlist_show_and_list(cli: CliRunner, national_list: Path) -> None:
    assert cli.invoke(app, ["watchlist", "load", str(national_list)]).exit_code == 0
    shown = cli.invoke(app, ["watchlist", "show", "national:1"])
    assert shown.exit_code == 0 and "Ivan Petroff" in shown.output and "1970-02-03" in shown.output
    listed = cli.invoke(app, ["watchlist", "list"])
    assert "national" in listed.output and "yes" in listed.output
    missing = cli.invoke(app, ["watchlist", "show", "national:99"])
    assert missing.exit_code == 2 and "no active watchlist entry 'national:99'" in _text(missing)


def test_malformed_list_fails_with_one_sentence(cli: CliRunner, national_list: Path, tmp_path: Path) -> None:
    assert cli.invoke(app, ["watchlist", "load", str(national_list)]).exit_code == 0
    broken = tmp_path / "un.xml"
    broken.write_text("<CONSOLIDATED_LIST><INDIVIDUALS>")
    result = cli.invoke(app, ["watchlist", "load", str(broken)])
    assert result.exit_code == 2
    assert "un.xml: is not well-formed" in _text(result) and "previous version stays active" in _text(result)
    bad_queries = tmp_path / "q.csv"
    bad_queries.write_text("name\nX\n")
    result = cli.invoke(app, ["screen", "--file", str(bad_queries)])
    assert result.exit_code == 2 and "missing column full_name" in _text(result)


def test_watchlist_load_takes_the_ofac_files_as_published_in_any_order(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    sdn_lines = (shared_data / "watchlists" / "ofac_sdn.csv").read_text().splitlines()[:40]
    numbers = {line.split(",", 1)[0] for line in sdn_lines}
    files = {}
    for part in ("sdn", "alt", "add"):
        lines = (shared_data / "watchlists" / f"ofac_{part}.csv").read_text().splitlines()
        files[part] = tmp_path / f"ofac_{part}.csv"
        files[part].write_text("\n".join(line for line in lines if line.split(",", 1)[0] in numbers) + "\n")
    loaded = cli.invoke(app, ["watchlist", "load", str(files["alt"]), str(files["add"]), str(files["sdn"])])
    assert loaded.exit_code == 0, _text(loaded)
    assert "ofac_sdn" in loaded.output and "40" in loaded.output
    shown = cli.invoke(app, ["watchlist", "show", "ofac:306"])
    assert shown.exit_code == 0, _text(shown)
    assert "NATIONAL BANK OF CUBA" in shown.output  # the alias from the alt file
    assert "Zurich" in shown.output  # the address from the add file
    alone = cli.invoke(app, ["watchlist", "load", str(files["alt"])])
    assert alone.exit_code != 0
    assert "needs its sdn file" in _text(alone)


def test_screen_by_identifier_and_alerts_on_reload(cli: CliRunner, tmp_path: Path) -> None:
    """``screen --identifier`` matches a listed IMO number under another name; a reload that adds an entry
    alerts nobody without recent declarations, and ``watchlist alerts`` says so."""
    listed = tmp_path / "ships.csv"
    listed.write_text("id,name,kind,identifiers\n1,Sea Breeze,vessel,imo:9187629\n")
    assert cli.invoke(app, ["watchlist", "load", str(listed)]).exit_code == 0
    by_number = cli.invoke(
        app, ["screen", "Morning Glory", "--kind", "vessel", "--identifier", "IMO 9187629"]
    )
    assert by_number.exit_code == 0, _text(by_number)
    assert "imo 9187629 matches" in by_number.output.lower()
    other = cli.invoke(app, ["screen", "Morning Glory", "--kind", "vessel", "--identifier", "IMO 9074729"])
    assert "no match" in other.output
    listed.write_text("id,name,kind,identifiers\n1,Sea Breeze,vessel,imo:9187629\n2,Sea Star,vessel,\n")
    reloaded = cli.invoke(app, ["watchlist", "load", str(listed), "--rescreen-days", "30"])
    assert reloaded.exit_code == 0, _text(reloaded)
    assert "against 1 added or changed entries" in reloaded.output and "0 new alert(s)" in reloaded.output
    assert "no alerts" in cli.invoke(app, ["watchlist", "alerts"]).output
