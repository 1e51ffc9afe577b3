"""Every command audits under one actor: ``--as NAME``, else ``$BORDERWATCH_USER``, else the login name."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from borderwatch.access.models import AuditRow
from borderwatch.cli.common import ACTING_USER_ENV, set_acting_user
from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.db.session import make_engine, session_factory, session_scope

CAMERAS = "camera_id,crossing,lane,direction,latitude,longitude\nC1,DOVER,1,in,51.127,1.313\n"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    monkeypatch.delenv(ACTING_USER_ENV, raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    set_acting_user(None)
    get_settings.cache_clear()


def _camera_audits() -> list[tuple[str, dict[str, object]]]:
    engine = make_engine(get_settings().database_url)
    with session_scope(session_factory(engine)) as session:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.resource == "vehicle_camera").order_by(AuditRow.id)
        ).all()
        found = [(row.actor, dict(row.detail or {})) for row in rows]
    engine.dispose()
    return found


def test_a_command_audits_under_the_acting_user(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cameras = tmp_path / "cameras.csv"
    cameras.write_text(CAMERAS)
    assert cli.invoke(app, ["--as", "inspector_7", "vehicles", "cameras", str(cameras)]).exit_code == 0
    monkeypatch.setenv(ACTING_USER_ENV, "analyst_2")
    assert cli.invoke(app, ["vehicles", "cameras", str(cameras)]).exit_code == 0
    monkeypatch.delenv(ACTING_USER_ENV)
    assert cli.invoke(app, ["vehicles", "cameras", str(cameras)]).exit_code == 0
    audits = _camera_audits()
    assert [actor for actor, _ in audits] == ["inspector_7", "analyst_2", getpass.getuser()]
    assert all(detail["via"] == "cli" and detail["cameras"] == 1 for _, detail in audits)
