"""Retraining on the labels gathered so far, with inverse-propensity weights from the lane decisions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from borderwatch.core.errors import BorderwatchError
from borderwatch.feedback.weights import IPW_CAP, label_weights
from borderwatch.ingest.store import load_declarations, load_outcomes
from borderwatch.lanes.service import decisions_frame
from borderwatch.scoring.risk_model import RiskModel, train_risk_model


@dataclass(frozen=True)
class RetrainResult:
    model: RiskModel
    labels: int
    weighted: int


def retrain(
    *, engine: Engine, session: Session, agency: str = "default", clip: float = IPW_CAP, seed: int = 42
) -> RetrainResult:
    """Trains a new risk model on every outcome stored for ``agency``; a control-sample label counts
    1 / control rate times (capped at ``clip``), so the few randomly drawn inspections speak for the traffic
    that was released unseen."""
    outcomes = load_outcomes(engine, agency=agency)
    if outcomes.height == 0:
        raise BorderwatchError("no inspection outcomes recorded yet: nothing to retrain on")
    declarations = load_declarations(engine, agency=agency)
    weights = label_weights(decisions_frame(session=session, agency=agency), outcomes, clip=clip)
    model = train_risk_model(declarations=declarations, outcomes=outcomes, weights=weights, seed=seed)
    return RetrainResult(model=model, labels=weights.height, weighted=int((weights["weight"] > 1.0).sum()))
