"""Selection to inspection in one flow: score stored declarations, decide and store lanes, open cases; and a
supervisor's override, which the declaration's case follows.

It lives in ⑤ inspections because it ends with cases; ④ lanes stays unaware of cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.cache import Cache
from borderwatch.core.errors import BorderwatchError
from borderwatch.core.settings import Settings
from borderwatch.ingest.service import IngestSummary, get_quarantined, release_quarantined
from borderwatch.ingest.store import load_declarations, load_outcomes
from borderwatch.inspections.service import follow_decisions, open_cases
from borderwatch.lanes.engine import DECISION_SCHEMA, Thresholds
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.lanes.policy import LanePolicy, load_agency_policy
from borderwatch.lanes.service import (
    decide_at_arrival,
    decide_lanes,
    follow_score_reasons,
    override_lane,
    store_decisions,
)
from borderwatch.scoring.documents import DocumentCheck
from borderwatch.scoring.online import (
    NO_MODEL,
    score_lrns,
    score_lrns_without_model,
    scoring_context,
)
from borderwatch.scoring.online import store as store_scores
from borderwatch.scoring.profile_store import cached_agency_profiles
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.registry import latest_scores
from borderwatch.scoring.risk_model import NO_MODEL_REASON, RiskModel
from borderwatch.scoring.vehicles import VehicleCheck
from borderwatch.screening.service import HIT_SCHEMA, cached_matcher, screen_declarations, store_hits

ASSIGN_CHUNK = 5000
"""Declarations whose lanes and cases are stored in one transaction (about a second of write lock)."""


def score_and_assign_flow(
    *,
    engine: Engine,
    session: Session,
    model: RiskModel,
    since: date | None = None,
    until: date | None = None,
    profiles: Sequence[RiskProfile] = (),
    policy: LanePolicy | None = None,
    agency: str = "default",
    open_inspection_cases: bool = True,
    chunk: int = ASSIGN_CHUNK,
) -> pl.DataFrame:
    """Scores the stored declarations dated in [since, until], stores their lanes and (by default) opens an
    inspection case for every red and yellow one; a case opened by an earlier run follows the new decision
    (``follow_decisions``: relinked, or withdrawn when the lane is now green). Returns the decisions, best
    priority first.

    Lanes are decided over the whole period at once (capacities apply to it), then stored ``chunk``
    declarations at a time, each slice with its cases in a transaction of its own: the flow commits the
    caller's ``session`` after each, so the write lock (SQLite) or the LRNs' locks (PostgreSQL) are held for
    a slice, never for the whole assignment, and other writers (uploads, outcomes, overrides) get in between.

    Run twice at once over the same declarations (a double click, two supervisors, the CLI beside the web),
    each slice of the later run waits for the earlier run's transaction on those declarations to end, then
    supersedes its decisions and opens no case a declaration already has: each declaration keeps one current
    decision and one open case, never a doubled queue."""
    declarations = load_declarations(engine, agency=agency, since=since, until=until)
    if declarations.height == 0:
        raise BorderwatchError("no stored declarations in that period to assign lanes to")
    history = load_declarations(engine, agency=agency, until=until)
    outcomes = load_outcomes(engine, agency=agency)
    scored = model.score(declarations=declarations, history=history, outcomes=outcomes, profiles=profiles)
    keys = declarations.select("lrn", "declared_on", "office", "importer_id").unique("lrn", keep="first")
    policy = policy or LanePolicy()
    decided = decide_lanes(
        session=session, scored=scored.join(keys, on="lrn", how="inner"), policy=policy, agency=agency
    )
    stored: list[pl.DataFrame] = []
    for part in decided.iter_slices(chunk):
        decisions = store_decisions(
            session=session, decisions=part, policy=policy, model_version=model.version, agency=agency
        )
        if open_inspection_cases:
            follow_decisions(session=session, decisions=decisions, actor="system", agency=agency)
            open_cases(session=session, decisions=decisions, agency=agency)
        session.commit()
        stored.append(decisions)
    return pl.concat(stored).sort(["lane", "priority"], descending=[False, True])


def override_lane_flow(
    *, session: Session, lrn: str, agency: str, lane: str, reason: str, supervisor: str
) -> LaneDecisionRow:
    """A supervisor's lane for ``lrn`` (``lanes.service.override_lane``); the declaration's open case follows
    it: red ↔ yellow keeps the case, green withdraws it, and red or yellow for a declaration without a case
    opens one."""
    row = override_lane(
        session=session, lrn=lrn, agency=agency, lane=lane, reason=reason, supervisor=supervisor
    )
    decision = pl.DataFrame({"lrn": [row.lrn], "lane": [row.lane], "decision_id": [row.id]})
    follow_decisions(session=session, decisions=decision, actor=supervisor, agency=row.agency)
    open_cases(session=session, decisions=decision, agency=row.agency)
    return row


# ------------------------------------------------------------------------------------ continuous selection


@dataclass(frozen=True)
class Selection:
    """What selecting arriving declarations needs besides the database: built once by an app or a command.

    ``cache`` keeps the active model, the day's history snapshot and the watchlist matcher between calls;
    ``profiles`` are the agency's risk profiles; ``policy`` the lane policy (capacity shares)."""

    cache: Cache
    profiles: Sequence[RiskProfile]
    policy: LanePolicy
    explain_min_score: float = 0.0
    documents: DocumentCheck | None = None
    """Checks the declarations' documents (the ledger's check, given by an adapter) before scoring."""
    vehicles: VehicleCheck | None = None
    """Finds alerts on the declarations' vehicles (the vehicles stage's check) before scoring."""


