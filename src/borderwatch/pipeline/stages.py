"""What each stage does with a batch of messages: synchronous, on the database, with exactly-once effects.

A processor takes the bodies of a batch and returns what to publish downstream (:class:`Forward`) and the
messages that no retry can process (``poison``: index → error). Anything it raises fails the whole batch;
the worker then retries its messages one by one, so one failing declaration does not hold up the others.

Scoring and lanes are the production services: ``ScoreFn`` is the scoring of stored declarations that the
API uses inline (given by the caller, see ``cli/pipeline.py``), and lanes go through
``lanes.service.assign_lanes``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.errors import NotFoundError
from borderwatch.ingest.service import ingest_declarations
from borderwatch.ingest.store import load_declarations
from borderwatch.lanes.policy import LanePolicy
from borderwatch.lanes.service import assign_lanes, current_decision
from borderwatch.pipeline import effects
from borderwatch.pipeline.messages import PoisonError, Stored, content_key, decode, parse_declaration
from borderwatch.pipeline.topology import Kind
from borderwatch.scoring.registry import latest_scores

SCORE_FIELDS = ("score", "fraud_probability", "expected_duty", "forced_lane", "reasons", "model_version")

# Scores the stored current versions of ``lrns`` and stores their scores in ``session`` (not committed):
# returns ``RiskModel.score`` rows plus model_version. Raises when there is no model to score with.
ScoreFn = Callable[[Session, Sequence[str]], pl.DataFrame]


@dataclass(frozen=True)
class Forward:
    kind: Kind
    msg_id: str
    body: bytes


@dataclass
class Outcome:
    forward: list[Forward] = field(default_factory=list)
    poison: dict[int, str] = field(default_factory=dict)


class Processor(Protocol):
    def __call__(self, bodies: Sequence[bytes]) -> Outcome: ...


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=str, separators=(",", ":")).encode()


@dataclass(frozen=True)
class IngestProcessor:
    """``in`` → declarations stored through ``ingest.service.ingest_declarations`` (which stores each
    content once, by its own content hash) → ``stored``."""

    engine: Engine
    factory: sessionmaker[Session]
    agency: str

    def __call__(self, bodies: Sequence[bytes]) -> Outcome:
        outcome = Outcome()
        parsed: dict[int, tuple[str, Any]] = {}
        for index, body in enumerate(bodies):
            try:
                parsed[index] = (content_key(body), parse_declaration(body))
            except PoisonError as error:
                outcome.poison[index] = str(error)
        stored: set[str] = set()
        latest: dict[str, Any] = {}  # a batch may hold two versions of an LRN: the later one is current
        for _key, declaration in parsed.values():
            latest[declaration.lrn] = declaration
        if latest:
            ingest_declarations(
                engine=self.engine, declarations=list(latest.values()), agency=self.agency, source="pipeline"
            )
            stored = set(
                load_declarations(self.engine, agency=self.agency, lrns=list(latest))["lrn"].to_list()
            )
            keys = {key: declaration.lrn for key, declaration in parsed.values() if declaration.lrn in stored}
            with self.factory.begin() as session:
                effects.claim(session=session, stage="ingest", agency=self.agency, keys=keys)
        for index, (key, declaration) in parsed.items():
            if declaration.lrn not in stored:
                outcome.poison[index] = f"declaration {declaration.lrn}: quarantined by the ingest service"
                continue
            outcome.forward.append(Forward(Kind.STORED, f"{key}.stored", Stored(key, declaration.lrn).body()))
        return outcome


def _decoded(bodies: Sequence[bytes], outcome: Outcome) -> dict[int, dict[str, Any]]:
    messages: dict[int, dict[str, Any]] = {}
    for index, body in enumerate(bodies):
        try:
            messages[index] = decode(body)
        except PoisonError as error:
            outcome.poison[index] = str(error)
    return messages


@dataclass(frozen=True)
class ScoreProcessor:
    """``stored`` → scores stored with the agency's model (``score``, once per declaration content) →
    ``scores``."""

    factory: sessionmaker[Session]
    agency: str
    score: ScoreFn

    def __call__(self, bodies: Sequence[bytes]) -> Outcome:
        outcome = Outcome()
        messages = _decoded(bodies, outcome)
        keys = {m["key"]: m["lrn"] for m in messages.values()}
        with self.factory.begin() as session:
            owned = effects.claim(session=session, stage="score", agency=self.agency, keys=keys)
            scored = self.score(session, sorted({keys[key] for key in owned})) if owned else None
        by_lrn = {row["lrn"]: row for row in scored.iter_rows(named=True)} if scored is not None else {}
        # Those scored before (a redelivery after the effect was committed) are forwarded again too, from the
        # store: the worker may have died between its commit and its publishing.
        earlier = sorted({lrn for lrn in keys.values() if lrn not in by_lrn})
        if earlier:
            with self.factory() as session:
                stored = latest_scores(session=session, agency=self.agency, lrns=earlier)
            by_lrn.update((row["lrn"], row) for row in stored.iter_rows(named=True))
        for index, message in messages.items():
            row = by_lrn.get(message["lrn"])
            if row is None:
                outcome.poison[index] = f"declaration {message['lrn']}: not stored, nothing to score"
                continue
            fields = {name: row.get(name) for name in SCORE_FIELDS}
            body = _json({"key": message["key"], "lrn": message["lrn"], **fields})
            outcome.forward.append(Forward(Kind.SCORES, f"{message['key']}.scores", body))
        return outcome


@dataclass(frozen=True)
class LanesProcessor:
    """``scores`` → lane decisions through ``lanes.service.assign_lanes`` (once per declaration content)
    → ``lanes``."""

    engine: Engine
    factory: sessionmaker[Session]
    agency: str
    policy: LanePolicy

    def __call__(self, bodies: Sequence[bytes]) -> Outcome:
        outcome = Outcome()
        messages = _decoded(bodies, outcome)
        keys = {m["key"]: m["lrn"] for m in messages.values()}
        with self.factory.begin() as session:
            owned = effects.claim(session=session, stage="lanes", agency=self.agency, keys=keys)
            chosen = [m for m in messages.values() if m["key"] in owned]
            decided = self._assign(session, chosen) if chosen else None
        by_lrn = (
            {row["lrn"]: (row["lane"], row["basis"]) for row in decided.iter_rows(named=True)}
            if decided is not None
            else {}
        )
        with self.factory() as session:  # decided by an earlier delivery: forwarded again from the store
            for lrn in sorted({lrn for lrn in keys.values() if lrn not in by_lrn}):
                try:
                    row = current_decision(session=session, lrn=lrn)
                except NotFoundError:
                    continue
                by_lrn[lrn] = (row.lane, row.basis)
        for index, message in messages.items():
            found = by_lrn.get(message["lrn"])
            if found is None:
                outcome.poison[index] = f"declaration {message['lrn']}: no lane decision stored"
                continue
            lane, basis = found
            body = _json({"key": message["key"], "lrn": message["lrn"], "lane": lane, "basis": basis})
            outcome.forward.append(Forward(Kind.LANES, f"{message['key']}.lanes", body))
        return outcome

    def _assign(self, session: Session, chosen: list[dict[str, Any]]) -> pl.DataFrame:
        scored = pl.DataFrame(
            [
                {
                    "lrn": m["lrn"],
                    "score": m["score"],
                    "fraud_probability": m["fraud_probability"],
                    "expected_duty": m["expected_duty"],
                    "forced_lane": m["forced_lane"],
                    "reasons": m["reasons"],
                }
                for m in chosen
            ],
            schema={
                "lrn": pl.String,
                "score": pl.Float64,
                "fraud_probability": pl.Float64,
                "expected_duty": pl.Float64,
                "forced_lane": pl.String,
                "reasons": pl.List(pl.String),
            },
        )
        declared = (
            load_declarations(self.engine, agency=self.agency, lrns=scored["lrn"].to_list())
            .select("lrn", "declared_on", "office", "importer_id")
            .unique(subset="lrn", keep="first")
        )
        versions = {m["model_version"] for m in chosen}
        return assign_lanes(
            session=session,
            scored=scored.join(declared, on="lrn", how="inner"),
            policy=self.policy,
            model_version=versions.pop() if len(versions) == 1 else None,
            agency=self.agency,
        )
