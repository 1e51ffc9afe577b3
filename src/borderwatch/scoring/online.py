"""Scoring of declarations submitted over HTTP with the agency's current registered model.

The model and the history it scores against are costly to build and change rarely, so they are kept in the
application's cache. Features may only use what was known strictly before a declaration's date, so the
history snapshot (``RiskModel.prepare``) is built per scoring day from the declarations and outcomes dated
before that day: every declaration of that day is then scored from the snapshot, exactly and fast. Records
dated before the day that arrive later are taken in by a refresh in the background (:func:`day_history`),
which moves the snapshot forward with them (``RiskModel.advance``) when they are all dated after it.

The model's own reasons (TreeSHAP sentences, about a millisecond per declaration, more than all the rest of
its scoring) are written at once only for the declarations an inspector is likely to see: those scoring at
least ``Settings.explain_min_score`` or forced to yellow or red by a risk profile. The others' scores are
stored without them and completed on the declaration's first read (:func:`complete_reasons`), from the same
day's history snapshot and the model version that scored it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from borderwatch.core.cache import Cache
from borderwatch.core.errors import BorderwatchError
from borderwatch.core.reasons import codes_from_json
from borderwatch.features.build import build_features
from borderwatch.features.history import HistorySnapshot
from borderwatch.features.reconcile import discrepancies_of
from borderwatch.ingest.store import StoredDays, load_declarations, load_documents, load_outcomes, stored_days
from borderwatch.scoring import registry
from borderwatch.scoring.documents import DocumentCheck
from borderwatch.scoring.explain import family_contributions
from borderwatch.scoring.models import RiskModelRow, RiskScoreRow
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.risk_model import NO_EXPLANATION, ExplainPolicy, RiskModel, rules_only_scores
from borderwatch.scoring.vehicles import VehicleCheck

log = logging.getLogger(__name__)
T = TypeVar("T")

# A day's snapshot only changes when declarations or outcomes dated before that day arrive late: it is
# refreshed in the background every few minutes (requests keep using the previous one meanwhile) and kept
# for the day.
SNAPSHOT_REFRESH_SECONDS = 300.0
SNAPSHOT_TTL_SECONDS = 26 * 3600.0


@dataclass(frozen=True)
class ScoringContext:
    agency: str
    model: RiskModel
    profiles: list[RiskProfile]
    documents: DocumentCheck | None = None
    """Checks the declarations' documents (against the document ledger) before they are scored."""
    vehicles: VehicleCheck | None = None
    """Finds the alerts on the declarations' vehicles (hotlists, patterns) before they are scored."""


NO_MODEL = "none"
"""The model version stored with scores given without an active model (risk profiles and screening only)."""


def scoring_context(
    *,
    cache: Cache,
    db: Session,
    agency: str,
    profiles: Sequence[RiskProfile],
    documents: DocumentCheck | None = None,
    vehicles: VehicleCheck | None = None,
) -> ScoringContext | None:
    """The agency's active model, or None when no model is active."""
    row = registry.active_model_row(session=db, agency=agency)
    if row is None:
        return None
    return ScoringContext(
        agency=agency,
        model=_model(cache, row),
        profiles=list(profiles),
        documents=documents,
        vehicles=vehicles,
    )


def _model(cache: Cache, row: RiskModelRow) -> RiskModel:
    path = Path(row.path)
    # a version names one immutable model file: kept as long as a day's snapshot, never reloaded per request
    model: RiskModel = cache.get(
        ("model", row.version), lambda: RiskModel.load(path), ttl=SNAPSHOT_TTL_SECONDS
    )
    return model


@dataclass(frozen=True)
class DayHistory:
    """What scoring the declarations of a day needs: the current declarations dated before it
    (``history``) and the outcomes recorded before it (``outcomes``), as the store holds them, their
    ``snapshot`` (as of a day on or after the latest declaration of ``history``), and the store's per-day
    counts read before them (``stored``), which tell a refresh what was stored since."""

    history: pl.DataFrame
    outcomes: pl.DataFrame
    snapshot: HistorySnapshot
    stored: StoredDays


