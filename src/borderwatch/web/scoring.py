"""Scoring of declarations submitted over HTTP with the agency's current registered model.

The model, the risk profiles and the history snapshot are costly to build and change rarely, so they are kept
in the application's cache (rebuilt when a newer model is registered or after the cache's time-to-live).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ScoringContext:
    model: RiskModel
    profiles: list[RiskProfile]
    history: pl.DataFrame
    outcomes: pl.DataFrame
    snapshot: HistorySnapshot


def scoring_context(
    *, cache: Cache, engine: Engine, db: Session, agency: str, profiles: Sequence[RiskProfile]
) -> ScoringContext | None:
    """The agency's newest model with its history snapshot, or None when no model is registered yet."""
    try:
        row = registry.get_model_row(session=db, agency=agency)
    except NotFoundError:
        return None
    version, path = row.version, row.path

    def build() -> ScoringContext:
        from pathlib import Path

        model = RiskModel.load(Path(path))
        history = load_declarations(engine, agency=agency)
        outcomes = load_outcomes(engine, agency=agency)
        snapshot = RiskModel.prepare(history=history, outcomes=outcomes)
        return ScoringContext(model, list(profiles), history, outcomes, snapshot)

    context: ScoringContext = cache.get(("scoring", agency, version, len(profiles)), build)
    if context.profiles != list(profiles):
        context = ScoringContext(
            context.model, list(profiles), context.history, context.outcomes, context.snapshot
        )
    return context


def score_stored(
    *, context: ScoringContext, engine: Engine, db: Session, agency: str, lrns: Sequence[str]
) -> pl.DataFrame:
    """Score the stored current versions of ``lrns`` and store the scores (scoring stage's registry)."""
    declarations = load_declarations(engine, agency=agency, lrns=list(lrns))
    if declarations.height == 0:
        return pl.DataFrame()
    scores = context.model.score(
        declarations=declarations,
        history=context.history,
        outcomes=context.outcomes,
        profiles=context.profiles,
        snapshot=context.snapshot,
    )
    registry.store_scores(session=db, scores=scores, model_version=context.model.version, agency=agency)
    return scores
