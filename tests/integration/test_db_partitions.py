"""Monthly partitions of declarations and lane decisions on PostgreSQL: the migration, the archive and its
restore (``borderwatch db``), audited; SQLite keeps plain tables and the commands say so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner, Result

from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.db import partitions
from borderwatch.ingest.frame import KCS_COLUMNS
from borderwatch.ingest.service import ingest_file
from borderwatch.ingest.store import load_declarations

HEADER = ",".join(KCS_COLUMNS)


def _line(lrn: str, day: str) -> str:
    return f"{lrn},{day},30,B,11,21,11,10,ZZR1LT6,QLRUBN9,0VKY2BR,,440890,BE,BE,0.0,FEU1,G,108.0,372254.4,0,0"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("BORDERWATCH_USER", "ops")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _text(result: Result) -> str:
    return " ".join(result.output.split())


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_archive_detaches_old_months_and_restore_attaches_them(
    engine: Engine, cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "days.csv"
    path.write_text("\n".join([HEADER, _line("JAN1", "2020-01-15"), _line("MAR1", "2020-03-05")]) + "\n")
    ingest_file(engine=engine, path=path)
    if engine.dialect.name != "postgresql":
        refused = cli.invoke(app, ["db", "archive", "--before", "2020-02"])
        assert refused.exit_code == 1
        assert "PostgreSQL only" in _text(refused)
        return
    with engine.connect() as connection:
        assert partitions.is_partitioned(connection, "declarations")
        assert partitions.is_partitioned(connection, "lane_decisions")
    assert _count(engine, "SELECT count(*) FROM declarations_default") == 2
    with engine.begin() as connection:  # what `borderwatch db partitions` does for a month
        created = partitions.ensure_months(connection, "declarations", [date(2020, 3, 9)])
    assert created == ["declarations_p202003"]
    assert _count(engine, "SELECT count(*) FROM declarations_default") == 1
    assert _count(engine, "SELECT count(*) FROM declarations_p202003") == 1

    archived = cli.invoke(app, ["db", "archive", "--before", "2020-02"])
    assert archived.exit_code == 0, _text(archived)
    assert "declarations_p202001" in _text(archived)
    assert sorted(load_declarations(engine)["lrn"].to_list()) == ["MAR1"]
    # the archived month is still there, queryable, with its goods items beside it
    assert _count(engine, "SELECT count(*) FROM declarations_p202001 WHERE lrn = 'JAN1'") == 1
    assert _count(engine, "SELECT count(*) FROM goods_items_p202001") == 1
    assert _count(engine, "SELECT count(*) FROM goods_items") == 1
    listed = cli.invoke(app, ["db", "partitions"])
    assert "archived" in _text(listed)

    restored = cli.invoke(app, ["db", "restore", "--month", "2020-01"])
    assert restored.exit_code == 0, _text(restored)
    assert sorted(load_declarations(engine)["lrn"].to_list()) == ["JAN1", "MAR1"]
    assert _count(engine, "SELECT count(*) FROM goods_items") == 2
    again = cli.invoke(app, ["db", "restore", "--month", "2020-01"])
    assert again.exit_code == 1
    assert "no archived partition" in _text(again)

    with engine.connect() as connection:
        actions = connection.execute(
            text("SELECT action, resource_id FROM audit_log WHERE resource = 'database' ORDER BY id")
        ).all()
    assert [tuple(a) for a in actions] == [("archive", "2020-02"), ("restore", "2020-01")]
