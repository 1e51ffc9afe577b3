"""Scoring throughput and latency through the public API, against a bare LightGBM predict (the ceiling).

    .venv/bin/python bench/scoring.py [--quick]

On generated traffic (100,000 declarations over a year; 20,000 with --quick, from ``borderwatch.synthetic``),
a model is trained on the first 80 % of days; the last 20 % (about 73 days) are then scored:

- ceiling: ``Booster.predict`` on the ready feature matrix of the same rows, one thread as in the product,
  of the two boosters a score needs (fraud and duty), and of the fraud booster alone;
- batch (ranking): ``RiskModel.score(..., explain=NO_EXPLANATION, snapshot=...)`` with the history snapshot
  of the day before the batch (``RiskModel.prepare``, built once and timed apart, as a service keeps it):
  time-safe features of every day of the batch, both models, risk profiles, anomaly flags, per-declaration
  output;
- batch (ranking, full history): the same without a snapshot, every history feature computed from the whole
  history in the call;
- batch (with reasons): with TreeSHAP reason sentences for every declaration, and for the riskiest 10 % only
  (``ExplainPolicy(top_items=...)``, what a worklist needs), from the snapshot;
- single declaration (live): ``RiskModel.score`` of one declaration of the first batch day at a time, with
  the snapshot (reasons included), after a few untimed warm-up calls: p50 / p99 latency;
- single declaration (no snapshot): the same recomputing history features from the full history.

The goal (batch ≥ 50 % of the ceiling) is judged on the snapshot batch against the fraud + duty ceiling: a
score is defined by both models (the ranking blends fraud probability and expected duty), so predicting the
second booster is the ceiling's work, not overhead of the product. The ratio against the fraud booster alone
is printed and written beside it. Prints a table and writes bench/results/scoring.json.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.scoring.profiles import default_profiles
from borderwatch.scoring.risk_model import NO_EXPLANATION, ExplainPolicy, RiskModel, train_risk_model
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

BENCH_DIR = Path(__file__).resolve().parent


def _frames(declarations: int, scratch: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    traffic = generate_traffic(
        GeneratorConfig(declarations=declarations, seed=42, start=date(2024, 1, 1), days=365)
    )
    path = scratch / "traffic.csv"
    write_traffic(traffic, path)
    return read_kcs_frames(path)


def _best(function: Any, repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs (the machine is shared; the best run is the least disturbed)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 declarations, fewer single-row samples")
    args = parser.parse_args()
    total = 20_000 if args.quick else 100_000
    samples = 200 if args.quick else 500
    console = Console(width=130)
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        declarations, outcomes = _frames(total, Path(scratch))
    days = declarations["declared_on"].unique().sort()
    cut = days[int(len(days) * 0.8)]
    train = declarations.filter(pl.col("declared_on") < cut)
    known = outcomes.filter(pl.col("recorded_on") < cut)
    batch = declarations.filter(pl.col("declared_on") >= cut)
    profiles = default_profiles()
    console.print(f"{declarations.height} declarations; training on {train.height}, scoring {batch.height}")
    started = time.perf_counter()
    model = train_risk_model(declarations=train, outcomes=known, seed=42)
    train_seconds = time.perf_counter() - started

    repeat = 2 if args.quick else 3
    snapshot_time, snapshot = _best(lambda: RiskModel.prepare(history=train, outcomes=known), 1)

    def batch_score(**options: Any) -> pl.DataFrame:
        return model.score(
            declarations=batch, history=declarations, outcomes=known, profiles=profiles, **options
        )

    features = model.features(declarations=batch, history=declarations, outcomes=known)
    matrix = model.encoder.matrix(features)
    # The ceilings and the snapshot batch (each well under a second) run in turns, best of seven each: load
    # from other users of the machine then weighs on all three alike, and each gets an undisturbed run.
    # The product predicts with one thread (RiskModel.predict); so does the ceiling.
    fraud_time = duty_time = ranking_time = float("inf")
    for _ in range(7):
        fraud_time = min(fraud_time, _best(lambda: model.fraud_booster.predict(matrix, num_threads=1), 1)[0])
        duty_time = min(duty_time, _best(lambda: model.duty_booster.predict(matrix, num_threads=1), 1)[0])
        ranking_time = min(
            ranking_time, _best(lambda: batch_score(explain=NO_EXPLANATION, snapshot=snapshot), 1)[0]
        )
    ceiling_time = fraud_time + duty_time
    full_time, _ = _best(lambda: batch_score(explain=NO_EXPLANATION), repeat)
    reasons_time, _ = _best(lambda: batch_score(snapshot=snapshot), 1)
    top_n = max(1, batch.height // 10)
    top_time, _ = _best(lambda: batch_score(explain=ExplainPolicy(top_items=top_n), snapshot=snapshot), 1)

    # Live: the history known before the first scored day, one declaration at a time.
    first_day = batch.filter(pl.col("declared_on") == cut)
    rng = np.random.default_rng(0)
    picks = rng.choice(first_day.height, size=samples, replace=True)

    def live(index: int, **options: Any) -> float:
        one = first_day.slice(index, 1)
        started = time.perf_counter()
        model.score(declarations=one, history=train, outcomes=known, profiles=profiles, **options)
        return time.perf_counter() - started

    for index in picks[:5]:  # first calls pay one-off costs (lazy imports, caches): not what a service sees
        live(int(index), snapshot=snapshot)
    single = [live(int(index), snapshot=snapshot) for index in picks]
    full = [live(int(index)) for index in picks[: max(5, len(picks) // 10)]]

    rows = batch.height
    result: dict[str, Any] = {
        "declarations": total,
        "scored": rows,
        "batch_days": batch["declared_on"].n_unique(),
        "train_seconds": train_seconds,
        "snapshot_seconds": snapshot_time,
        "ceiling_predict_per_s": rows / ceiling_time,
        "ceiling_fraud_only_per_s": rows / fraud_time,
        "batch_ranking_per_s": rows / ranking_time,
        "ratio_ranking_to_ceiling": ceiling_time / ranking_time,
        "ratio_ranking_to_fraud_only": fraud_time / ranking_time,
        "batch_ranking_full_history_per_s": rows / full_time,
        "ratio_ranking_full_history_to_ceiling": ceiling_time / full_time,
        "ratio_ranking_full_history_to_fraud_only": fraud_time / full_time,
        "batch_reasons_per_s": rows / reasons_time,
        "ratio_reasons_to_ceiling": ceiling_time / reasons_time,
        "batch_reasons_top10_per_s": rows / top_time,
        "ratio_reasons_top10_to_ceiling": ceiling_time / top_time,
        "single_live_p50_ms": float(np.percentile(single, 50) * 1000),
        "single_live_p99_ms": float(np.percentile(single, 99) * 1000),
        "single_live_samples": len(single),
        "single_full_p50_ms": float(np.percentile(full, 50) * 1000),
        "single_full_p99_ms": float(np.percentile(full, 99) * 1000),
        "goal": {"batch_ratio": 0.5, "judged_on": "ratio_ranking_to_ceiling", "single_p99_ms": 20},
    }
    table = Table(
        title=f"scoring: {rows} declarations over {result['batch_days']} days (history {total}), 1 thread"
    )
    for column in ("path", "declarations/s", "vs ceiling", "vs fraud only", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right" if column != "path" else "left")

    def batch_row(name: str, seconds: float) -> None:
        table.add_row(
            name,
            f"{rows / seconds:,.0f}",
            f"{ceiling_time / seconds:.2f}",
            f"{fraud_time / seconds:.2f}",
            "",
            "",
        )

    batch_row("ceiling: LightGBM predict, fraud + duty", ceiling_time)
    batch_row("ceiling: LightGBM predict, fraud only", fraud_time)
    batch_row("batch, ranking (no explanation), snapshot", ranking_time)
    batch_row("batch, ranking, full history", full_time)
    batch_row("batch, with reasons, snapshot", reasons_time)
    batch_row("batch, reasons for riskiest 10 %, snapshot", top_time)
    table.add_row(
        "single, live snapshot",
        "",
        "",
        "",
        f"{result['single_live_p50_ms']:.1f}",
        f"{result['single_live_p99_ms']:.1f}",
    )
    table.add_row(
        "single, full history",
        "",
        "",
        "",
        f"{result['single_full_p50_ms']:.1f}",
        f"{result['single_full_p99_ms']:.1f}",
    )
    table.add_row(f"snapshot of the history (once): {snapshot_time:.2f} s", "", "", "", "", "")
    console.print(table)
    out = BENCH_DIR / "results" / "scoring.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    console.print(f"→ {out.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
