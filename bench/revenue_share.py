"""How ``ModelParams.revenue_share`` is chosen: the rule, run on a time split inside the training year.

python bench/revenue_share.py [--quick] [--data-dir ../shared/data/kcs]

Trains on 2020 January-September of the KCS training file and scores October-December with none of their
outcomes (``scoring.evaluate``), beside the plain baseline trained in the same run. For each candidate share
it prints precision and duty recall at 1, 2, 5, 10 and 20 % against the baseline's, and picks the smallest
share that beats the baseline on both at every rate: the revenue ranking costs precision at the very top, so
it should take no more of the worklist than it needs to. The validation quarter (2021 Q1) is not read.
Writes bench/results/revenue_share.json. ``--quick`` runs the rule on 4,000 generated declarations.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.scoring.evaluate import (
    RATES,
    baseline_scores,
    graded_test_period,
    ranking_report,
    score_test_period,
    train_baseline,
    training_labels,
)
from borderwatch.scoring.model import ModelParams
from borderwatch.scoring.risk_model import NO_EXPLANATION

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CANDIDATES = [0.0, 0.05, 0.08, 0.10, 0.12, 0.14, 0.15, 0.16, 0.17, 0.18, 0.19, 0.20, 0.25]


def load(args: argparse.Namespace) -> tuple[pl.DataFrame, pl.DataFrame, dt.date, str]:
    if args.quick:
        from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "traffic.csv"
            write_traffic(generate_traffic(GeneratorConfig(declarations=4000, seed=1, days=90)), path)
            declarations, outcomes = read_kcs_frames(path)
        first = declarations["declared_on"].min()
        assert isinstance(first, dt.date)
        return declarations, outcomes, first + dt.timedelta(days=60), "generated, days 1-60 → 61-90"
    path = args.data_dir / "df_syn_train_eng.csv"
    if not path.exists():
        raise SystemExit(f"KCS data not found: {path}")
    declarations, outcomes = read_kcs_frames(path)
    return declarations, outcomes, dt.date(2020, 10, 1), "KCS 2020 Jan-Sep → Oct-Dec"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "kcs")
    args = parser.parse_args()
    declarations, outcomes, cut, label = load(args)
    early = declarations.filter(pl.col("declared_on") < cut)
    late = declarations.filter(pl.col("declared_on") >= cut)
    early_outcomes = outcomes.filter(pl.col("lrn").is_in(early["lrn"].implode()))
    late_outcomes = outcomes.filter(pl.col("lrn").is_in(late["lrn"].implode()))

    model, _, known = score_test_period(
        train_declarations=early, train_outcomes=early_outcomes, test_declarations=late
    )
    features = model.features(
        declarations=late, history=pl.concat([early, late], how="vertical"), outcomes=known
    )
    graded = graded_test_period(late, late_outcomes)
    labels = graded["fraud"].fill_null(0).to_numpy()
    duty = graded["duty"].to_numpy()
    train_labels = training_labels(early, known)
    baseline = ranking_report(
        labels, baseline_scores(train_baseline(early, train_labels, seed=42), late, graded), duty
    )

    console = Console(width=160)
    table = Table(title=f"revenue share on {label}: precision / duty recall (baseline in the first row)")
    table.add_column("share")
    for rate in RATES:
        table.add_column(f"{rate} %", justify="right")
    table.add_column("beats the baseline everywhere")

    def cells(report: dict[str, Any]) -> list[str]:
        return [
            f"{report['at'][str(r)]['precision']:.3f} / {report['at'][str(r)]['duty_recall']:.3f}"
            for r in RATES
        ]

    table.add_row("baseline", *cells(baseline), "")
    results: dict[str, Any] = {}
    chosen: float | None = None
    for share in CANDIDATES:
        model.params = dataclasses.replace(model.params, revenue_share=share)
        scores = model.score_features(features, explain=NO_EXPLANATION)
        ours = graded.join(scores.select("lrn", "score"), on="lrn", how="left", maintain_order="left")
        report = ranking_report(labels, ours["score"].fill_null(0).to_numpy(), duty)
        beats = all(
            report["at"][str(r)][metric] > baseline["at"][str(r)][metric]
            for r in RATES
            for metric in ("precision", "duty_recall")
        )
        if beats and chosen is None:
            chosen = share
        results[f"{share:.2f}"] = {"report": report, "beats_baseline": beats}
        table.add_row(f"{share:.2f}", *cells(report), "yes" if beats else "no")
    console.print(table)
    shown = "none" if chosen is None else f"{chosen:.2f}"
    console.print(f"chosen: {shown} (ModelParams default: {ModelParams().revenue_share})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "data": label,
        "baseline": baseline,
        "candidates": results,
        "chosen": chosen,
        "current_default": ModelParams().revenue_share,
        "test_rows": int(np.asarray(labels).size),
    }
    (RESULTS / "revenue_share.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    console.print(f"written {RESULTS / 'revenue_share.json'}")


if __name__ == "__main__":
    main()
