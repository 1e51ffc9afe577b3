"""Scoring of declarations submitted over HTTP with the agency's current registered model.

The model and the history it scores against are costly to build and change rarely, so they are kept in the
application's cache. Features may only use what was known strictly before a declaration's date, so the
history snapshot (``RiskModel.prepare``) is built per scoring day from the declarations and outcomes dated
before that day: every declaration of that day is then scored from the snapshot, exactly and fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from borderwatch.core.errors import NotFoundError
from borderwatch.features.history import HistorySnapshot
from borderwatch.ingest.store import load_declarations, load_outcomes
from borderwatch.scoring import registry
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.service import RiskModel
from borderwatch.web.caches import Cache

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


def scoring_context(
    *, cache: Cache, db: Session, agency: str, profiles: Sequence[RiskProfile]
) -> ScoringContext | None:
    """The agency's newest registered model, or None when no model is registered yet."""
    try:
        row = registry.get_model_row(session=db, agency=agency)
    except NotFoundError:
        return None
    version, path = row.version, Path(row.path)
    # a version names one immutable model file: kept as long as a day's snapshot, never reloaded per request
    model: RiskModel = cache.get(("model", version), lambda: RiskModel.load(path), ttl=SNAPSHOT_TTL_SECONDS)
    return ScoringContext(agency=agency, model=model, profiles=list(profiles))


def _snapshot(
    *, cache: Cache, engine: Engine, agency: str, day: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame, HistorySnapshot]:
    def build() -> tuple[pl.DataFrame, pl.DataFrame, HistorySnapshot]:
        # read from the store, not from a cache: what was stored since the last build must be seen
        declarations, outcomes = (
            load_declarations(engine, agency=agency),
            load_outcomes(engine, agency=agency),
        )
        before = declarations.filter(pl.col("declared_on") < day)
        known = outcomes.filter(pl.col("recorded_on") < day)
        return before, known, RiskModel.prepare(history=before, outcomes=known)

    built: tuple[pl.DataFrame, pl.DataFrame, HistorySnapshot] = cache.get(
        ("snapshot", agency, day), build, ttl=SNAPSHOT_TTL_SECONDS, refresh_after=SNAPSHOT_REFRESH_SECONDS
    )
    return built


def score_stored(
    *, context: ScoringContext, cache: Cache, engine: Engine, db: Session, lrns: Sequence[str]
) -> pl.DataFrame:
    """Score the stored current versions of ``lrns`` and store the scores (the scoring stage's registry)."""
    declarations = load_declarations(engine, agency=context.agency, lrns=list(lrns))
    if declarations.height == 0:
        return pl.DataFrame()
    parts = []
    for (day,), group in declarations.group_by("declared_on", maintain_order=True):
        assert isinstance(day, dt.date)
        history, outcomes, snapshot = _snapshot(cache=cache, engine=engine, agency=context.agency, day=day)
        parts.append(
            context.model.score(
                declarations=group,
                history=history,
                outcomes=outcomes,
                profiles=context.profiles,
                snapshot=snapshot,
            )
        )
    scores = pl.concat(parts)
    registry.store_scores(
        session=db, scores=scores, model_version=context.model.version, agency=context.agency
    )
    return scores
