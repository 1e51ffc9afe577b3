"""The dead-letter subjects: messages that kept failing, kept with their error, listed and replayed.

A dead letter is the original body, published to ``PREFIX.AGENCY.dead.STAGE`` with headers saying where it
came from (``Bw-Subject``), why it failed (``Bw-Error``), its key and how often it was delivered. Replaying
publishes the body again to its original subject (under a new message id, so JetStream does not drop it as
a duplicate of the first) and deletes the dead letter.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError as JsNotFound

from borderwatch.pipeline.messages import (
    DELIVERIES_HEADER,
    ERROR_HEADER,
    KEY_HEADER,
    MSG_ID,
    STAGE_HEADER,
    SUBJECT_HEADER,
    content_key,
)
from borderwatch.pipeline.topology import Kind, Stage, Topology

_HEADER_LIMIT = 2000
T = TypeVar("T")


def _header_text(text: str) -> str:
    """A header value: one line (NATS headers cannot hold line breaks), bounded."""
    return " ".join(text.split())[:_HEADER_LIMIT]


async def dead_letter(
    js: JetStreamContext, topology: Topology, *, stage: Stage, message: Msg, error: str
) -> None:
    metadata = message.metadata
    sequence = metadata.sequence.stream if metadata.sequence else 0
    headers = {
        STAGE_HEADER: stage.value,
        SUBJECT_HEADER: message.subject,
        ERROR_HEADER: _header_text(error) or "unknown error",
        KEY_HEADER: (message.headers or {}).get(MSG_ID) or content_key(message.data),
        DELIVERIES_HEADER: str(metadata.num_delivered or 1),
        # one dead letter per message of the stream, however often its last delivery is retried
        MSG_ID: f"dead.{message.subject}.{sequence}",
    }
    await js.publish(topology.subject(Kind.DEAD, stage), message.data, headers=headers)


@dataclass(frozen=True)
class DeadLetter:
    sequence: int
    stage: str
    subject: str
    error: str
    key: str
    deliveries: int
    time: datetime | None
    body: bytes


async def list_dead(js: JetStreamContext, topology: Topology, *, limit: int = 1000) -> list[DeadLetter]:
    """The dead letters of the agency, oldest first (at most ``limit``)."""
    stream = topology.stream(Kind.DEAD)
    state = (await js.stream_info(stream)).state
    found: list[DeadLetter] = []
    sequence = state.first_seq
    while sequence <= state.last_seq and len(found) < limit:
        try:
            raw = await js.get_msg(
                stream, seq=sequence, subject=topology.subject(Kind.DEAD) + ".>", next=True
            )
        except JsNotFound:
            break
        headers = raw.headers or {}
        found.append(
            DeadLetter(
                sequence=raw.seq or sequence,
                stage=headers.get(STAGE_HEADER, ""),
                subject=headers.get(SUBJECT_HEADER, ""),
                error=headers.get(ERROR_HEADER, ""),
                key=headers.get(KEY_HEADER, ""),
                deliveries=int(headers.get(DELIVERIES_HEADER, "0") or 0),
                time=raw.time if isinstance(raw.time, datetime) else None,
                body=raw.data or b"",
            )
        )
        sequence = (raw.seq or sequence) + 1
    return found


async def replay(js: JetStreamContext, topology: Topology, *, sequences: list[int] | None = None) -> int:
    """Publishes the dead letters ``sequences`` (all when None) to their original subjects and deletes them;
    returns how many were replayed."""
    replayed = 0
    wanted = set(sequences) if sequences is not None else None
    for letter in await list_dead(js, topology, limit=1_000_000):
        if wanted is not None and letter.sequence not in wanted:
            continue
        headers = {MSG_ID: f"{letter.key}.replay.{letter.sequence}"}
        await js.publish(letter.subject, letter.body, headers=headers)
        await js.delete_msg(topology.stream(Kind.DEAD), letter.sequence)
        replayed += 1
    return replayed


def stage_of(letter: DeadLetter) -> Stage | None:
    return Stage(letter.stage) if letter.stage in {s.value for s in Stage} else None


def lrn_of(letter: DeadLetter) -> str | None:
    """The LRN of a dead letter's declaration, when its body is JSON that names one."""
    try:
        data = json.loads(letter.body)
    except (ValueError, UnicodeDecodeError):
        return None
    lrn = data.get("lrn") if isinstance(data, dict) else None
    return lrn if isinstance(lrn, str) else None


async def _connected(url: str, work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    connection = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        return await work(connection.jetstream())
    finally:
        await connection.close()


def dead_letters_now(url: str, topology: Topology, *, limit: int = 1000) -> list[DeadLetter]:
    """``list_dead`` for callers without an event loop (the API's request threads): connects, lists, closes.
    An agency whose dead-letter stream does not exist yet has none."""

    async def work(js: JetStreamContext) -> list[DeadLetter]:
        try:
            return await list_dead(js, topology, limit=limit)
        except JsNotFound:
            return []

    return asyncio.run(_connected(url, work))


def requeue_now(url: str, topology: Topology, *, sequence: int) -> DeadLetter | None:
    """Replays the dead letter ``sequence`` (publishes it to where it came from and deletes it), for callers
    without an event loop; returns it, or None when the agency has no such dead letter."""

    async def work(js: JetStreamContext) -> DeadLetter | None:
        try:
            letters = await list_dead(js, topology, limit=1_000_000)
        except JsNotFound:
            return None
        found = next((letter for letter in letters if letter.sequence == sequence), None)
        if found is not None:
            await replay(js, topology, sequences=[sequence])
        return found

    return asyncio.run(_connected(url, work))