def selection_for(
    *,
    settings: Settings,
    agency: str,
    cache: Cache,
    documents: DocumentCheck | None = None,
    vehicles: VehicleCheck | None = None,
) -> Selection:
    """The agency's selection: its risk profiles (``DATA_DIR/profiles/AGENCY``), its lane policy
    (``DATA_DIR/policies/AGENCY.yaml``, else the default capacity shares) and the explain threshold."""
    return Selection(
        cache=cache,
        profiles=cached_agency_profiles(settings.data_dir, agency, cache=cache),
        policy=load_agency_policy(settings.data_dir, agency),
        explain_min_score=settings.explain_min_score,
        documents=documents,
        vehicles=vehicles,
    )


@dataclass(frozen=True)
class SelectionResult:
    """What :func:`select_arrivals_flow` decided: one row per declaration (the lane engine's decision
    schema plus ``decision_id``), the scores, the screening hits, the model version (None: no active model,
    the ``note`` says so) and the thresholds the arrivals were compared with."""

    decisions: pl.DataFrame
    scores: pl.DataFrame
    hits: pl.DataFrame
    model_version: str | None
    thresholds: Thresholds | None
    note: str | None


def select_arrivals_flow(
    *,
    engine: Engine,
    session: Session,
    lrns: Sequence[str],
    agency: str,
    selection: Selection,
    actor: str = "system",
) -> SelectionResult:
    """Every arriving declaration (file ingest, upload, API submission, quarantine release, amendment) goes
    through here as soon as it is stored: its parties are screened against the active watchlists (the hits
    kept for review), it is scored with the agency's active model (or, without one, by the risk profiles,
    screening and anomaly flags, and the reasons say so), given a lane at once against thresholds calibrated
    on the recent days (:func:`borderwatch.lanes.service.decide_at_arrival`; forced lanes take effect at
    once), and, when red or yellow, an inspection case. Writes in ``session``; the caller commits."""
    unique = list(dict.fromkeys(lrns))
    declarations = load_declarations(engine, agency=agency, lrns=unique)
    if declarations.height == 0:
        empty = pl.DataFrame(schema=DECISION_SCHEMA)
        return SelectionResult(empty, pl.DataFrame(), pl.DataFrame(schema=HIT_SCHEMA), None, None, None)
    cache = selection.cache
    hits, scores, model_version, note = _screen_and_score(
        engine=engine,
        session=session,
        declarations=declarations,
        lrns=unique,
        agency=agency,
        selection=selection,
        explain_min_score=selection.explain_min_score,
    )
    keys = declarations.select("lrn", "declared_on", "office", "importer_id").unique("lrn", keep="first")
    scored = scores.join(keys, on="lrn", how="inner")
    decided, thresholds = decide_at_arrival(
        session=session,
        scored=scored,
        policy=selection.policy,
        agency=agency,
        model_version=model_version,
        cache=cache,
    )
    decisions = _store_selection(
        session=session,
        agency=agency,
        selection=selection,
        actor=actor,
        outcome=(hits, scores, model_version),
        decided=decided,
    )
    return SelectionResult(decisions, scores, hits, model_version, thresholds, note)


