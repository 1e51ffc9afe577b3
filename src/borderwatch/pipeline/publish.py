"""Feeding declarations into the pipeline: files (``borderwatch pipeline publish``) and API submissions.

Each declaration is one message on ``PREFIX.AGENCY.in`` with its content key as ``Nats-Msg-Id``: JetStream
drops a copy published again within its de-duplication window, and the workers' effects table makes a later
copy store nothing. At most ``window`` publishes wait for their acknowledgement at once, so a publisher
slows down with the server instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from borderwatch.core.errors import ConfigError
from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.pipeline.messages import MSG_ID, content_key, declarations_from_frame
from borderwatch.pipeline.topology import Kind, Topology
from borderwatch.pipeline.worker import ensure_streams

WINDOW = 256


@dataclass
class Published:
    published: int = 0
    duplicates: int = 0  # dropped by JetStream: the same declaration within the de-duplication window
    keys: list[str] | None = None
    dropped: list[bool] | None = None  # with keys: whether JetStream dropped each as a duplicate


def file_bodies(path: Path, *, agency: str, raw: bool = False) -> Iterator[bytes]:
    """The declarations of a file as message bodies: a JSON Lines file's lines as they are (a bad line is
    published too and ends in the dead-letter subject with its error), a KCS CSV file's declarations as
    canonical JSON. With ``raw`` every file is read as JSON Lines (outcomes)."""
    if not path.is_file():
        raise ConfigError(path=str(path), reason="does not exist or is not a file")
    if path.suffix.lower() == ".csv" and not raw:
        declarations, _outcomes = read_kcs_frames(path, agency=agency)
        for declaration in declarations_from_frame(declarations):
            yield json.dumps(declaration, separators=(",", ":")).encode()
        return
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                yield line.rstrip(b"\r\n")


async def publish_bodies(
    js: JetStreamContext,
    topology: Topology,
    bodies: Iterable[bytes],
    *,
    window: int = WINDOW,
    keep_keys: bool = False,
    kind: Kind = Kind.IN,
) -> Published:
    """Publishes ``bodies`` to the agency's ``kind`` subject (``in``: declarations; ``outcomes``); returns
    the counts (and the keys, in order, with ``keep_keys``)."""
    result = Published(keys=[] if keep_keys else None, dropped=[] if keep_keys else None)
    subject = topology.subject(kind)
    pending: list[asyncio.Future[object]] = []

    async def settle() -> None:
        for ack in await asyncio.gather(*pending):
            duplicate = bool(getattr(ack, "duplicate", False))
            result.published += 1
            result.duplicates += duplicate
            if result.dropped is not None:
                result.dropped.append(duplicate)
        pending.clear()

    for body in bodies:
        key = content_key(body)
        if result.keys is not None:
            result.keys.append(key)
        pending.append(asyncio.ensure_future(js.publish(subject, body, headers={MSG_ID: key})))
        if len(pending) >= window:
            await settle()
    await settle()
    return result


class Publisher:
    """Publishing from synchronous code (the API's request threads): one NATS connection, kept by an event
    loop running in a thread of its own, started at the first publish and stopped by :meth:`close`."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Client | None = None
        self._ready: set[str] = set()  # topologies whose streams exist

    def _start(self) -> tuple[asyncio.AbstractEventLoop, Client]:
        with self._lock:
            if self._loop is None or self._client is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="borderwatch-nats", daemon=True)
                thread.start()
                try:
                    client = asyncio.run_coroutine_threadsafe(nats.connect(self.url), loop).result(
                        self.timeout
                    )
                except BaseException:
                    loop.call_soon_threadsafe(loop.stop)
                    thread.join()
                    raise
                self._loop, self._thread, self._client = loop, thread, client
            return self._loop, self._client

    def publish(self, topology: Topology, bodies: Iterable[bytes]) -> Published:
        """Publishes ``bodies`` as :func:`publish_bodies` does; returns the counts and keys."""
        loop, client = self._start()

        async def work() -> Published:
            js = client.jetstream()
            name = f"{topology.prefix}.{topology.agency}"
            if name not in self._ready:
                await ensure_streams(js, topology)
                self._ready.add(name)
            return await publish_bodies(js, topology, list(bodies), keep_keys=True)

        return asyncio.run_coroutine_threadsafe(work(), loop).result(self.timeout)

    def close(self) -> None:
        with self._lock:
            loop, thread, client = self._loop, self._thread, self._client
            self._loop = self._thread = self._client = None
        if loop is None or thread is None:
            return
        if client is not None:
            asyncio.run_coroutine_threadsafe(client.drain(), loop).result(self.timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
