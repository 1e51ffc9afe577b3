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
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
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
        yield _schema_url(schema)
    finally:
        _drop_schema(admin, schema)
        admin.dispose()


def migrated(url: str) -> str:
    """``url`` after migrating its database to every head."""
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop a test's schema. A connection the test left open inside a transaction (an unclosed result, a
    server thread) holds locks in the schema and would make DROP wait forever, which held CI until its time
    limit: such connections are ended first, and the DROP waits at most a minute."""
    with admin.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '60s'"))
        connection.execute(
            text(
                "SELECT pg_terminate_backend(held.pid) FROM pg_locks AS held "
                "JOIN pg_class AS relation ON relation.oid = held.relation "
                "WHERE relation.relnamespace = to_regnamespace(:schema) AND held.pid <> pg_backend_pid()"
            ),
            {"schema": f'"{schema}"'},
        )
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"


# Migrating a database through every Alembic revision takes seconds (6-9 s on a loaded 2-core machine) and
# most tests want a fresh one. Each test process migrates one template per kind and every test gets a copy:
# a file copy on SQLite; on PostgreSQL the template schema's pg_dump replayed under a new schema name (about a
# third of the migration's time; a database per test from CREATE DATABASE ... TEMPLATE was measured too, but
# its DROP forces a checkpoint that took 3-45 s). Tests of the migrations themselves still migrate from empty.
@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "borderwatch.db"
    migrated(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[tuple[str, str] | None]:
    """(template schema name, its DDL and data as SQL), or None where pg_dump is missing (then each test
    migrates its own schema)."""
    pg_dump = shutil.which("pg_dump")
    if postgres_skip_reason() or pg_dump is None:
        yield None
        return
    with postgres_schema() as url:
        migrated(url)
        schema = url.rsplit("%3D", 1)[1]
        target = make_url(POSTGRES_URL)
        dump = subprocess.run(
            [
                pg_dump,
                "--schema",
                schema,
                "--no-owner",
                "--inserts",
                "--dbname",
                target.set(drivername="postgresql").render_as_string(hide_password=False),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    # psql meta-commands (\restrict, \unrestrict in recent pg_dump) are not SQL
    yield schema, "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))


def _clone_schema(template: tuple[str, str]) -> str:
    import psycopg  # the driver the project uses; it runs a script of many statements in one call

    schema, script = template
    clone = f"t_{uuid.uuid4().hex[:12]}"
    conninfo = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(script.replace(schema, clone).encode())
    return clone


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, migrated database of each kind (a copy of the session's migrated template)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "borderwatch.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    reason = postgres_skip_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    postgres_template: tuple[str, str] | None = request.getfixturevalue("_postgres_template")
    if postgres_template is None:
        with postgres_schema() as url:
            yield migrated(url)
        return
    schema = _clone_schema(postgres_template)
    try:
        yield _schema_url(schema)
    finally:
        admin = create_engine(POSTGRES_URL)
        _drop_schema(admin, schema)
        admin.dispose()


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
