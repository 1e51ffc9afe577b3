"""Two ingests of the same records at the same time, on SQLite and PostgreSQL: the later one amends, and
nothing is stored twice.

An ingest reads what is stored (the versions of its LRNs, the outcomes and quarantined records it brings),
then writes what is not. Should another ingest commit in between, the first would write versions that now
exist (a UNIQUE (lrn, version) failure, a 500 on the API) or store an outcome or a quarantined record a
second time. The tests pin that interleaving instead of hoping for it: the first ingest is held just after
one of its reads until the second has finished, or for ``HOLD_SECONDS`` when the second cannot finish
because the first holds what it must: SQLite's write lock, PostgreSQL's advisory locks on the records' keys.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from psycopg.errors import LockNotAvailable
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError

from borderwatch.core.errors import IngestError
from borderwatch.db.session import ADVISORY_KEYS_MAX, lock_keys, make_engine, migrate, write_transaction
from borderwatch.ingest.models import DeclarationRow
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import (
    IngestSummary,
    ingest_declarations,
    ingest_file,
    list_quarantine,
    release_quarantined,
)
from tests.integration.api_support import declaration_json

HOLD_SECONDS = 1.0
LRNS = ("C-1", "C-2", "C-3")
READ_VERSIONS = "SELECT lrn, version, content_hash FROM declarations"
READ_QUARANTINE = "SELECT raw_hash FROM quarantine"
READ_OUTCOMES = "SELECT lrn, recorded_on, fraud, critical_fraud FROM outcomes"

Ingest = Callable[[Engine, float, Path], IngestSummary]


def _submit(engine: Engine, value: float, _folder: Path) -> IngestSummary:
    declarations = [Declaration.model_validate(declaration_json(lrn, value=value)) for lrn in LRNS]
    return ingest_declarations(engine=engine, declarations=declarations)


def _upload(engine: Engine, value: float, folder: Path) -> IngestSummary:
    lines = [
        Declaration.model_validate(declaration_json(lrn, value=value)).model_dump(mode="json") for lrn in LRNS
    ]
    return _ingest_lines(engine, folder, lines)


def _ingest_lines(engine: Engine, folder: Path, lines: list[dict[str, Any]]) -> IngestSummary:
    # One file name in every folder: quarantined records are known by file name, line and text.
    folder.mkdir(exist_ok=True)
    path = folder / "batch.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return ingest_file(engine=engine, path=path, fmt="jsonl")


def _race(
    url: str, tmp_path: Path, ingest: Ingest, *, pause_after: str
) -> tuple[IngestSummary, IngestSummary | Exception]:
    """What two ``ingest`` calls on two engines return, the second started while the first is held just
    after its statement that starts with ``pause_after``, until the second has finished or for
    ``HOLD_SECONDS``; the second's error if it fails."""
    first_engine, second_engine = make_engine(url), make_engine(url)
    second: list[IngestSummary | Exception] = []
    second_started, second_done = threading.Event(), threading.Event()

    def run_second() -> None:
        try:
            second.append(ingest(second_engine, 2.0, tmp_path / "second"))
        except Exception as error:  # returned to the test, which says whether it is expected
            second.append(error)
        finally:
            second_done.set()

    thread = threading.Thread(target=run_second)

    def after_read(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not second_started.is_set() and statement.startswith(pause_after):
            second_started.set()
            thread.start()
            second_done.wait(HOLD_SECONDS)

    event.listen(first_engine, "after_cursor_execute", after_read)
    try:
        first = ingest(first_engine, 1.0, tmp_path / "first")
    finally:
        if second_started.is_set():
            thread.join()
        first_engine.dispose()
        second_engine.dispose()
    assert second_started.is_set(), f"the first ingest never ran {pause_after!r}"
    return first, second[0]


def _count(url: str, table: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count: int = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
    engine.dispose()
    return count


@pytest.mark.parametrize("ingest", [_submit, _upload], ids=["api-submission", "file"])
def test_an_ingest_that_starts_while_another_is_storing_the_same_lrns_amends_them(
    database_url: str, tmp_path: Path, ingest: Ingest
) -> None:
    first, second = _race(database_url, tmp_path, ingest, pause_after=READ_VERSIONS)
    assert isinstance(second, IngestSummary), second
    assert (first.stored, first.amended) == (len(LRNS), 0)
    assert (second.stored, second.amended) == (0, len(LRNS))
    engine = make_engine(database_url)
    with engine.connect() as connection:
        versions = connection.execute(
            select(DeclarationRow.lrn, DeclarationRow.version, DeclarationRow.is_current).order_by(
                DeclarationRow.lrn, DeclarationRow.version
            )
        ).all()
    engine.dispose()
    assert [tuple(v) for v in versions] == [
        (lrn, version, version == 2) for lrn in LRNS for version in (1, 2)
    ]


def test_two_ingests_of_the_same_bad_record_at_once_quarantine_it_once(
    database_url: str, tmp_path: Path
) -> None:
    bad = declaration_json("C-9") | {"date": "2026-13-01"}

    def upload(engine: Engine, _value: float, folder: Path) -> IngestSummary:
        return _ingest_lines(engine, folder, [bad])

    first, second = _race(database_url, tmp_path, upload, pause_after=READ_QUARANTINE)
    assert isinstance(second, IngestSummary), second
    assert (first.quarantined, second.already_quarantined) == (1, 1)
    assert _count(database_url, "quarantine") == 1


def test_two_ingests_of_the_same_outcome_at_once_store_it_once(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    _submit(engine, 1.0, tmp_path)
    engine.dispose()
    outcome = {"lrn": LRNS[0], "recorded_on": "2026-03-05", "fraud": True, "critical_fraud": 1}

    def upload(engine: Engine, _value: float, folder: Path) -> IngestSummary:
        return _ingest_lines(engine, folder, [outcome])

    first, second = _race(database_url, tmp_path, upload, pause_after=READ_OUTCOMES)
    assert isinstance(second, IngestSummary), second
    assert (first.outcomes, second.outcomes, second.outcome_lines) == (1, 0, 1)
    assert _count(database_url, "outcomes") == 1


def test_two_releases_of_a_quarantined_record_at_once_store_it_once(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    _ingest_lines(engine, tmp_path / "source", [declaration_json("C-9") | {"date": "2026-13-01"}])
    (record,) = list_quarantine(engine=engine)
    engine.dispose()

    def release(engine: Engine, value: float, _folder: Path) -> IngestSummary:
        # Two corrections: the second, were it stored, would amend the first.
        return release_quarantined(
            engine=engine, record_id=record.id, changes={"date": f"2026-03-0{value:.0f}"}
        )

    first, second = _race(database_url, tmp_path, release, pause_after=READ_VERSIONS)
    assert first.stored == 1
    assert isinstance(second, IngestError) and "already released" in str(second), second
    assert _count(database_url, "declarations") == 1


def test_a_write_transaction_holds_the_write_lock_from_its_start_and_readers_go_on(tmp_path: Path) -> None:
    path = tmp_path / "locks.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    _submit(engine, 1.0, tmp_path)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with write_transaction(engine) as connection:
        connection.exec_driver_sql("SELECT count(*) FROM declarations").scalar_one()  # only read so far
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM declarations").fetchone() == (len(LRNS),)
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.execute("ROLLBACK")
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()
    engine.dispose()


def _waits(engine: Engine, keys: set[str], *, scope: str) -> bool:
    """Whether ``lock_keys`` in a transaction of its own waits for another's (it gives up after 50 ms)."""
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
            lock_keys(connection, keys, scope=scope)
    except OperationalError as error:
        assert isinstance(error.orig, LockNotAvailable), error
        return True
    return False


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_on_postgresql_lock_keys_locks_each_key_and_more_than_the_maximum_the_whole_scope(
    engine: Engine,
) -> None:
    many = {f"K-{n}" for n in range(ADVISORY_KEYS_MAX + 1)}
    with write_transaction(engine) as holder:
        lock_keys(holder, {"A", "B"}, scope="test")
        assert _waits(engine, {"B", "C"}, scope="test")
        assert not _waits(engine, {"C", "D"}, scope="test")
        assert not _waits(engine, {"A", "B"}, scope="other")
        assert _waits(engine, many, scope="test")
    assert not _waits(engine, {"A", "B"}, scope="test")  # released at commit
    with write_transaction(engine) as holder:
        lock_keys(holder, many, scope="test")
        assert _waits(engine, {"Z"}, scope="test")
        assert not _waits(engine, {"Z"}, scope="other")
