"""What each stage does with a batch of messages: synchronous, on the database, with exactly-once effects.

A processor takes the bodies of a batch and returns what to publish downstream (:class:`Forward`) and the
messages that no retry can process (``poison``: index → error). Anything it raises fails the whole batch;
the worker then retries its messages one by one, so one failing declaration does not hold up the others.

The score stage runs the selection flow that the API, uploads and file ingest run inline
(``inspections.flows.select_arrivals_flow``): scores, screening hits, the lane and the case of a declaration
are the same whichever way it arrived.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.errors import NotFoundError
from borderwatch.core.reasons import codes_to_json
from borderwatch.ingest.service import ingest_declarations, ingest_outcomes
from borderwatch.ingest.store import load_declarations, load_documents
from borderwatch.inspections.flows import Selection, select_arrivals_flow
from borderwatch.lanes.service import current_decision
from borderwatch.ledger.documents import present_documents
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.writer import WriterPool
from borderwatch.pipeline import effects
from borderwatch.pipeline.messages import (
    PoisonError,
    Stored,
    content_key,
    decode,
    parse_declaration,
    parse_outcome,
)
from borderwatch.pipeline.topology import Kind
from borderwatch.scoring.registry import latest_scores

SCORE_FIELDS = (
    "score",
    "fraud_probability",
    "expected_duty",
    "forced_lane",
    "reasons",
    "reason_codes",  # one per reason: id, family, figures (core.reasons), what a consumer groups by
    "model_version",
)


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


@dataclass(frozen=True)
class OutcomesProcessor:
    """``outcomes`` → inspection results stored through ``ingest.service.ingest_outcomes`` (each once: a
    redelivered or republished result stores nothing), where retraining and monitoring read them. A body
    that is not an outcome ends in the dead-letter subject; one about an LRN another agency holds, in the
    ingest service's quarantine."""

    engine: Engine
    agency: str

    def __call__(self, bodies: Sequence[bytes]) -> Outcome:
        outcome = Outcome()
        parsed: dict[int, Any] = {}
        for index, body in enumerate(bodies):
            try:
                parsed[index] = parse_outcome(body)
            except PoisonError as error:
                outcome.poison[index] = str(error)
        if parsed:
            # an outcome the ingest service refuses (an LRN another agency holds) is kept in its quarantine
            ingest_outcomes(
                engine=self.engine, outcomes=list(parsed.values()), agency=self.agency, source="pipeline"
            )
        return outcome


def _decoded(bodies: Sequence[bytes], outcome: Outcome) -> dict[int, dict[str, Any]]:
    messages: dict[int, dict[str, Any]] = {}
    for index, body in enumerate(bodies):
        try:
            messages[index] = decode(body)
        except PoisonError as error:
            outcome.poison[index] = str(error)
    return messages


# Records the documents stated by declarations just selected as presented (``ledger.documents.
# present_documents``, what the API's submissions do after scoring): ``LedgerPresenter``, or None.
PresentFn = Callable[[list[str]], object]


@dataclass(frozen=True)
class LedgerPresenter:
    """After the score stage's transaction commits: the documents the declarations ``lrns`` state, recorded
    in the agency's ledger as presented with them, as inline submissions do. After scoring, so that a
    declaration's own documents are not a re-use of themselves; idempotent (each declaration and document
    once), so a redelivered batch records nothing twice."""

    engine: Engine
    keys: KeyStore
    writers: WriterPool
    agency: str

    def __call__(self, lrns: list[str]) -> int:
        documents = load_documents(self.engine, agency=self.agency, lrns=lrns)
        if documents.is_empty():
            return 0
        return present_documents(
            self.engine, self.keys, self.writers, agency=self.agency, documents=documents
        )


# Builds the agency's selection (profiles, lane policy, model cache) for a batch: per batch, so that a fixed
# policy or profile file takes effect at the next delivery (and a replayed dead letter finds it).
SelectionFn = Callable[[], Selection]


@dataclass(frozen=True)
class ScoreProcessor:
    """``stored`` → the selection flow that every arriving declaration goes through
    (``inspections.flows.select_arrivals_flow``: parties screened, scored with the active model, a lane at
    arrival and a case when selected), once per declaration content → ``scores`` and ``lanes``."""

    engine: Engine
    factory: sessionmaker[Session]
    agency: str
    selection: SelectionFn
    present: PresentFn | None = None

    def __call__(self, bodies: Sequence[bytes]) -> Outcome:
        outcome = Outcome()
        messages = _decoded(bodies, outcome)
        keys = {m["key"]: m["lrn"] for m in messages.values()}
        scores: dict[str, dict[str, Any]] = {}
        lanes: dict[str, tuple[str, str]] = {}
        with self.factory.begin() as session:
            owned = effects.claim(session=session, stage="score", agency=self.agency, keys=keys)
            if owned:
                # the flow decides the lane in the same transaction: one claim for both effects
                effects.claim(
                    session=session, stage="lanes", agency=self.agency, keys={k: keys[k] for k in owned}
                )
                result = select_arrivals_flow(
                    engine=self.engine,
                    session=session,
                    lrns=sorted({keys[key] for key in owned}),
                    agency=self.agency,
                    selection=self.selection(),
                )
                version = result.model_version
                scores = {
                    row["lrn"]: row | {"model_version": version}
                    for row in result.scores.iter_rows(named=True)
                }
                lanes = {
                    row["lrn"]: (row["lane"], row["basis"]) for row in result.decisions.iter_rows(named=True)
                }
        self._earlier(keys, scores, lanes)
        if self.present is not None and scores:
            # every selected declaration of the batch, those of an earlier delivery too (a worker may have
            # died between the commit and this): present_documents records each document once
            self.present(sorted(scores))
        for index, message in messages.items():
            key, lrn = message["key"], message["lrn"]
            if lrn not in scores:
                outcome.poison[index] = f"declaration {lrn}: not stored, nothing to score"
                continue
            fields = {name: scores[lrn].get(name) for name in SCORE_FIELDS}
            fields["reason_codes"] = codes_to_json(fields["reason_codes"])
            outcome.forward.append(
                Forward(Kind.SCORES, f"{key}.scores", _json({"key": key, "lrn": lrn, **fields}))
            )
            if lrn in lanes:
                lane, basis = lanes[lrn]
                body = _json({"key": key, "lrn": lrn, "lane": lane, "basis": basis})
                outcome.forward.append(Forward(Kind.LANES, f"{key}.lanes", body))
        return outcome

    def _earlier(
        self, keys: dict[str, str], scores: dict[str, dict[str, Any]], lanes: dict[str, tuple[str, str]]
    ) -> None:
        """What an earlier delivery stored, for the declarations this one did not select: forwarded again
        (the worker may have died between its commit and its publishing)."""
        earlier = sorted({lrn for lrn in keys.values() if lrn not in scores})
        if not earlier:
            return
        with self.factory() as session:
            stored = latest_scores(session=session, agency=self.agency, lrns=earlier)
            scores.update((row["lrn"], row) for row in stored.iter_rows(named=True))
            for lrn in earlier:
                try:
                    row = current_decision(session=session, lrn=lrn, agency=self.agency)
                except NotFoundError:
                    continue
                lanes[lrn] = (row.lane, row.basis)