def day_history(
    engine: Engine, *, agency: str, day: dt.date, previous: DayHistory | None = None
) -> DayHistory:
    """``agency``'s history for scoring declarations dated ``day``, read from the store (never from a
    cache: what was stored since the last read must be seen). ``previous``, an earlier read for the same
    agency, for this day or an earlier one, is moved forward with what was stored since when it can be
    (:func:`advanced_history`); otherwise everything is read and aggregated again."""
    stored = stored_days(engine, agency=agency, before=day)
    if previous is not None:
        advanced = advanced_history(previous, engine=engine, agency=agency, day=day, stored=stored)
        if advanced is not None:
            return advanced
    history = load_declarations(engine, agency=agency, until=day - dt.timedelta(days=1))
    outcomes = load_outcomes(engine, agency=agency, before=day)
    return DayHistory(history, outcomes, RiskModel.prepare(history=history, outcomes=outcomes), stored)


def advanced_history(
    previous: DayHistory, *, engine: Engine, agency: str, day: dt.date, stored: StoredDays
) -> DayHistory | None:
    """``previous`` brought up to ``stored`` (the store's counts now) by reading only the days after its
    snapshot: the snapshot is advanced with the declarations dated after it, the outcomes recorded after
    it, and so with the late outcomes of declarations it holds. The result equals a full read.

    None when that cannot express what changed: a declaration or an outcome stored since, dated on or
    before the snapshot's day, or a declaration it holds re-declared (amended) with a later date."""
    snapshot = previous.snapshot
    as_of = snapshot.as_of
    changed = stored.changed_since(previous.stored)
    if as_of is None or any(changed_day <= as_of for changed_day in changed):
        return None
    if not changed:
        return DayHistory(previous.history, previous.outcomes, snapshot, stored)
    after = as_of + dt.timedelta(days=1)
    declarations = load_declarations(engine, agency=agency, since=after, until=day - dt.timedelta(days=1))
    if not snapshot.lrns.isdisjoint(declarations["lrn"].to_list()):
        return None
    later = load_outcomes(engine, agency=agency, since=after, before=day)
    # ``previous.history`` is all dated on or before ``as_of``; its outcomes may not be (an outcome of a
    # declaration not stored yet does not move the snapshot's day), and those are read again with ``later``.
    history = pl.concat([previous.history, declarations])
    outcomes = pl.concat([previous.outcomes.filter(pl.col("recorded_on") <= as_of), later])
    newest = (declarations["declared_on"].max(), later["recorded_on"].max())
    days = [newest_day for newest_day in newest if isinstance(newest_day, dt.date)]
    if not days:  # what changed were declarations that moved on to ``day`` or later
        return DayHistory(history, outcomes, snapshot, stored)
    advanced = RiskModel.advance(snapshot, history=history, outcomes=outcomes, until=max(days))
    return DayHistory(history, outcomes, advanced, stored)


def _earlier_day(cache: Cache, agency: str, day: dt.date) -> DayHistory | None:
    """The cached history of ``agency``'s latest day before ``day``, if any."""
    earlier = [
        (key[2], value)
        for key, value in cache.live()
        if isinstance(key, tuple) and key[:2] == ("snapshot", agency) and key[2] < day
    ]
    return max(earlier, key=lambda found: found[0])[1] if earlier else None


def cached_day_history(*, cache: Cache, engine: Engine, agency: str, day: dt.date) -> DayHistory:
    built: DayHistory = cache.get(
        ("snapshot", agency, day),
        # a new day starts from the latest earlier day's history: only the days since are read
        lambda: day_history(engine, agency=agency, day=day, previous=_earlier_day(cache, agency, day)),
        ttl=SNAPSHOT_TTL_SECONDS,
        refresh_after=SNAPSHOT_REFRESH_SECONDS,
        update=lambda previous: day_history(engine, agency=agency, day=day, previous=previous),
    )
    return built


def store(*, db: Session, agency: str, model_version: str, scores: pl.DataFrame) -> None:
    """Store :func:`score_lrns` (or :func:`score_lrns_without_model`) output."""
    registry.store_scores(
        session=db,
        scores=scores,
        model_version=model_version,
        agency=agency,
        unexplained=set(scores.filter(~pl.col("explained"))["lrn"].to_list()),
    )


