"""Issue #22, item 11: three commands started at once on an empty database all find it migrated; none
crashes racing the others to create the same tables (PostgreSQL: an advisory lock per schema; SQLite: the
migration's BEGIN IMMEDIATE)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from borderwatch.db.registry import metadata
from tests.conftest import postgres_schema

SCRIPT = """
import sys, time
from borderwatch.db.session import make_engine, migrate
url, start = sys.argv[1], float(sys.argv[2])
engine = make_engine(url)
time.sleep(max(0.0, start - time.time()))  # all three begin together, their imports done
migrate(engine)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with postgres_schema() as url:
        yield url


def test_three_migrations_at_once_on_an_empty_database(empty_url: str) -> None:
    start = time.time() + 6.0
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, empty_url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0], [err[-2000:] for _, err in outcomes]
    engine = create_engine(empty_url)
    try:
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            heads = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
        assert heads >= 1
    finally:
        engine.dispose()
