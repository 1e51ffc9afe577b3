"""A trained risk model adds manifest discrepancies as points and a reason naming the consignment.

Trains a model on generated traffic, so it lives here rather than in the unit tests
(``tests/unit/test_scoring_manifest.py`` has the rest of the manifest evidence).
"""

from __future__ import annotations

import polars as pl

from borderwatch.features.reconcile import DISCREPANCY_SCHEMA


def test_risk_model_adds_manifest_reasons_and_points() -> None:
    from borderwatch.scoring.model import ModelParams
    from borderwatch.scoring.risk_model import NO_EXPLANATION, train_risk_model
    from tests.unit.scoring_support import traffic_frames

    declarations, outcomes = traffic_frames()
    model = train_risk_model(
        declarations=declarations,
        outcomes=outcomes,
        seed=3,
        params=ModelParams(fraud_rounds=20, duty_rounds=10, learning_rate=0.1),
    )
    day = declarations["declared_on"].max()
    batch = declarations.filter(pl.col("declared_on") == day).head(3)
    target = batch["lrn"][0]
    found = pl.DataFrame(
        [("hs_conflict", target, "M", "BL1", None, None, None, None)], schema=DISCREPANCY_SCHEMA, orient="row"
    )
    history = declarations.filter(pl.col("declared_on") < day)
    plain = model.score(declarations=batch, history=history, outcomes=outcomes, explain=NO_EXPLANATION)
    flagged = model.score(
        declarations=batch,
        history=history,
        outcomes=outcomes,
        explain=NO_EXPLANATION,
        manifest_discrepancies=found,
    )
    before = dict(zip(plain["lrn"], plain["score"], strict=True))
    after = dict(zip(flagged["lrn"], flagged["score"], strict=True))
    reasons = dict(zip(flagged["lrn"], flagged["reasons"], strict=True))
    assert after[target] > before[target]
    assert reasons[target][0] == "manifest: no goods item of an HS chapter consignment BL1 carries"
    assert all(after[lrn] == before[lrn] for lrn in before if lrn != target)
