"""The pipeline's dead letters in the API and the workspace: supervisors list them with their error and
re-queue one (audited); other roles may not. Real NATS; the database kind does not matter (SQLite)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.core.settings import Settings, get_settings
from borderwatch.db.session import make_engine
from borderwatch.pipeline.messages import ERROR_HEADER, KEY_HEADER, MSG_ID, STAGE_HEADER, SUBJECT_HEADER
from borderwatch.pipeline.topology import Kind, Stage, Topology
from borderwatch.pipeline.worker import ensure_streams
from tests.conftest import migrated
from tests.integration.api_support import PASSWORD, build_world, client_for
from tests.integration.pipeline_support import delete_streams, jetstream, require_nats, unique_topology


async def _dead_letter(topology: Topology) -> int:
    async with jetstream() as js:
        await ensure_streams(js, topology)
        ack = await js.publish(
            topology.subject(Kind.DEAD, Stage.INGEST),
            b'{"lrn": "BAD-1", "declared_on": "not a date"}',
            headers={
                STAGE_HEADER: "ingest",
                SUBJECT_HEADER: topology.subject(Kind.IN),
                ERROR_HEADER: "record BAD-1: field declared_on: not a date",
                KEY_HEADER: "k" * 64,
                MSG_ID: "dead-test-1",
            },
        )
        return int(ack.seq)


async def _waiting(topology: Topology) -> int:
    async with jetstream() as js:
        return int((await js.stream_info(topology.stream(Kind.IN))).state.messages)


def test_supervisors_see_and_requeue_dead_letters(tmp_path: Path) -> None:
    require_nats()
    topology = unique_topology("a")
    settings = Settings(
        database_url=migrated(f"sqlite:///{tmp_path / 'bw.db'}"),
        data_dir=tmp_path / "data",
        pipeline="nats",
        pipeline_prefix=topology.prefix,
    )
    world = build_world(settings, with_password=("supervisor_a",))
    sequence = asyncio.run(_dead_letter(topology))
    try:
        with client_for(settings) as client:
            assert client.get("/api/pipeline/dead", headers=world.auth("analyst_a")).status_code == 403
            listed = client.get("/api/pipeline/dead", headers=world.auth("supervisor_a"))
            assert listed.status_code == 200, listed.text
            [item] = listed.json()["items"]
            assert (item["sequence"], item["lrn"], item["stage"]) == (sequence, "BAD-1", "ingest")
            assert "declared_on" in item["error"] and item["time"]
            # the other agency's supervisor sees none of a's
            assert client.get("/api/pipeline/dead", headers=world.auth("supervisor_b")).json()["items"] == []

            # the workspace page, and its re-queue button
            page = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            client.post(
                "/login",
                data={"username": "supervisor_a", "password": PASSWORD, "csrf_token": token.group(1)},
            )
            shown = client.get("/pipeline/dead")
            assert shown.status_code == 200
            assert "BAD-1" in shown.text and "not a date" in shown.text
            form = re.search(r'name="csrf_token" value="([^"]+)"', shown.text)
            assert form is not None and f"/pipeline/dead/{sequence}/requeue" in shown.text
            done = client.post(
                f"/pipeline/dead/{sequence}/requeue",
                data={"csrf_token": form.group(1)},
                follow_redirects=False,
            )
            assert done.status_code == 303, done.text
            assert client.get("/api/pipeline/dead", headers=world.auth("supervisor_a")).json()["items"] == []
            again = client.post(f"/api/pipeline/dead/{sequence}/requeue", headers=world.auth("supervisor_a"))
            assert again.status_code == 404
        assert asyncio.run(_waiting(topology)) == 1  # back on the stage's input
        engine = make_engine(settings.database_url)
        with engine.connect() as connection:
            audited = connection.execute(
                text(
                    "SELECT actor, action, resource_id FROM audit_log WHERE resource = 'pipeline' ORDER BY id"
                )
            ).all()
        engine.dispose()
        assert ("supervisor_a", "update", f"dead {sequence}") in [tuple(a) for a in audited]
    finally:
        asyncio.run(delete_streams(topology))


def test_the_replay_command_is_audited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_nats()
    topology = unique_topology("default")
    url = migrated(f"sqlite:///{tmp_path / 'bw.db'}")
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", url)
    monkeypatch.setenv("BORDERWATCH_PIPELINE_PREFIX", topology.prefix)
    monkeypatch.setenv("BORDERWATCH_USER", "ops")
    get_settings.cache_clear()
    sequence = asyncio.run(_dead_letter(topology))
    try:
        result = CliRunner().invoke(app, ["pipeline", "replay", str(sequence)])
        assert result.exit_code == 0, result.output
        assert "replayed 1 dead letters" in result.output
        assert asyncio.run(_waiting(topology)) == 1
        engine = make_engine(url)
        with engine.connect() as connection:
            audited = connection.execute(
                text("SELECT actor, resource, resource_id FROM audit_log WHERE resource = 'pipeline'")
            ).all()
        engine.dispose()
        assert [tuple(a) for a in audited] == [("ops", "pipeline", f"dead {sequence}")]
    finally:
        get_settings.cache_clear()
        asyncio.run(delete_streams(topology))
