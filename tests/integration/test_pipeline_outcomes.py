"""Inspection outcomes on the pipeline: published to the agency's ``outcomes`` subject, consumed by the
outcomes stage into the store feedback reads, each once; a body that is not an outcome is dead-lettered."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from prometheus_client import generate_latest

from borderwatch.cli.pipeline import processors_for
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory
from borderwatch.ingest.store import load_outcomes
from borderwatch.pipeline.metrics import worker_registry
from borderwatch.pipeline.publish import publish_bodies
from borderwatch.pipeline.topology import Kind, Limits, Stage, Topology
from borderwatch.pipeline.worker import Counts, WorkerConfig, ensure_streams, serve
from tests.conftest import migrated
from tests.integration.pipeline_support import (
    NATS_URL,
    delete_streams,
    jetstream,
    require_nats,
    unique_topology,
    wait_drained,
)

FOUND = {
    "lrn": "OUT-1",
    "recorded_on": "2026-03-05",
    "fraud": True,
    "critical_fraud": 1,
    "findings": "cigarettes",
}


async def _publish_and_consume(
    settings: Settings, topology: Topology, bodies: list[bytes], counts: Counts
) -> int:
    engine = make_engine(settings.database_url)
    async with jetstream() as js:
        await ensure_streams(js, topology)
        published = await publish_bodies(js, topology, bodies, kind=Kind.OUTCOMES)
    processors = processors_for(
        [Stage.OUTCOMES], settings=settings, engine=engine, factory=session_factory(engine), agency="a"
    )
    config = WorkerConfig(
        nats_url=NATS_URL, topology=topology, limits=Limits(ack_wait=20, max_deliver=2), batch=10
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, processors, stop=stop, handle_signals=False, counts=counts))
    try:
        await wait_drained(topology, done=lambda: load_outcomes(engine, agency="a").height >= 1, timeout=60)
    finally:
        stop.set()
        await task
    engine.dispose()
    return published.duplicates


def test_outcomes_published_are_stored_once_for_feedback(tmp_path: Path) -> None:
    require_nats()
    topology = unique_topology("a")
    settings = Settings(database_url=migrated(f"sqlite:///{tmp_path / 'bw.db'}"), data_dir=tmp_path / "data")
    body = json.dumps(FOUND).encode()
    try:
        counts = Counts()
        dropped = asyncio.run(_publish_and_consume(settings, topology, [body, body], counts))
        assert dropped == 1  # the same result published twice: JetStream keeps one
        # the worker's metrics (borderwatch worker --metrics-port) read its counts
        exposed = generate_latest(worker_registry(counts, agency="a", stages=[Stage.OUTCOMES])).decode()
        assert 'borderwatch_worker_messages_processed_total{agency="a",stages="outcomes"} 1.0' in exposed
        engine = make_engine(settings.database_url)
        # a processor given the same result again (a redelivery, or published again after the window)
        processors = processors_for(
            [Stage.OUTCOMES], settings=settings, engine=engine, factory=session_factory(engine), agency="a"
        )
        result = processors[Stage.OUTCOMES]([body, b'{"lrn": "OUT-2", "recorded_on": "someday"}'])
        assert list(result.poison) == [1] and "recorded_on" in result.poison[1]
        stored = load_outcomes(engine, agency="a")
        engine.dispose()
        assert stored["lrn"].to_list() == ["OUT-1"]
        assert stored["fraud"].to_list() == [True]
    finally:
        asyncio.run(delete_streams(topology))
