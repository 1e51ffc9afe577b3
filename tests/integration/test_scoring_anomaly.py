"""Anomaly flags and sentences are the same whether a batch is large (per-detector plan) or a few rows."""

from __future__ import annotations

from datetime import date

import polars as pl

from borderwatch.features.build import build_features
from borderwatch.scoring.anomaly import SMALL_FRAME, detect_anomalies
from tests.unit.scoring_support import traffic_frames


def test_a_large_batch_gets_the_flags_and_sentences_of_its_rows_scored_alone() -> None:
    declarations, outcomes = traffic_frames()
    day = date(2024, 3, 4)
    history = declarations.filter(pl.col("declared_on") <= day)
    features = build_features(
        declarations=history.filter(pl.col("declared_on") >= date(2024, 2, 1)),
        history=history,
        outcomes=outcomes.filter(pl.col("recorded_on") < day),
    )
    assert features.height > 10 * SMALL_FRAME
    batch = detect_anomalies(features)
    alone = pl.concat([detect_anomalies(features.slice(row, 1)) for row in range(features.height)])
    assert batch.equals(alone)
    # not vacuous: several detectors fire, some rows more than once, most not at all
    flags = batch["anomaly_flags"]
    assert flags.explode().drop_nulls().n_unique() >= 3
    assert (flags.list.len() >= 2).any()
    assert (flags.list.len() == 0).any()
    assert batch["anomaly_reasons"].list.len().equals(flags.list.len())
