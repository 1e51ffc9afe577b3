"""Helpers for the pipeline tests: a namespace of streams of their own on the real NATS server (deleted
after), generated declarations, and waiting for the pipeline to drain."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import date
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError as JsNotFound
from sqlalchemy import Engine, text

from borderwatch.pipeline.publish import file_bodies
from borderwatch.pipeline.status import pipeline_status
from borderwatch.pipeline.topology import Kind, Topology

NATS_URL = os.environ.get("BORDERWATCH_TEST_NATS_URL", "nats://127.0.0.1:4222")


def nats_reachable() -> bool:
    host, port = NATS_URL.removeprefix("nats://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def require_nats() -> None:
    if not nats_reachable():
        pytest.skip(f"no NATS server at {NATS_URL}")


def unique_topology(agency: str = "a") -> Topology:
    return Topology(prefix=f"t{uuid.uuid4().hex[:10]}", agency=agency)


@asynccontextmanager
async def jetstream() -> AsyncIterator[JetStreamContext]:
    client = await nats.connect(NATS_URL)
    try:
        yield client.jetstream()
    finally:
        await client.drain()


async def delete_streams(topology: Topology) -> None:
    async with jetstream() as js:
        for kind in Kind:
            with suppress(JsNotFound):
                await js.delete_stream(topology.stream(kind))


def generated_bodies(folder: Path, count: int, *, seed: int, agency: str = "a") -> list[bytes]:
    """``count`` generated declarations as message bodies, read from a generated KCS file as
    ``borderwatch pipeline publish`` reads it (canonical JSON)."""
    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

    traffic = generate_traffic(
        GeneratorConfig(declarations=count, seed=seed, start=date(2026, 2, 10), days=10)
    )
    path = folder / f"traffic-{seed}.csv"
    write_traffic(traffic, path)
    return list(file_bodies(path, agency=agency))


async def wait_drained(
    topology: Topology,
    *,
    done: Callable[[], bool],
    timeout: float,
    poll: float = 0.5,
    stalled: float = 60.0,
) -> None:
    """Until every stage consumer has no lag and ``done()`` holds; fails after ``timeout`` seconds, or
    sooner when nothing is left to deliver for ``stalled`` seconds and ``done()`` still does not hold (what
    went missing is in the dead-letter stream then: waiting longer cannot help)."""
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    async with jetstream() as js:
        while True:
            status = await pipeline_status(js, topology)
            finished = done()
            if status.lag == 0 and finished:
                return
            now = time.monotonic()
            idle_since = (idle_since or now) if status.lag == 0 else None
            if idle_since is not None and now - idle_since > stalled:
                raise AssertionError(f"pipeline idle for {stalled}s without finishing: {status}")
            if now > deadline:
                raise AssertionError(f"pipeline not drained after {timeout}s: {status}")
            await asyncio.sleep(poll)


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())
