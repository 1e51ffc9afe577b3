"""Every shipped training scenario: how the model and a random choice do on its queue, at its budget.

    .venv/bin/python bench/training.py [--seeds 3]

For each scenario and seed (the same queues as ``borderwatch training queue SCENARIO --seed S``), in one run:
the queue's fraud rate, the hit rate (share of red choices that were frauds) and share of the duty at stake
recovered by the model's top-``budget`` choice (the production model trained on the queue's history only)
and by a random choice of ``budget`` declarations (its expectation: the baseline), the model's lift over
random, and what a trainee who saw every planted indicator would reach (the oracle: every fraud, within the
budget). Writes bench/results/training.json. The machine is shared and loaded: seconds are indicative only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from statistics import mean
from typing import Any

from rich.console import Console
from rich.table import Table

from borderwatch.training.exercise import build_exercise
from borderwatch.training.grading import Choice, grade
from borderwatch.training.scenarios import load_scenarios

RESULTS = Path(__file__).parent / "results" / "training.json"


def run(seeds: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for scenario in load_scenarios():
        per_seed = []
        for seed in range(1, seeds + 1):
            started = time.perf_counter()
            exercise = build_exercise(scenario, seed=seed)
            frauds = sorted(
                (t for t in exercise.truth if t["fraud"]), key=lambda t: -float(t["evaded_duty"])
            )[: exercise.budget]
            oracle = grade(exercise, [Choice(t["lrn"], "red", 1.0) for t in frauds])
            model = oracle.model
            assert model is not None
            per_seed.append(
                {
                    "seed": seed,
                    "fraud_rate": oracle.random.hit_rate,
                    "model_hit_rate": model.hit_rate,
                    "model_duty_share": model.duty_recovered_share,
                    "random_hit_rate": oracle.random.hit_rate,
                    "random_duty_share": oracle.random.duty_recovered_share,
                    "oracle_hit_rate": oracle.trainee.hit_rate,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        rows.append(
            {
                "scenario": scenario.id,
                "size": scenario.queue.size,
                "budget": scenario.queue.budget,
                "seeds": per_seed,
                **{
                    key: round(mean(float(s[key] or 0.0) for s in per_seed), 4)
                    for key in (
                        "fraud_rate",
                        "model_hit_rate",
                        "model_duty_share",
                        "random_hit_rate",
                        "random_duty_share",
                        "oracle_hit_rate",
                    )
                },
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="queues per scenario (seeds 1..N)")
    args = parser.parse_args()
    rows = run(args.seeds)
    table = Table(
        title=f"Training scenarios: model and random at the scenario's budget (mean of {args.seeds} seeds)"
    )
    for column in (
        "scenario",
        "n",
        "k",
        "fraud rate",
        "model hit",
        "random hit",
        "lift",
        "model duty",
        "random duty",
    ):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for row in rows:
        lift = row["model_hit_rate"] / row["random_hit_rate"] if row["random_hit_rate"] else float("nan")
        table.add_row(
            row["scenario"],
            str(row["size"]),
            str(row["budget"]),
            f"{100 * row['fraud_rate']:.1f} %",
            f"{100 * row['model_hit_rate']:.1f} %",
            f"{100 * row['random_hit_rate']:.1f} %",
            f"{lift:.2f}x",
            f"{100 * row['model_duty_share']:.1f} %",
            f"{100 * row['random_duty_share']:.1f} %",
        )
    Console(width=140).print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps({"seeds": args.seeds, "scenarios": rows}, indent=2) + "\n", encoding="utf-8"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