def rerun_day_flow(
    *, engine: Engine, session: Session, day: date, agency: str, selection: Selection, actor: str
) -> SelectionResult:
    """A supervisor re-runs a day: every declaration dated ``day`` is screened and scored again with the
    active model, and the day's lanes decided at once, ranked against each other within each office's
    capacity (:func:`borderwatch.lanes.service.assign_lanes`) instead of one by one as they arrived; cases
    follow the new decisions. Writes in ``session``; the caller commits."""
    declarations = load_declarations(engine, agency=agency, since=day, until=day)
    if declarations.height == 0:
        raise BorderwatchError(f"no stored declarations dated {day} to re-run")
    lrns = declarations["lrn"].unique(maintain_order=True).to_list()
    hits, scores, model_version, note = _screen_and_score(
        engine=engine,
        session=session,
        declarations=declarations,
        lrns=lrns,
        agency=agency,
        selection=selection,
        explain_min_score=0.0,  # a re-run explains every declaration, as scoring does by default
    )
    keys = declarations.select("lrn", "declared_on", "office", "importer_id").unique("lrn", keep="first")
    decided = decide_lanes(
        session=session,
        scored=scores.join(keys, on="lrn", how="inner"),
        policy=selection.policy,
        agency=agency,
    )
    decisions = _store_selection(
        session=session,
        agency=agency,
        selection=selection,
        actor=actor,
        outcome=(hits, scores, model_version),
        decided=decided,
    )
    return SelectionResult(decisions, scores, hits, model_version, None, note)


def _screen_and_score(
    *,
    engine: Engine,
    session: Session,
    declarations: pl.DataFrame,
    lrns: list[str],
    agency: str,
    selection: Selection,
    explain_min_score: float,
) -> tuple[pl.DataFrame, pl.DataFrame, str | None, str | None]:
    """The declarations' parties screened and the declarations scored, by the active model or, without one,
    by profiles, screening and anomalies: (hits, scores, model version, note saying there was no model)."""
    cache = selection.cache
    with session.no_autoflush:
        hits = screen_declarations(
            engine=engine,
            session=session,
            declarations=declarations,
            agency=agency,
            matcher=cached_matcher(session=session, cache=cache),
        )
        context = scoring_context(
            cache=cache,
            db=session,
            agency=agency,
            profiles=selection.profiles,
            documents=selection.documents,
            vehicles=selection.vehicles,
        )
    if context is None:
        scores = score_lrns_without_model(
            cache=cache,
            engine=engine,
            agency=agency,
            lrns=lrns,
            profiles=selection.profiles,
            screening_hits=hits,
            vehicles=selection.vehicles,
        )
        return hits, scores, None, NO_MODEL_REASON
    scores = score_lrns(
        context=context,
        cache=cache,
        engine=engine,
        lrns=lrns,
        explain_min_score=explain_min_score,
        screening_hits=hits,
    )
    return hits, scores, context.model.version, None


