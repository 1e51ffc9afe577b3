"""The streams, subjects and durable consumers of one agency's pipeline, and their JetStream settings.

Subjects are ``PREFIX.AGENCY.KIND``: ``in`` (declarations as sent, JSON), ``stored`` (stored declarations to
score), ``scores``, ``lanes`` (lane decisions), ``outcomes`` (inspection outcomes as sent) and
``dead.STAGE`` (messages that kept failing, with their error). Each kind has its own stream
(``PREFIX_AGENCY_KIND``), so a stream's lag is one stage's backlog and an agency's work never mixes with
another's. Every stage reads its input through one durable pull consumer named after the stage: any number
of workers on any number of machines share it, JetStream hands each message to one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from borderwatch.core.errors import ConfigError


class Kind(StrEnum):
    IN = "in"
    STORED = "stored"
    SCORES = "scores"
    LANES = "lanes"
    OUTCOMES = "outcomes"
    DEAD = "dead"


class Stage(StrEnum):
    """A worker's stage: what it consumes and what it writes."""

    INGEST = "ingest"  # in → declarations stored; publishes stored
    # stored → the selection flow: scores, screening hits, lane decisions, cases; publishes scores and lanes
    SCORE = "score"
    # outcomes → inspection results stored where feedback reads them (``ingest.service.ingest_outcomes``)
    OUTCOMES = "outcomes"


# The kinds each stage reads (one durable consumer per kind, named after the stage).
STAGE_INPUTS: dict[Stage, tuple[Kind, ...]] = {
    Stage.INGEST: (Kind.IN,),
    Stage.SCORE: (Kind.STORED,),
    Stage.OUTCOMES: (Kind.OUTCOMES,),
}

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# How long messages stay in a stream (its history for `pipeline status` and re-reading), and how long
# JetStream remembers a Nats-Msg-Id to drop a republished message. Past the window, a republished
# declaration is still stored and scored once: the effects table and the ingest service's content hash.
RETENTION_SECONDS = 7 * 24 * 3600
DUPLICATE_WINDOW_SECONDS = 2 * 3600


@dataclass(frozen=True)
class Limits:
    """A stage consumer's delivery settings (``Settings.pipeline_*``)."""

    ack_wait: float = 60.0
    max_ack_pending: int = 2000
    max_deliver: int = 4


@dataclass(frozen=True)
class Topology:
    """One agency's names under one ``prefix``."""

    prefix: str
    agency: str

    def __post_init__(self) -> None:
        for name, value in (("prefix", self.prefix), ("agency", self.agency)):
            if not _TOKEN.match(value):
                raise ConfigError(
                    path=f"pipeline {name} {value!r}",
                    reason="must be 1 to 64 letters, digits, '_' or '-' (it names NATS subjects and streams)",
                )

    def subject(self, kind: Kind, stage: Stage | None = None) -> str:
        base = f"{self.prefix}.{self.agency}.{kind.value}"
        return f"{base}.{stage.value}" if stage is not None else base

    def stream(self, kind: Kind) -> str:
        return f"{self.prefix}_{self.agency}_{kind.value}".upper().replace("-", "_")

    def durable(self, stage: Stage, kind: Kind) -> str:
        return f"{stage.value}-{kind.value}"

    def stream_config(self, kind: Kind) -> StreamConfig:
        subjects = [self.subject(kind) + (".>" if kind is Kind.DEAD else "")]
        return StreamConfig(
            name=self.stream(kind),
            subjects=subjects,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=RETENTION_SECONDS,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )

    def consumer_config(self, stage: Stage, kind: Kind, limits: Limits) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable(stage, kind),
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=limits.ack_wait,
            # The worker sends a message to the dead-letter subject at its last delivery; JetStream's own
            # limit, one more, only stops a message whose worker died at that delivery every time.
            max_deliver=limits.max_deliver + 1,
            max_ack_pending=limits.max_ack_pending,
            filter_subject=self.subject(kind),
        )

    def kinds(self) -> list[Kind]:
        return list(Kind)
