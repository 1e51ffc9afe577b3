"""Replay simulation on the KCS data (train + valid, date order) at 10 % per 7-day window.

python bench/simulate.py [--quick] [--data-dir ../shared/data/kcs] [--seeds 42 1 2 3]

Baseline: the ``random`` strategy in the same run (ratios are precision / random's precision). Also reports
wall time per replay (goal: under 10 minutes on 2 cores), the control sample's non-compliance estimate
against the true fraud rate, and writes bench/results/simulate.json (+ simulate.png, of the first seed).
With several ``--seeds`` (the seed draws the control sample, the random choices and the models' bagging),
the table shows the mean over seeds and the spread (min-max) of each strategy. ``--quick`` replays 4,000
generated declarations instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from borderwatch.feedback.replay import STRATEGIES, SimulationConfig, plot_precision, simulate
from borderwatch.ingest.frame import read_kcs_frames

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def load(args: argparse.Namespace) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    if args.quick:
        from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "traffic.csv"
            write_traffic(generate_traffic(GeneratorConfig(declarations=4000, seed=1, days=90)), path)
            declarations, outcomes = read_kcs_frames(path)
        return declarations, outcomes, "generated 4,000 declarations over 90 days"
    files = [args.data_dir / "df_syn_train_eng.csv", args.data_dir / "df_syn_valid_eng.csv"]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise SystemExit(f"KCS data not found: {', '.join(missing)}")
    frames = [read_kcs_frames(f) for f in files]
    return (
        pl.concat([d for d, _ in frames]),
        pl.concat([o for _, o in frames]),
        "KCS train + valid (2020-01 to 2021-03)",
    )


def _spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.3f}"
    return f"{mean:.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="strategies replayed in parallel")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "kcs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="one replay per seed")
    args = parser.parse_args()
    declarations, outcomes, label = load(args)
    documents: dict[int, dict[str, Any]] = {}
    seconds: dict[int, float] = {}
    for seed in args.seeds:
        started = time.perf_counter()
        documents[seed] = simulate(
            declarations=declarations,
            outcomes=outcomes,
            strategies=list(STRATEGIES),
            config=SimulationConfig(seed=seed),
            workers=args.workers,
        )
        seconds[seed] = time.perf_counter() - started
    runs = list(documents.values())
    summaries = {name: [run["strategies"][name]["summary"] for run in runs] for name in STRATEGIES}
    baseline = statistics.fmean(s["precision"] for s in summaries["random"]) or 1e-9
    seeds = ", ".join(str(seed) for seed in args.seeds)
    table = Table(
        title=f"Replay at 10 % per week: {label}, seed(s) {seeds} "
        f"({statistics.fmean(seconds.values()):.0f} s per replay)"
    )
    for column in ("strategy", "precision", "last 13", "recall", "duty recall", "x random"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for name, results in summaries.items():
        table.add_row(
            name,
            _spread([s["precision"] for s in results]),
            _spread([s["precision_last13"] for s in results]),
            _spread([s["recall"] for s in results]),
            _spread([s["duty_recall"] for s in results]),
            f"{statistics.fmean(s['precision'] for s in results) / baseline:.2f}",
        )
    console = Console(width=140)  # the spread columns wrap at the 80 columns of a pipe
    console.print(table)
    truth = runs[0]["true_fraud_rate"]
    for seed, document in documents.items():
        control = document["strategies"]["borderwatch"]["summary"].get("control_estimate", {})
        if control:
            console.print(
                f"seed {seed}: borderwatch control sample (n={control['n']}): {control['rate']:.3f} "
                f"[{control['low']:.3f}, {control['high']:.3f}] vs true {truth:.3f} "
                f"(off by {abs(control['rate'] - truth) * 100:.1f} points)"
            )
            picks = document["strategies"]["borderwatch"]["summary"]["model_picks"]
            console.print(
                f"seed {seed}: borderwatch's model picks: precision {picks['precision']:.3f}; "
                f"random draws took {picks['random_share']:.1%} of the budget"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    first = runs[0]
    summary = {
        "data": label,
        "seeds": args.seeds,
        "seconds": seconds[args.seeds[0]],
        "seconds_per_seed": {str(seed): value for seed, value in seconds.items()},
        "baseline": "random",
        "true_fraud_rate": truth,
        "summaries": {name: first["strategies"][name]["summary"] for name in STRATEGIES},
        "summaries_per_seed": {
            str(seed): {name: r["summary"] for name, r in document["strategies"].items()}
            for seed, document in documents.items()
        },
        "ratios_vs_random": {
            name: statistics.fmean(s["precision"] for s in results) / baseline
            for name, results in summaries.items()
        },
        "document": first,
    }
    (RESULTS / "simulate.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    plot_precision(first, RESULTS / "simulate.png")
    console.print(f"written {RESULTS / 'simulate.json'}")


if __name__ == "__main__":
    main()
