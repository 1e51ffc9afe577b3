"""Issue #22, defect 6: the audit log is append-only in fact.

A hash chain on both databases (``borderwatch audit verify`` names the first bad row after a row is changed,
removed or forged), triggers on SQLite that refuse UPDATE, DELETE and INSERT OR REPLACE, and on PostgreSQL
an application role that may only INSERT and SELECT on the log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from typer.testing import CliRunner, Result

from borderwatch.access import audit
from borderwatch.cli.main import app as cli
from borderwatch.core.settings import Settings, get_settings
from borderwatch.db.session import make_engine, migrate_for, session_factory, session_scope
from tests.integration.api_support import build_world, client_for

APP_LOGIN = "borderwatch_test_app"


def _append(engine: Engine, count: int, actor: str = "ana") -> None:
    factory = session_factory(engine)
    for i in range(count):
        with session_scope(factory) as session:
            audit.record(
                db_session=session,
                actor=actor,
                agency="a",
                action="read",
                resource="case",
                resource_id=str(i),
                detail={"n": i, "share": 0.25, "text": "Zoë's — note"},
            )


def _verify(engine: Engine) -> audit.ChainReport:
    with engine.connect() as connection:
        return audit.verify(connection=connection)


def _as_owner_without_triggers(engine: Engine, statement: str) -> None:
    """Tamper as someone who owns the database: the triggers are no obstacle to them."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text(statement))
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            for name in ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace"):
                connection.execute(text(f"DROP TRIGGER {name}"))
            connection.execute(text(statement))


def _cli_verify(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, ["audit", "verify"])
    finally:
        get_settings.cache_clear()


FORGED = (
    "INSERT INTO audit_log (id, at, actor, agency, action, resource, allowed, prev_hash, row_hash) "
    "VALUES (6, '2026-01-01 00:00:00', 'mallory', 'a', 'read', 'case', true, "
    "'{prev}', '{digest}')"
)


@pytest.mark.parametrize(
    ("tampering", "first_bad"),
    [
        ("UPDATE audit_log SET actor = 'someone else' WHERE id = 3", 3),
        ("DELETE FROM audit_log WHERE id = 2", 3),
        ("FORGE", 6),
    ],
    ids=["update", "delete", "forge"],
)
def test_verify_names_the_first_bad_row_after_tampering(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, tampering: str, first_bad: int
) -> None:
    _append(engine, 5)
    report = _verify(engine)
    assert report.ok and report.rows == 5
    intact = _cli_verify(settings, monkeypatch)
    assert intact.exit_code == 0 and "5 rows" in intact.output and "intact" in intact.output
    if tampering == "FORGE":
        with engine.connect() as connection:
            tail = connection.execute(text("SELECT row_hash FROM audit_log WHERE id = 5")).scalar_one()
        # the forger links to the real tail but cannot give a hash that matches what it wrote
        tampering = FORGED.format(prev=tail, digest="f" * 64)
        with engine.begin() as connection:  # an INSERT: no trigger stops it
            connection.execute(text(tampering))
    else:
        _as_owner_without_triggers(engine, tampering)
    report = _verify(engine)
    assert report.first_bad == first_bad and report.reason is not None
    assert f"row {first_bad} " in report.reason

    result = _cli_verify(settings, monkeypatch)
    assert result.exit_code == 1, result.output
    assert f"row {first_bad} " in result.output


def test_concurrent_appends_keep_one_valid_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            _append(engine, 12, actor=name)
        except BaseException as error:  # reported below; a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"user{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = _verify(engine)
    assert report.ok, report.reason
    assert report.rows == 48
    with engine.connect() as connection:
        ids = connection.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
    assert ids == list(range(1, 49))


def test_sqlite_triggers_refuse_update_delete_and_insert_or_replace(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's triggers; PostgreSQL's role is tested below")
    _append(engine, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'x' WHERE id = 1",
        "DELETE FROM audit_log WHERE id = 1",
        "INSERT OR REPLACE INTO audit_log (id, at, actor, action, resource, allowed) "
        "VALUES (1, '2026-01-01', 'mallory', 'read', 'case', 1)",
        "REPLACE INTO audit_log (id, at, actor, action, resource, allowed) "
        "VALUES (2, '2026-01-01', 'mallory', 'read', 'case', 1)",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(engine).ok


@pytest.fixture
def app_url(database_url: str) -> Iterator[str]:
    """The URL of a login in ``borderwatch_app`` (the role the migration creates), on the test's schema."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's roles")
    owner = make_engine(database_url)
    with owner.begin() as connection:
        # another test may create the same server-wide login at the same moment
        connection.execute(
            text(
                "DO $$ BEGIN "
                f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_LOGIN}') THEN "
                f"BEGIN CREATE ROLE {APP_LOGIN} LOGIN IN ROLE borderwatch_app; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END; "
                "END IF; END $$"
            )
        )
    owner.dispose()
    yield make_url(database_url).set(username=APP_LOGIN).render_as_string(hide_password=False)


def test_postgres_app_role_may_only_insert_and_select_on_the_audit_log(app_url: str) -> None:
    engine = make_engine(app_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar_one() == APP_LOGIN
            assert not connection.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar_one()
        _append(engine, 3)  # INSERT (and SELECT of the tail) as the app
        assert _verify(engine).ok
        for statement in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "DROP TRIGGER audit_log_append_only ON audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
        ):
            with (
                pytest.raises(ProgrammingError, match=r"permission denied|must be owner"),
                engine.begin() as c,
            ):
                c.execute(text(statement))
        assert _verify(engine).rows == 3
    finally:
        engine.dispose()


def test_the_workspace_runs_as_the_postgres_app_role(app_url: str, database_url: str, tmp_path: Path) -> None:
    # The owner (the migrating role) sets up users; the app role serves, migrating as the owner.
    world = build_world(Settings(database_url=database_url, data_dir=tmp_path / "data"))
    world.settings = Settings(
        database_url=app_url, migration_database_url=database_url, data_dir=tmp_path / "data"
    )
    with client_for(world.settings) as client:
        assert client.get("/api/me", headers=world.auth("admin_a")).json()["username"] == "admin_a"
        assert client.post("/api/users/analyst_a/disable", headers=world.auth("admin_a")).status_code == 200
        assert client.get("/api/cases/12345", headers=world.auth("supervisor_b")).status_code == 404
        listed = client.get("/api/audit?resource=user", headers=world.auth("admin_a")).json()
        assert [(e["actor"], e["resource_id"]) for e in listed["items"]] == [("admin_a", "analyst_a")]
    engine = make_engine(app_url)
    try:
        migrate_for(world.settings, engine)  # as the owner: the app role could not change the schema
        assert _verify(engine).ok
        with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
    finally:
        engine.dispose()
