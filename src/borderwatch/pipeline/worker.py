"""The worker runtime: pull batches from a stage's durable consumer, process them, publish downstream, ack.

Delivery is at least once: a message is acknowledged only after its effect is committed and what it
produced is published (JetStream de-duplicates those by ``Nats-Msg-Id``), so a worker that dies at any point
leaves it to be redelivered after ``ack_wait``, and :mod:`borderwatch.pipeline.effects` makes the second
delivery store nothing. A batch that fails is retried message by message; a message that fails at its last
delivery, or that no retry can fix (not a declaration), goes to the stage's dead-letter subject with its
error (:mod:`borderwatch.pipeline.dead`) and is acknowledged. ``max_ack_pending`` bounds what a stage's
workers hold at once: the back-pressure. On SIGTERM or SIGINT a worker finishes its batch, acknowledges it,
drains its connection and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import nats
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError as JsNotFound

from borderwatch.pipeline.dead import dead_letter
from borderwatch.pipeline.messages import MSG_ID
from borderwatch.pipeline.stages import Outcome, Processor
from borderwatch.pipeline.topology import STAGE_INPUTS, Kind, Limits, Stage, Topology

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 1.0  # seconds a fetch waits for messages before the stop flag is looked at again
RETRY_DELAY = 2.0  # seconds before a failed message is delivered again (times its deliveries so far)


@dataclass
class Counts:
    batches: int = 0
    processed: int = 0
    retried: int = 0
    dead: int = 0


@dataclass(frozen=True)
class WorkerConfig:
    nats_url: str
    topology: Topology
    limits: Limits = field(default_factory=Limits)
    batch: int = 100


async def ensure_streams(js: JetStreamContext, topology: Topology) -> None:
    """Creates the agency's streams, or updates them to this version's settings."""
    for kind in Kind:
        config = topology.stream_config(kind)
        try:
            await js.stream_info(config.name or "")
        except JsNotFound:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


async def ensure_consumers(
    js: JetStreamContext, topology: Topology, stages: Sequence[Stage], limits: Limits
) -> None:
    for stage in stages:
        for kind in STAGE_INPUTS[stage]:
            # add_consumer on an existing durable updates what may change (ack wait, max ack pending)
            await js.add_consumer(topology.stream(kind), topology.consumer_config(stage, kind, limits))


async def _keep_alive(messages: Sequence[Msg], every: float) -> None:
    """Tells JetStream the batch is still being worked on, so a slow batch is not redelivered meanwhile."""
    while True:
        await asyncio.sleep(every)
        await asyncio.gather(*(message.in_progress() for message in messages), return_exceptions=True)


async def _process(processor: Processor, messages: Sequence[Msg], limits: Limits) -> Outcome:
    alive = asyncio.create_task(_keep_alive(messages, max(limits.ack_wait / 3, 0.5)))
    try:
        return await asyncio.to_thread(processor, [message.data for message in messages])
    finally:
        alive.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await alive


@dataclass
class _Consumer:
    js: JetStreamContext
    config: WorkerConfig
    stage: Stage
    kind: Kind
    processor: Processor
    counts: Counts

    async def run(self, stop: asyncio.Event) -> None:
        topology = self.config.topology
        subscription = await self.js.pull_subscribe_bind(
            durable=topology.durable(self.stage, self.kind), stream=topology.stream(self.kind)
        )
        while not stop.is_set():
            try:
                messages = await subscription.fetch(self.config.batch, timeout=FETCH_TIMEOUT)
            except (NatsTimeout, TimeoutError):  # nats-py raises either when no message came
                continue
            if messages:
                await self.handle(messages)
        await subscription.unsubscribe()

    async def handle(self, messages: Sequence[Msg]) -> None:
        self.counts.batches += 1
        try:
            outcome = await _process(self.processor, messages, self.config.limits)
        except Exception as error:
            if len(messages) == 1:
                await self.failed(messages[0], error)
                return
            log.warning(
                "%s: a batch of %d failed (%s); retrying one by one", self.stage, len(messages), error
            )
            for message in messages:
                await self.handle([message])
            return
        await self.finish(messages, outcome)

    async def finish(self, messages: Sequence[Msg], outcome: Outcome) -> None:
        topology = self.config.topology
        # What the batch produced is published (and stored by JetStream) before the batch is acknowledged.
        await asyncio.gather(
            *(
                self.js.publish(
                    topology.subject(forward.kind), forward.body, headers={MSG_ID: forward.msg_id}
                )
                for forward in outcome.forward
            )
        )
        for index, error in outcome.poison.items():
            await dead_letter(self.js, topology, stage=self.stage, message=messages[index], error=error)
            self.counts.dead += 1
        await asyncio.gather(*(message.ack_sync() for message in messages))
        self.counts.processed += len(messages) - len(outcome.poison)

    async def failed(self, message: Msg, error: Exception) -> None:
        deliveries = message.metadata.num_delivered or 1
        reason = f"{type(error).__name__}: {error}"
        if deliveries >= self.config.limits.max_deliver:
            log.error("%s: dead-lettered after %d deliveries: %s", self.stage, deliveries, reason)
            await dead_letter(self.js, self.config.topology, stage=self.stage, message=message, error=reason)
            await message.ack_sync()
            self.counts.dead += 1
            return
        log.warning("%s: delivery %d failed, retried later: %s", self.stage, deliveries, reason)
        await message.nak(delay=RETRY_DELAY * deliveries)
        self.counts.retried += 1


async def serve(
    config: WorkerConfig,
    processors: Mapping[Stage, Processor],
    *,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    counts: Counts | None = None,
) -> Counts:
    """Runs one consumer per input of each stage in ``processors`` until ``stop`` is set (or SIGTERM /
    SIGINT arrives when ``handle_signals``); returns what was done (in ``counts`` when given, as it goes:
    what the worker's metrics read)."""
    stop = stop or asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    client = await nats.connect(config.nats_url, name=f"borderwatch-worker-{'-'.join(processors)}")
    counts = counts if counts is not None else Counts()
    try:
        js = client.jetstream()
        await ensure_streams(js, config.topology)
        await ensure_consumers(js, config.topology, list(processors), config.limits)
        consumers = [
            _Consumer(js, config, stage, kind, processor, counts)
            for stage, processor in processors.items()
            for kind in STAGE_INPUTS[stage]
        ]
        await asyncio.gather(*(consumer.run(stop) for consumer in consumers))
    finally:
        await client.drain()
    return counts
