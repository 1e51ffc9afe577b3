"""The web's refresh of a scoring day's history: moving its snapshot forward against reading it all again.

    .venv/bin/python bench/day_history.py [--quick]

Set-up (not timed): generated traffic (``borderwatch.synthetic``: 24,000 declarations over 56 days, 3,000
with --quick) in a fresh SQLite database through the ingest service. The scoring day is the traffic's last
weekday; the weekday before it (its declarations and their results) is held back. The web's history for
the scoring day (``scoring.online.day_history``) is read once; then the held-back day arrives, as a late batch
file does.
Timed, best of ``REPEAT`` runs in turns (the machine is shared):

- full read: ``day_history`` without a previous read: every declaration and result dated before the day
  loaded from the store, aggregated by ``RiskModel.prepare`` (what every refresh did before);
- refresh, new records: ``day_history`` from the first read: the store's per-day counts, the records dated
  after the first read's snapshot loaded, the snapshot moved forward (``RiskModel.advance``);
- refresh, nothing new: the same from the refreshed history, when nothing was stored since (the usual case:
  records of the day itself do not touch its history).

Checks that the refreshed history gives the features and scores of the full read (declarations of the
scoring day), then prints a table with each refresh's ratio to the full read and writes
bench/results/day_history.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal
from rich.console import Console
from rich.table import Table

from borderwatch.db.session import make_engine, migrate
from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.ingest.service import ingest_file
from borderwatch.scoring.model import ModelParams
from borderwatch.scoring.online import DayHistory, day_history
from borderwatch.scoring.risk_model import train_risk_model
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

BENCH_DIR = Path(__file__).resolve().parent
AGENCY = "bench"
REPEAT = 7


def _seconds(function: Callable[[], DayHistory]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3,000 declarations")
    args = parser.parse_args()
    total = 3_000 if args.quick else 24_000
    console = Console(width=120)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        traffic = generate_traffic(
            GeneratorConfig(declarations=total, seed=7, start=date(2026, 1, 5), days=56)
        )
        csv = folder / "traffic.csv"
        write_traffic(traffic, csv)
        declarations, outcomes = read_kcs_frames(csv, agency=AGENCY)
        rows = pl.read_csv(csv, infer_schema=False)
        # the scoring day: the last weekday of the traffic; the weekday before it arrives late
        weekdays = sorted(d for d in set(rows["Date"].to_list()) if date.fromisoformat(d).weekday() < 5)
        day, late_day = date.fromisoformat(weekdays[-1]), weekdays[-2]
        rows.filter(pl.col("Date") != late_day).write_csv(folder / "history.csv")
        rows.filter(pl.col("Date") == late_day).write_csv(folder / "late.csv")
        engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        migrate(engine)
        ingest_file(engine=engine, path=folder / "history.csv", fmt="kcs", agency=AGENCY)
        first = day_history(engine, agency=AGENCY, day=day)
        ingest_file(engine=engine, path=folder / "late.csv", fmt="kcs", agency=AGENCY)
        late = rows.filter(pl.col("Date") == late_day).height
        console.print(f"{rows.height} declarations; {late} of {late_day} stored after the first read")

        refreshed = day_history(engine, agency=AGENCY, day=day, previous=first)
        timings: dict[str, float] = {"full": float("inf"), "advance": float("inf"), "unchanged": float("inf")}
        runs: dict[str, Callable[[], DayHistory]] = {
            "full": lambda: day_history(engine, agency=AGENCY, day=day),
            "advance": lambda: day_history(engine, agency=AGENCY, day=day, previous=first),
            "unchanged": lambda: day_history(engine, agency=AGENCY, day=day, previous=refreshed),
        }
        for _ in range(REPEAT):
            for name, run in runs.items():
                timings[name] = min(timings[name], _seconds(run))

        # the same features and scores as the full read, for declarations of the scoring day
        full = day_history(engine, agency=AGENCY, day=day)
        assert refreshed.snapshot is not first.snapshot and refreshed.snapshot.as_of == full.snapshot.as_of
        model = train_risk_model(
            declarations=declarations,
            outcomes=outcomes,
            seed=1,
            params=ModelParams(fraud_rounds=40, duty_rounds=20, learning_rate=0.1),
        )
        targets = declarations.filter(pl.col("declared_on") == day)
        scored = [
            model.score(declarations=targets, history=k.history, outcomes=k.outcomes, snapshot=k.snapshot)
            for k in (refreshed, full)
        ]
        assert_frame_equal(*scored)
        engine.dispose()

    result: dict[str, Any] = {
        "quick": args.quick,
        "declarations": rows.height,
        "late_declarations": late,
        "full_read_s": round(timings["full"], 4),
        "refresh_advance_s": round(timings["advance"], 4),
        "refresh_unchanged_s": round(timings["unchanged"], 4),
        "ratio_full_to_advance": round(timings["full"] / timings["advance"], 2),
        "ratio_full_to_unchanged": round(timings["full"] / timings["unchanged"], 1),
        "checked_declarations": targets.height,
    }
    table = Table(title=f"history of a scoring day: {rows.height} declarations, SQLite, best of {REPEAT}")
    for column in ("read", "seconds", "full read / this"):
        table.add_column(column, justify="left" if column == "read" else "right")
    table.add_row("full read (every refresh before)", f"{timings['full']:.3f}", "1.0")
    table.add_row(
        f"refresh, {late} late declarations",
        f"{timings['advance']:.3f}",
        f"{result['ratio_full_to_advance']}",
    )
    table.add_row(
        "refresh, nothing new", f"{timings['unchanged']:.4f}", f"{result['ratio_full_to_unchanged']}"
    )
    console.print(table)
    console.print(f"features and scores of {targets.height} declarations equal to the full read's")
    out = BENCH_DIR / "results" / "day_history.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    console.print(f"→ {out.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
