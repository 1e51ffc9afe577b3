"""Shared fixtures: a migrated database on SQLite and, where a server is reachable, on PostgreSQL.

Every test that takes ``engine`` (or ``session_factory``) runs against both databases. PostgreSQL tests get a
schema of their own, so they can run in parallel; they are skipped with the reason when no server answers,
unless ``BORDERWATCH_REQUIRE_POSTGRES=1`` (as in CI), where that is an error.
"""

from __future__ import annotations

import os

# Rich sizes its tables from COLUMNS when there is no terminal (as in CI); give the CLI tests a wide one so
# that what they look for is not cut to "…". Set before any console is created.
os.environ["COLUMNS"] = "200"
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, migrate
from borderwatch.db.session import session_factory as make_session_factory
from tests import hypothesis_profiles

hypothesis_profiles.load()

POSTGRES_URL = os.environ.get(
    "BORDERWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("BORDERWATCH_REQUIRE_POSTGRES") == "1"
# A worktree elsewhere than beside shared/ names it with BORDERWATCH_SHARED_DATA.
SHARED_DATA = Path(
    os.environ.get("BORDERWATCH_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


def _postgres_unreachable_reason() -> str | None:
    try:
        probe = create_engine(POSTGRES_URL)
        with probe.connect() as connection:
            connection.execute(text("select 1"))
        probe.dispose()
    except Exception as error:  # any failure to connect means: no server to test against
        return f"no PostgreSQL at {POSTGRES_URL}: {type(error).__name__}"
    return None


_PG_REASON: list[str | None] = []


def postgres_skip_reason() -> str | None:
    if not _PG_REASON:
        _PG_REASON.append(_postgres_unreachable_reason())
    return _PG_REASON[0]


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL to an empty schema of its own on the test PostgreSQL server, dropped afterwards.

    Skips with the reason when no server answers, or fails under ``BORDERWATCH_REQUIRE_POSTGRES=1`` (CI).
    """
    reason = postgres_skip_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def migrated(url: str) -> str:
    """``url`` after migrating its database to every head."""
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, migrated database of each kind."""
    if request.param == "sqlite":
        yield migrated(f"sqlite:///{tmp_path / 'borderwatch.db'}")
        return
    with postgres_schema() as url:
        yield migrated(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def kcs_dir() -> Path:
    path = SHARED_DATA / "kcs"
    if not (path / "df_syn_train_eng.csv").exists():
        pytest.skip(f"KCS data not found at {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
