"""Replay simulation on the KCS data (train + valid, date order) at 10 % per 7-day window.

python bench/simulate.py [--quick] [--data-dir ../shared/data/kcs]

Baseline: the ``random`` strategy in the same run (ratios are precision / random's precision). Also reports
wall time (goal: under 10 minutes on 2 cores), the control sample's non-compliance estimate against the
true fraud rate, and writes bench/results/simulate.json (+ simulate.png). ``--quick`` replays 4,000
generated declarations instead.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from borderwatch.feedback.simulation import STRATEGIES, plot_precision, simulate
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="strategies replayed in parallel")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "kcs")
    args = parser.parse_args()
    declarations, outcomes, label = load(args)
    started = time.perf_counter()
    document = simulate(
        declarations=declarations, outcomes=outcomes, strategies=list(STRATEGIES), workers=args.workers
    )
    seconds = time.perf_counter() - started
    baseline = document["strategies"]["random"]["summary"]["precision"] or 1e-9
    table = Table(title=f"Replay at 10 % per week: {label} ({seconds:.0f} s)")
    for column in ("strategy", "precision", "last 13", "recall", "duty recall", "x random"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for name, result in document["strategies"].items():
        s = result["summary"]
        table.add_row(
            name,
            f"{s['precision']:.3f}",
            f"{s['precision_last13']:.3f}",
            f"{s['recall']:.3f}",
            f"{s['duty_recall']:.3f}",
            f"{s['precision'] / baseline:.2f}",
        )
    console = Console()
    console.print(table)
    control = document["strategies"]["borderwatch"]["summary"].get("control_estimate", {})
    truth = document["true_fraud_rate"]
    if control:
        console.print(
            f"borderwatch control sample (n={control['n']}): {control['rate']:.3f} "
            f"[{control['low']:.3f}, {control['high']:.3f}] vs true {truth:.3f} "
            f"(off by {abs(control['rate'] - truth) * 100:.1f} points)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {
        "data": label,
        "seconds": seconds,
        "baseline": "random",
        "true_fraud_rate": truth,
        "summaries": {name: r["summary"] for name, r in document["strategies"].items()},
        "ratios_vs_random": {
            name: r["summary"]["precision"] / baseline for name, r in document["strategies"].items()
        },
        "document": document,
    }
    (RESULTS / "simulate.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    plot_precision(document, RESULTS / "simulate.png")
    console.print(f"written {RESULTS / 'simulate.json'}")


if __name__ == "__main__":
    main()
