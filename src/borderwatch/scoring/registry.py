"""The model registry and stored scores: plain functions over a SQLAlchemy session."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from borderwatch.core.errors import NotFoundError
from borderwatch.core.reasons import codes_from_json, codes_to_json
from borderwatch.scoring.models import RiskModelRow, RiskScoreRow
from borderwatch.scoring.risk_model import SCORE_COLUMNS, RiskModel

INSERT_BATCH = 5000


def register_model(
    *,
    session: Session,
    model: RiskModel,
    path: Path,
    agency: str,
    activate: bool | None = None,
    by: str = "system",
) -> RiskModelRow:
    """Records a saved model version (idempotent: registering the same version again returns its row).

    ``activate``: make it the agency's active model (True), leave the active one (False), or, by default,
    make it active only when the agency has none yet (the first model scores at once; a retrained one waits
    for a supervisor's :func:`activate_model`)."""
    existing = session.scalar(select(RiskModelRow).where(RiskModelRow.version == model.version))
    row = existing
    if row is None:
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
            active=False,
        )
        session.add(row)
        session.flush()
    if activate or (activate is None and active_model_row(session=session, agency=agency) is None):
        row = activate_model(session=session, version=row.version, agency=agency, by=by)
    return row


def active_model_row(*, session: Session, agency: str) -> RiskModelRow | None:
    """The model that scores ``agency``'s arriving declarations, or None when none is active."""
    return session.scalar(
        select(RiskModelRow).where(RiskModelRow.agency == agency, RiskModelRow.active).limit(1)
    )


def activate_model(*, session: Session, version: str, agency: str, by: str) -> RiskModelRow:
    """Make ``version`` ``agency``'s one active model (promote, or roll back to an earlier one); the
    previously active version stays registered, inactive. ``NotFoundError`` for a version the agency does
    not hold."""
    row = session.scalar(
        select(RiskModelRow).where(RiskModelRow.version == version, RiskModelRow.agency == agency)
    )
    if row is None:
        raise NotFoundError(f"no model version {version} registered for agency {agency!r}")
    # One statement clears the others: two promotions at once leave one active (the later commit wins on
    # PostgreSQL's row locks; SQLite's write lock orders them).
    session.execute(
        update(RiskModelRow)
        .where(RiskModelRow.agency == agency, RiskModelRow.id != row.id, RiskModelRow.active)
        .values(active=False)
    )
    row.active = True
    row.activated_at = datetime.now(UTC)
    row.activated_by = by
    session.flush()
    return row


def previous_model_row(*, session: Session, agency: str) -> RiskModelRow:
    """The version that was active before the current one (what a roll back activates)."""
    row = session.scalar(
        select(RiskModelRow)
        .where(RiskModelRow.agency == agency, ~RiskModelRow.active, RiskModelRow.activated_at.is_not(None))
        .order_by(RiskModelRow.activated_at.desc(), RiskModelRow.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFoundError(f"agency {agency!r} has no earlier active model to roll back to")
    return row


def list_models(*, session: Session, agency: str | None = None) -> list[RiskModelRow]:
    """Registered versions, newest first."""
    query = select(RiskModelRow).order_by(RiskModelRow.id.desc())
    if agency is not None:
        query = query.where(RiskModelRow.agency == agency)
    return list(session.scalars(query))


def get_model_row(*, session: Session, agency: str, version: str | None = None) -> RiskModelRow:
    """The given version of ``agency``, or its active one."""
    if version is None:
        row = active_model_row(session=session, agency=agency)
        if row is None:
            raise NotFoundError(
                f"agency {agency!r} has no active model; run 'borderwatch train', or promote a registered "
                "one with 'borderwatch models promote VERSION'"
            )
        return row
    found = session.scalar(
        select(RiskModelRow).where(RiskModelRow.version == version, RiskModelRow.agency == agency)
    )
    if found is None:
        raise NotFoundError(f"no model version {version} in agency {agency!r}'s registry")
    return found


def load_model(*, session: Session, agency: str, version: str | None = None) -> RiskModel:
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
            "reason_codes": codes_to_json(row["reason_codes"]),
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


def store_reasons(*, row: RiskScoreRow, reasons: Sequence[str], reason_codes: Sequence[str]) -> None:
    """Completes a score stored without the model's reasons (``unexplained_score``) with its full reasons
    and their codes (as a frame row holds them)."""
    row.reasons = list(reasons)
    row.reason_codes = codes_to_json(reason_codes)
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
                "reason_codes": codes_from_json(r.reason_codes),
                "model_version": r.model_version,
                "explained": r.explained,
            }
            for r in found
        ],
        schema=schema,
    ).sort("score", descending=True)
