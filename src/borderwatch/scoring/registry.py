"""The model registry and stored scores: plain functions over a SQLAlchemy session."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from pathlib import Path

import polars as pl
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from borderwatch.core.errors import NotFoundError
from borderwatch.scoring.models import RiskModelRow, RiskScoreRow
from borderwatch.scoring.service import SCORE_COLUMNS, RiskModel

INSERT_BATCH = 5000


def register_model(
    *, session: Session, model: RiskModel, path: Path, agency: str = "default"
) -> RiskModelRow:
    """Records a saved model version (idempotent: registering the same version again returns its row)."""
    existing = session.scalar(select(RiskModelRow).where(RiskModelRow.version == model.version))
    if existing is not None:
        return existing
    row = RiskModelRow(
        version=model.version,
        agency=agency,
        trained_from=model.trained_from,
        trained_until=model.trained_until,
        seed=model.seed,
        features=model.feature_names,
        metrics=dict(model.metrics),
        params=dataclasses.asdict(model.params),
        path=str(path),
    )
    session.add(row)
    session.flush()
    return row


def list_models(*, session: Session, agency: str | None = None) -> list[RiskModelRow]:
    """Registered versions, newest first."""
    query = select(RiskModelRow).order_by(RiskModelRow.id.desc())
    if agency is not None:
        query = query.where(RiskModelRow.agency == agency)
    return list(session.scalars(query))


def get_model_row(*, session: Session, version: str | None = None, agency: str = "default") -> RiskModelRow:
    """The given version, or the agency's newest one."""
    query = select(RiskModelRow)
    if version is not None:
        query = query.where(RiskModelRow.version == version)
    else:
        query = query.where(RiskModelRow.agency == agency).order_by(RiskModelRow.id.desc()).limit(1)
    row = session.scalar(query)
    if row is None:
        wanted = f"model version {version}" if version else f"a trained model for agency {agency!r}"
        raise NotFoundError(f"no {wanted} in the registry; run 'borderwatch train' first")
    return row


def load_model(*, session: Session, version: str | None = None, agency: str = "default") -> RiskModel:
    return RiskModel.load(Path(get_model_row(session=session, version=version, agency=agency).path))


def store_scores(
    *,
    session: Session,
    scores: pl.DataFrame,
    model_version: str,
    agency: str = "default",
    unexplained: Collection[str] = (),
) -> int:
    """Stores ``RiskModel.score`` output rows (score, probability, expected duty, lane, reasons).

    ``unexplained``: the LRNs scored without the model's reasons (``explain_min_score``); they are stored as
    such and completed by :func:`store_reasons` when first read.
    """
    rows = [
        {
            "lrn": row["lrn"],
            "agency": agency,
            "model_version": model_version,
            "score": float(row["score"]),
            "fraud_probability": float(row["fraud_probability"]),
            "expected_duty": float(row["expected_duty"] or 0.0),
            "forced_lane": row["forced_lane"],
            "reasons": list(row["reasons"] or []),
            "explained": row["lrn"] not in unexplained,
        }
        for row in scores.select(list(SCORE_COLUMNS)).iter_rows(named=True)
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(RiskScoreRow), rows[start : start + INSERT_BATCH])
    return len(rows)


def unexplained_score(*, session: Session, lrn: str, agency: str = "default") -> RiskScoreRow | None:
    """The newest stored score of ``lrn`` if its model reasons are still to be computed, else None."""
    newest = session.scalars(
        select(RiskScoreRow)
        .where(RiskScoreRow.agency == agency, RiskScoreRow.lrn == lrn)
        .order_by(RiskScoreRow.id.desc())
        .limit(1)
    ).first()
    return newest if newest is not None and not newest.explained else None


def store_reasons(*, row: RiskScoreRow, reasons: Sequence[str]) -> None:
    """Completes a score stored without the model's reasons (``unexplained_score``) with its full reasons."""
    row.reasons = list(reasons)
    row.explained = True


def latest_scores(
    *, session: Session, agency: str = "default", lrns: Sequence[str] | None = None
) -> pl.DataFrame:
    """The newest stored score per declaration, in the ``RiskModel.score`` columns plus model_version and
    explained (False: reasons still lack the model's own, see ``unexplained_score``)."""
    newest = (
        select(RiskScoreRow.lrn, func.max(RiskScoreRow.id).label("id"))
        .where(RiskScoreRow.agency == agency)
        .group_by(RiskScoreRow.lrn)
    )
    if lrns is not None:
        newest = newest.where(RiskScoreRow.lrn.in_(list(lrns)))
    ids = newest.subquery()
    found = session.scalars(select(RiskScoreRow).join(ids, RiskScoreRow.id == ids.c.id)).all()
    schema = {**SCORE_COLUMNS, "model_version": pl.String(), "explained": pl.Boolean()}
    return pl.DataFrame(
        [
            {
                "lrn": r.lrn,
                "score": r.score,
                "fraud_probability": r.fraud_probability,
                "expected_duty": r.expected_duty,
                "forced_lane": r.forced_lane,
                "reasons": list(r.reasons),
                "model_version": r.model_version,
                "explained": r.explained,
            }
            for r in found
        ],
        schema=schema,
    ).sort("score", descending=True)