def _store_selection(
    *,
    session: Session,
    agency: str,
    selection: Selection,
    actor: str,
    outcome: tuple[pl.DataFrame, pl.DataFrame, str | None],
    decided: pl.DataFrame,
) -> pl.DataFrame:
    """Hits, scores and lane decisions stored, decisions followed and cases opened; the stored decisions."""
    hits, scores, model_version = outcome
    store_hits(session=session, agency=agency, hits=hits)
    store_scores(db=session, agency=agency, model_version=model_version or NO_MODEL, scores=scores)
    decisions = store_decisions(
        session=session,
        decisions=decided,
        policy=selection.policy,
        model_version=model_version,
        agency=agency,
    )
    follow_decisions(session=session, decisions=decisions, actor=actor, agency=agency)
    open_cases(session=session, decisions=decisions, agency=agency)
    return decisions


@dataclass(frozen=True)
class SelectionSummary:
    """Lanes given to a whole arrival (a file), slice by slice: counts per lane, the screening hits, the
    model version (None: no active model; ``note`` says so)."""

    lanes: dict[str, int]
    hits: int
    model_version: str | None
    note: str | None

    def describe(self) -> dict[str, object]:
        return {"lanes": self.lanes, "screening_hits": self.hits, "model_version": self.model_version} | (
            {"note": self.note} if self.note else {}
        )


def select_arrivals_in_slices(
    *,
    engine: Engine,
    factory: sessionmaker[Session],
    lrns: Sequence[str],
    agency: str,
    selection: Selection,
    actor: str = "system",
    chunk: int = ASSIGN_CHUNK,
) -> SelectionSummary:
    """:func:`select_arrivals_flow` over many arrivals (an ingested file), ``chunk`` declarations per
    transaction so that other writers get in between."""
    counts = dict.fromkeys(("red", "yellow", "green"), 0)
    hits = 0
    version: str | None = None
    note: str | None = None
    unique = list(dict.fromkeys(lrns))
    for start in range(0, len(unique), chunk):
        with factory() as session:
            result = select_arrivals_flow(
                engine=engine,
                session=session,
                lrns=unique[start : start + chunk],
                agency=agency,
                selection=selection,
                actor=actor,
            )
            session.commit()
        for lane, count in result.decisions.group_by("lane").len().iter_rows():
            counts[str(lane)] = counts.get(str(lane), 0) + int(count)
        hits += result.hits.height
        version, note = result.model_version, result.note
    return SelectionSummary(lanes=counts, hits=hits, model_version=version, note=note)


def follow_completed_reasons(*, session: Session, lrn: str, agency: str) -> None:
    """After a read completed ``lrn``'s score reasons (``scoring.online.complete_reasons``), its current
    lane decision, decided on that score, shows the same reasons."""
    scores = latest_scores(session=session, agency=agency, lrns=[lrn])
    if scores.height == 0:
        return
    newest = scores.row(0, named=True)
    if newest["explained"]:
        follow_score_reasons(
            session=session,
            lrn=lrn,
            agency=agency,
            reasons=list(newest["reasons"] or []),
            reason_codes=list(newest["reason_codes"] or []),
            model_version=str(newest["model_version"]),
        )


def release_and_select_flow(
    *,
    engine: Engine,
    session: Session,
    record_id: int,
    selection: Selection,
    actor: str,
    value: str | None = None,
    raw: str | None = None,
    changes: dict[str, str] | None = None,
) -> tuple[IngestSummary, SelectionResult]:
    """Release a quarantined record (``ingest.service.release_quarantined``: re-validated with the
    corrections, stored) and select what it stored at once, like any arriving declaration. ``IngestError``
    when it is still refused. Writes the selection in ``session``; the caller commits."""
    record = get_quarantined(engine=engine, record_id=record_id)
    summary = release_quarantined(engine=engine, record_id=record_id, raw=raw, value=value, changes=changes)
    result = select_arrivals_flow(
        engine=engine,
        session=session,
        lrns=summary.lrns,
        agency=record.agency,
        selection=selection,
        actor=actor,
    )
    return summary, result
