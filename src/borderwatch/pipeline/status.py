"""Stream and consumer lag of one agency's pipeline (``borderwatch pipeline status``)."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError as JsNotFound

from borderwatch.pipeline.topology import STAGE_INPUTS, Kind, Stage, Topology


@dataclass(frozen=True)
class StreamStatus:
    kind: Kind
    stream: str
    messages: int | None  # None: the stream does not exist yet (no worker has started)
    last_sequence: int


@dataclass(frozen=True)
class ConsumerStatus:
    stage: Stage
    kind: Kind
    pending: int | None  # messages in the stream not yet delivered to the stage: its lag
    ack_pending: int  # delivered, being worked on
    redelivered: int


@dataclass(frozen=True)
class PipelineStatus:
    streams: list[StreamStatus]
    consumers: list[ConsumerStatus]

    @property
    def lag(self) -> int:
        return sum((c.pending or 0) + c.ack_pending for c in self.consumers)


async def pipeline_status(js: JetStreamContext, topology: Topology) -> PipelineStatus:
    streams: list[StreamStatus] = []
    for kind in Kind:
        try:
            info = await js.stream_info(topology.stream(kind))
        except JsNotFound:
            streams.append(StreamStatus(kind, topology.stream(kind), None, 0))
            continue
        streams.append(StreamStatus(kind, topology.stream(kind), info.state.messages, info.state.last_seq))
    consumers: list[ConsumerStatus] = []
    for stage, kinds in STAGE_INPUTS.items():
        for kind in kinds:
            try:
                info = await js.consumer_info(topology.stream(kind), topology.durable(stage, kind))
            except JsNotFound:
                consumers.append(ConsumerStatus(stage, kind, None, 0, 0))
                continue
            consumers.append(
                ConsumerStatus(
                    stage, kind, info.num_pending, info.num_ack_pending or 0, info.num_redelivered or 0
                )
            )
    return PipelineStatus(streams, consumers)