def score_lrns(
    *,
    context: ScoringContext,
    cache: Cache,
    engine: Engine,
    lrns: Sequence[str],
    explain_min_score: float = 0.0,
    screening_hits: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Scores of the stored current versions of ``lrns`` by the agency's model (reads only: a caller scores
    before it writes, then :func:`store`).

    Returns ``RiskModel.score`` rows plus ``explained``: False where the model's reasons are left to the
    declaration's first read (score below ``explain_min_score``, no yellow or red forced by a profile).
    ``screening_hits`` (``screening.service.HIT_SCHEMA``) add their points and reasons.
    """
    declarations = load_declarations(engine, agency=context.agency, lrns=list(lrns))
    if declarations.height == 0:
        return pl.DataFrame()
    findings = None
    if context.documents is not None:
        documents = load_documents(engine, agency=context.agency, lrns=list(lrns))
        findings = context.documents(documents, agency=context.agency) if documents.height else None
    vehicle_alerts = None
    if context.vehicles is not None:
        vehicle_alerts = context.vehicles(declarations["lrn"].unique().to_list(), agency=context.agency)
    # What the carriers' manifests say of these declarations (nothing where no manifest arrived near them).
    discrepancies = discrepancies_of(
        engine,
        agency=context.agency,
        lrns=declarations["lrn"].unique().to_list(),
        days=declarations["declared_on"].unique().to_list(),
    )
    policy = ExplainPolicy(min_score=explain_min_score)
    parts = []
    for (day,), group in declarations.group_by("declared_on", maintain_order=True):
        assert isinstance(day, dt.date)
        known = cached_day_history(cache=cache, engine=engine, agency=context.agency, day=day)
        parts.append(
            context.model.score(
                declarations=group,
                history=known.history,
                outcomes=known.outcomes,
                profiles=context.profiles,
                snapshot=known.snapshot,
                explain=policy,
                document_findings=findings,
                manifest_discrepancies=discrepancies,
                vehicle_alerts=vehicle_alerts,
                screening_hits=screening_hits,
            )
        )
    scores = pl.concat(parts)
    return scores.with_columns(policy.explains(scores).alias("explained"))


def score_lrns_without_model(
    *,
    cache: Cache,
    engine: Engine,
    agency: str,
    lrns: Sequence[str],
    profiles: Sequence[RiskProfile],
    screening_hits: pl.DataFrame | None = None,
    vehicles: VehicleCheck | None = None,
) -> pl.DataFrame:
    """Scores of ``lrns`` when the agency has no active model: risk-profile, screening and anomaly points
    on the same time-safe features, fraud probability 0, and a first reason that says so. Forced lanes
    (profiles) take effect as with a model."""
    declarations = load_declarations(engine, agency=agency, lrns=list(lrns))
    if declarations.height == 0:
        return pl.DataFrame()
    vehicle_alerts = None
    if vehicles is not None:
        vehicle_alerts = vehicles(declarations["lrn"].unique().to_list(), agency=agency)
    parts = []
    for (day,), group in declarations.group_by("declared_on", maintain_order=True):
        assert isinstance(day, dt.date)
        known = cached_day_history(cache=cache, engine=engine, agency=agency, day=day)
        features = build_features(
            declarations=group, history=known.history, outcomes=known.outcomes, snapshot=known.snapshot
        )
        parts.append(
            rules_only_scores(
                features, profiles=profiles, screening_hits=screening_hits, vehicle_alerts=vehicle_alerts
            )
        )
    scores = pl.concat(parts)
    return scores.with_columns(pl.lit(True).alias("explained"))


def complete_reasons(
    *, cache: Cache, engine: Engine, db: Session, agency: str, lrn: str, profiles: Sequence[RiskProfile]
) -> None:
    """Adds the model's reasons to ``lrn``'s newest score when they were left to this first read.

    They come from the model version that gave the score and the history snapshot of the declaration's day
    (the one it was scored against, unless late records dated before that day arrived since); the rule
    hits and anomaly flags stored with the score stay as they were. ``profiles`` only choose, as when it was
    scored, which goods item of a multi-item declaration is explained.
    """
    # No autoflush: what the request has pending (its audit row) is written with the reasons at its commit,
    # so on SQLite the write lock is not held while the reasons are computed.
    with db.no_autoflush:
        row = registry.unexplained_score(session=db, lrn=lrn, agency=agency)
        if row is not None:
            scored = _scored_features(
                cache=cache, engine=engine, db=db, agency=agency, lrn=lrn, model_version=row.model_version
            )
            _complete(row=row, scored=scored, profiles=profiles)


def _scored_features(
    *, cache: Cache, engine: Engine, db: Session, agency: str, lrn: str, model_version: str
) -> tuple[RiskModel, pl.DataFrame] | None:
    """The model that scored ``lrn`` and the declaration's features as it scored them (its day's history
    snapshot); None when the declaration or that model is gone: it is then shown with what was stored."""
    declaration = load_declarations(engine, agency=agency, lrns=[lrn])
    if declaration.height == 0:
        return None
    try:
        model = _model(cache, registry.get_model_row(session=db, agency=agency, version=model_version))
    except BorderwatchError as error:
        log.warning("cannot explain %s with model %s: %s", lrn, model_version, error)
        return None
    day = declaration["declared_on"][0]
    known = cached_day_history(cache=cache, engine=engine, agency=agency, day=day)
    features = model.features(
        declarations=declaration, history=known.history, outcomes=known.outcomes, snapshot=known.snapshot
    )
    return model, features


def _complete(
    *, row: RiskScoreRow, scored: tuple[RiskModel, pl.DataFrame] | None, profiles: Sequence[RiskProfile]
) -> None:
    """Stores ``row``'s reasons with the model's own, from ``scored`` (:func:`_scored_features` of its
    model version); leaves them as they are without it."""
    if scored is None:
        return
    model, features = scored
    full = model.score_features(features, profiles=profiles).row(0, named=True)
    bare = model.score_features(features, profiles=profiles, explain=NO_EXPLANATION).row(0, named=True)
    # The model's sentences (and their codes) go where ``RiskModel.score`` puts them: after the reasons that
    # lead both lists.
    reasons = _insert_model_part(list(row.reasons), full["reasons"], bare["reasons"])
    codes = _insert_model_part(codes_from_json(row.reason_codes), full["reason_codes"], bare["reason_codes"])
    registry.store_reasons(row=row, reasons=reasons, reason_codes=codes)


def _insert_model_part(stored: list[T], full: list[T], bare: list[T]) -> list[T]:
    """``stored`` (a list scored without the model's part) with the part ``full`` has and ``bare`` lacks,
    where ``full`` has it."""
    at = next((i for i, (a, b) in enumerate(zip(full, bare, strict=False)) if a != b), len(bare))
    return [*stored[:at], *full[at : at + len(full) - len(bare)], *stored[at:]]


@dataclass(frozen=True)
class ModelExplanation:
    """Why the model gave a declaration its fraud probability: LightGBM's own TreeSHAP contributions of its
    riskiest goods item, summed by feature family, in log-odds (positive: towards fraud)."""

    base: float  # the model's log-odds before it looks at any feature
    contributions: list[tuple[str, float]]  # (family, log-odds), the largest push either way first
    probability: float


def model_explanation(
    *,
    cache: Cache,
    engine: Engine,
    db: Session,
    agency: str,
    lrn: str,
    model_version: str,
    complete_with: Sequence[RiskProfile] | None = None,
) -> ModelExplanation | None:
    """The explanation behind ``lrn``'s score by ``model_version``, from its day's history snapshot; None when
    the declaration or that model is gone (the page then shows the stored reasons only).

    With ``complete_with`` (the agency's risk profiles), ``lrn``'s newest score also gets the model's
    reasons if they were left to this read, as :func:`complete_reasons` gives them, from the same features:
    a page that shows both builds them once."""
    with db.no_autoflush:  # as in complete_reasons
        scored = _scored_features(
            cache=cache, engine=engine, db=db, agency=agency, lrn=lrn, model_version=model_version
        )
        if complete_with is not None:
            row = registry.unexplained_score(session=db, lrn=lrn, agency=agency)
            if row is not None and row.model_version == model_version:
                _complete(row=row, scored=scored, profiles=complete_with)
            elif row is not None:  # rescored by another model since the caller looked
                complete_reasons(
                    cache=cache, engine=engine, db=db, agency=agency, lrn=lrn, profiles=complete_with
                )
    if scored is None:
        return None
    model, features = scored
    # The goods item the declaration's score and reasons come from (as chosen with the same profiles).
    contributions, probability = model.explain_riskiest(features, profiles=complete_with or ())
    return ModelExplanation(
        base=float(contributions[-1]),
        contributions=family_contributions(contributions[:-1], model.feature_names),
        probability=probability,
    )
