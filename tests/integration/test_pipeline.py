"""The NATS JetStream pipeline against the real server, on SQLite and PostgreSQL: every published declaration
is stored, scored and given a lane once, whatever is delivered twice or republished; a bad message ends in
the dead-letter stream with its error while the rest flow, and is replayed after the fix."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from borderwatch.cli.pipeline import processors_for
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory
from borderwatch.lanes.policy import agency_policy_path
from borderwatch.pipeline.dead import list_dead, replay
from borderwatch.pipeline.publish import publish_bodies
from borderwatch.pipeline.status import pipeline_status
from borderwatch.pipeline.topology import Limits, Stage, Topology
from borderwatch.pipeline.worker import Counts, WorkerConfig, ensure_streams, serve
from borderwatch.scoring.registry import latest_scores
from tests.integration.api_support import build_world, client_for, declaration_json, register, train_model
from tests.integration.pipeline_support import (
    NATS_URL,
    count,
    delete_streams,
    generated_bodies,
    jetstream,
    require_nats,
    unique_topology,
    wait_drained,
)

pytestmark = pytest.mark.nats


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model(tmp_path_factory.mktemp("model"))


@pytest.fixture
def topology() -> Iterator[Topology]:
    require_nats()
    topology = unique_topology()
    yield topology
    asyncio.run(delete_streams(topology))


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


async def _publish(topology: Topology, bodies: list[bytes]) -> tuple[int, int]:
    async with jetstream() as js:
        await ensure_streams(js, topology)
        result = await publish_bodies(js, topology, bodies)
    return result.published, result.duplicates


async def _run_until_drained(
    settings: Settings,
    engine: Engine,
    topology: Topology,
    *,
    done_when: str,
    expected: int,
    max_deliver: int = 3,
) -> Counts:
    """All stages in this process until the pipeline is drained and ``done_when`` counts ``expected``."""
    processors = processors_for(
        list(Stage),
        settings=settings,
        engine=engine,
        factory=session_factory(engine),
        agency=topology.agency,
    )
    config = WorkerConfig(
        nats_url=NATS_URL, topology=topology, limits=Limits(ack_wait=20, max_deliver=max_deliver), batch=40
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, processors, stop=stop, handle_signals=False))
    try:
        await wait_drained(topology, done=lambda: count(engine, done_when) >= expected, timeout=120)
    finally:
        stop.set()
        counts = await task
    return counts


def test_published_declarations_are_stored_scored_and_laned_once(
    settings: Settings, engine: Engine, topology: Topology, model_path: Path, tmp_path: Path
) -> None:
    version = register(settings, model_path, topology.agency)
    bodies = generated_bodies(tmp_path, 160, seed=11)
    poison = b'{"lrn": "BAD-1", "date": "2026-13-01", "office": "30", "items": []}'
    published, duplicates = asyncio.run(_publish(topology, [*bodies, poison, b"not json at all"]))
    assert (published, duplicates) == (162, 0)

    counts = asyncio.run(
        _run_until_drained(
            settings, engine, topology, done_when="select count(*) from lane_decisions", expected=len(bodies)
        )
    )
    assert counts.dead == 2
    assert count(engine, "select count(*) from risk_scores") == len(bodies)
    assert count(engine, "select count(distinct lrn) from risk_scores") == len(bodies)
    assert count(engine, "select count(*) from lane_decisions where is_current") == len(bodies)
    with session_factory(engine)() as session:
        scores = latest_scores(session=session, agency=topology.agency)
    assert set(scores["model_version"].to_list()) == {version}
    assert scores["score"].min() >= 0 and scores["score"].max() <= 100  # type: ignore[operator]

    async def dead() -> list[str]:
        async with jetstream() as js:
            return [letter.error for letter in await list_dead(js, topology)]

    errors = asyncio.run(dead())
    assert len(errors) == 2
    assert any("declaration BAD-1" in error and "field date" in error for error in errors), errors
    assert any("not JSON" in error or "field" in error for error in errors), errors

    # The same file again: JetStream drops every copy (same Nats-Msg-Id), nothing new is stored.
    assert asyncio.run(_publish(topology, bodies)) == (len(bodies), len(bodies))
    # ...and even a copy JetStream lets through (past its window, simulated by another message id) stores
    # nothing: the ingest service's content hash and the effects table.
    again = [b" " + body for body in bodies[:20]]  # other bytes, same declaration: same key
    asyncio.run(_publish(topology, again))
    asyncio.run(
        _run_until_drained(
            settings, engine, topology, done_when="select count(*) from risk_scores", expected=0
        )
    )
    assert count(engine, "select count(*) from risk_scores") == len(bodies)
    assert count(engine, "select count(*) from lane_decisions") == len(bodies)


def test_a_failing_stage_dead_letters_and_replays_after_the_fix(
    settings: Settings, engine: Engine, topology: Topology, model_path: Path, tmp_path: Path
) -> None:
    register(settings, model_path, topology.agency)
    bodies = generated_bodies(tmp_path, 30, seed=12)
    asyncio.run(_publish(topology, bodies))
    # A broken lane policy file: selection fails at every delivery, the messages end dead-lettered with the
    # error, the declarations themselves are stored.
    policy = agency_policy_path(settings.data_dir, topology.agency)
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text("red: [this is not a capacity\n")
    counts = asyncio.run(
        _run_until_drained(
            settings,
            engine,
            topology,
            done_when="select count(*) from declarations",
            expected=30,
            max_deliver=2,
        )
    )
    assert counts.dead == 30 and counts.retried >= 1
    assert count(engine, "select count(*) from risk_scores") == 0

    async def dead_then_replay() -> tuple[list[str], int]:
        async with jetstream() as js:
            letters = await list_dead(js, topology)
            policy.unlink()  # the fix
            return [letter.error for letter in letters], await replay(js, topology)

    errors, replayed = asyncio.run(dead_then_replay())
    assert replayed == 30
    assert all("ConfigError" in error and str(policy) in error for error in errors), errors[:3]
    asyncio.run(
        _run_until_drained(
            settings, engine, topology, done_when="select count(*) from lane_decisions", expected=30
        )
    )
    assert count(engine, "select count(*) from risk_scores") == 30
    assert count(engine, "select count(*) from lane_decisions") == 30

    async def dead_left() -> int:
        async with jetstream() as js:
            return len(await list_dead(js, topology))

    assert asyncio.run(dead_left()) == 0


def _worker(settings: Settings, topology: Topology, log: Path) -> subprocess.Popen[bytes]:
    """A ``borderwatch worker --stage all`` process, as an operator starts one."""
    env = {
        **os.environ,
        "BORDERWATCH_DATABASE_URL": settings.database_url,
        "BORDERWATCH_DATA_DIR": str(settings.data_dir),
        "BORDERWATCH_NATS_URL": NATS_URL,
        "BORDERWATCH_PIPELINE_PREFIX": topology.prefix,
        "BORDERWATCH_AGENCY": topology.agency,
        "BORDERWATCH_PIPELINE_BATCH": "25",
        # a killed worker's messages come back after this many seconds
        "BORDERWATCH_PIPELINE_ACK_WAIT": "4",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "borderwatch.cli.main", "worker", "--stage", "all"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


FAULT_DECLARATIONS = int(os.environ.get("BORDERWATCH_PIPELINE_FAULT_N", "300"))


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    settings: Settings, engine: Engine, topology: Topology, model_path: Path, tmp_path: Path
) -> None:
    """Two workers; one is killed with SIGKILL while it holds a batch and started again: every declaration
    ends scored and laned exactly once. Then SIGTERM stops both cleanly (exit 0, nothing left in flight)."""
    register(settings, model_path, topology.agency)
    bodies = generated_bodies(tmp_path, FAULT_DECLARATIONS, seed=13)
    total = len(bodies)
    asyncio.run(_publish(topology, bodies))
    log = tmp_path / "workers.log"
    workers = [_worker(settings, topology, log), _worker(settings, topology, log)]
    try:
        # generous bounds: the machine running the suite may be shared and loaded many times over
        deadline = time.monotonic() + 600
        while count(engine, "select count(*) from risk_scores") < total // 4:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert all(w.poll() is None for w in workers), log.read_text()[-3000:]
            time.sleep(0.2)
        workers[0].kill()  # SIGKILL: no chance to finish, ack or say goodbye
        assert workers[0].wait(timeout=10) == -signal.SIGKILL
        killed_at = count(engine, "select count(*) from risk_scores")
        assert killed_at < total, "the workers finished before one could be killed: raise the count"
        workers[0] = _worker(settings, topology, log)
        while (
            log.read_text().count(" for a at ") < 3
        ):  # the new worker is up (SIGTERM would find it importing)
            assert time.monotonic() < deadline + 300, log.read_text()[-3000:]
            time.sleep(0.2)
        asyncio.run(
            wait_drained(
                topology,
                done=lambda: count(engine, "select count(*) from lane_decisions") >= total,
                timeout=900,
            )
        )
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        assert [worker.wait(timeout=60) for worker in workers] == [0, 0], log.read_text()[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert count(engine, "select count(*) from risk_scores") == total
    assert count(engine, "select count(distinct lrn) from risk_scores") == total
    assert count(engine, "select count(*) from lane_decisions") == total
    assert count(engine, "select count(*) from pipeline_effects where stage = 'score'") == total

    async def in_flight() -> int:
        async with jetstream() as js:
            return (await pipeline_status(js, topology)).lag

    assert asyncio.run(in_flight()) == 0
    assert "stopped:" in log.read_text()  # the SIGTERMed workers said what they did before exiting


def test_the_api_queues_on_the_pipeline_and_reports_when_done(
    settings: Settings, engine: Engine, topology: Topology, model_path: Path
) -> None:
    """With BORDERWATCH_PIPELINE=nats a submission is published, answered 202 with where to follow it; the job
    endpoint and its server-sent events report it done once a worker has stored, scored and laned it."""
    queued = settings.model_copy(
        update={"pipeline": "nats", "nats_url": NATS_URL, "pipeline_prefix": topology.prefix}
    )
    world = build_world(queued, agencies=(topology.agency,))
    register(queued, model_path, topology.agency)
    with client_for(queued) as client:
        auth = world.auth(f"analyst_{topology.agency}")
        response = client.post("/api/declarations", json=declaration_json("Q-1", value=10.0), headers=auth)
        assert response.status_code == 202, response.text
        one = response.json()
        assert one["status"] == "queued" and one["duplicate"] is False and len(one["key"]) == 64
        assert one["result"] == "/api/declarations/Q-1"
        assert client.get(one["progress"], headers=auth).json()["status"] == "queued"
        assert count(engine, "select count(*) from declarations") == 0  # nothing stored by the request
        batch = [declaration_json(f"Q-{i}", value=100.0 * i) for i in range(2, 6)]
        batch_response = client.post("/api/declarations/batch", json=batch, headers=auth)
        assert batch_response.status_code == 202, batch_response.text
        assert batch_response.json()["queued"] == 4
        again = client.post(
            "/api/declarations", json=declaration_json("Q-1", value=10.0), headers=auth
        ).json()
        assert again["duplicate"] is True and again["key"] == one["key"]

        asyncio.run(
            _run_until_drained(
                queued, engine, topology, done_when="select count(*) from lane_decisions", expected=5
            )
        )
        done = client.get(one["progress"], headers=auth).json()
        assert done == {"key": one["key"], "status": "done", "lrn": "Q-1", "result": "/api/declarations/Q-1"}
        events = client.get(one["events"], headers=auth)
        assert events.headers["content-type"].startswith("text/event-stream")
        data = [json.loads(line[5:]) for line in events.text.splitlines() if line.startswith("data:")]
        assert data, events.text
        assert data == [done]  # already done when asked: one event, and the stream ends
        declaration = client.get("/api/declarations/Q-1", headers=auth).json()
        assert declaration["latest_score"]["score"] is not None
    assert count(engine, "select count(*) from risk_scores") == 5
