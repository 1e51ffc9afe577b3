"""Feeding declarations into the pipeline: files (``borderwatch pipeline publish``) and API submissions.

Each declaration is one message on ``PREFIX.AGENCY.in`` with its content key as ``Nats-Msg-Id``: JetStream
drops a copy published again within its de-duplication window, and the workers' effects table makes a later
copy store nothing. At most ``window`` publishes wait for their acknowledgement at once, so a publisher
slows down with the server instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nats.js import JetStreamContext

from borderwatch.core.errors import ConfigError
from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.pipeline.messages import MSG_ID, content_key, declarations_from_frame
from borderwatch.pipeline.topology import Kind, Topology

WINDOW = 256


@dataclass
class Published:
    published: int = 0
    duplicates: int = 0  # dropped by JetStream: the same declaration within the de-duplication window
    keys: list[str] | None = None


def file_bodies(path: Path, *, agency: str) -> Iterator[bytes]:
    """The declarations of a file as message bodies: a JSON Lines file's lines as they are (a bad line is
    published too and ends in the dead-letter subject with its error), a KCS CSV file's declarations as
    canonical JSON."""
    if not path.is_file():
        raise ConfigError(path=str(path), reason="does not exist or is not a file")
    if path.suffix.lower() == ".csv":
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
) -> Published:
    """Publishes ``bodies`` to the agency's ``in`` subject; returns the counts (and the keys, in order, with
    ``keep_keys``)."""
    result = Published(keys=[] if keep_keys else None)
    subject = topology.subject(Kind.IN)
    pending: list[asyncio.Future[object]] = []

    async def settle() -> None:
        for ack in await asyncio.gather(*pending):
            result.published += 1
            if getattr(ack, "duplicate", False):
                result.duplicates += 1
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
