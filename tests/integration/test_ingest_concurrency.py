"""Two ingests of the same declarations into one SQLite file at the same time: the later one amends.

An ingest reads which versions of its LRNs are stored, then writes the next ones. Should another ingest
commit in between, the first would write versions that now exist (a UNIQUE (lrn, version) failure, a 500
on the API). The first test pins that interleaving instead of hoping for it: the first ingest is held just
before its first write until the second has finished, or for ``HOLD_SECONDS`` when the second cannot finish
because the first holds SQLite's write lock, as it must. The second shows that lock itself: held from the
transaction's BEGIN, while readers go on.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from borderwatch.db.session import make_engine, migrate, write_transaction
from borderwatch.ingest.models import DeclarationRow
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import IngestSummary, ingest_declarations, ingest_file
from tests.integration.api_support import declaration_json

HOLD_SECONDS = 1.0
LRNS = ("C-1", "C-2", "C-3")

Ingest = Callable[[Engine, float, Path], IngestSummary]


def _submit(engine: Engine, value: float, _folder: Path) -> IngestSummary:
    declarations = [Declaration.model_validate(declaration_json(lrn, value=value)) for lrn in LRNS]
    return ingest_declarations(engine=engine, declarations=declarations)


def _upload(engine: Engine, value: float, folder: Path) -> IngestSummary:
    path = folder / f"{value}.jsonl"
    lines = (Declaration.model_validate(declaration_json(lrn, value=value)).model_dump_json() for lrn in LRNS)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ingest_file(engine=engine, path=path, fmt="jsonl")


@pytest.mark.parametrize("ingest", [_submit, _upload], ids=["api-submission", "file"])
def test_an_ingest_that_starts_while_another_is_storing_the_same_lrns_amends_them(
    tmp_path: Path, ingest: Ingest
) -> None:
    url = f"sqlite:///{tmp_path / 'concurrent.db'}"
    first_engine, second_engine = make_engine(url), make_engine(url)
    migrate(first_engine)
    second: dict[str, Any] = {}
    second_started, second_done = threading.Event(), threading.Event()

    def run_second() -> None:
        try:
            second["summary"] = ingest(second_engine, 2.0, tmp_path)
        except Exception as error:  # reported by the assertion below
            second["error"] = error
        finally:
            second_done.set()

    thread = threading.Thread(target=run_second)

    def before_first_write(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not second_started.is_set() and statement.startswith(("INSERT", "UPDATE")):
            second_started.set()
            thread.start()
            second_done.wait(HOLD_SECONDS)

    event.listen(first_engine, "before_cursor_execute", before_first_write)
    try:
        first = ingest(first_engine, 1.0, tmp_path)
    finally:
        if second_started.is_set():
            thread.join()
    assert "error" not in second, second.get("error")
    assert (first.stored, first.amended) == (len(LRNS), 0)
    assert (second["summary"].stored, second["summary"].amended) == (0, len(LRNS))
    with first_engine.connect() as connection:
        versions = connection.execute(
            select(DeclarationRow.lrn, DeclarationRow.version, DeclarationRow.is_current).order_by(
                DeclarationRow.lrn, DeclarationRow.version
            )
        ).all()
    assert [tuple(v) for v in versions] == [
        (lrn, version, version == 2) for lrn in LRNS for version in (1, 2)
    ]
    first_engine.dispose()
    second_engine.dispose()


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
