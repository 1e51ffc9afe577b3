"""A backlog re-scored with Spark (``pipeline.spark``, ``mapInArrow`` over partitions of days) against the
single-process Polars path (``pipeline.spark.score_period``, what ``borderwatch score --since --until`` runs),
with the scores checked identical.

    .venv/bin/python bench/spark.py [--rows 1000000] [--days 90] [--master local[2]] [--parts 4]

Set-up (not timed): ``--rows`` generated declarations over ``--days`` days (``borderwatch.synthetic``), read
with the KCS reader; a model trained on the first quarter of the days; the backlog (the other days) written
as Parquet for the executors. Timed: the Polars path in this process, then Spark (session started and
warmed up on one day beforehand: JVM start-up is not the backlog's cost). Both results are compared column
by column (reasons included).

Prints a table and writes bench/results/spark.json. The machine has 2 cores shared with other people's
work: ``local[2]`` has no idle core to win on, so the ratio says what Spark costs here, not what a cluster
gains.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.pipeline.spark import BacklogFiles, rescore_with_spark, score_period, spark_session
from borderwatch.scoring.risk_model import train_risk_model
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

RESULTS = Path(__file__).parent / "results" / "spark.json"
START = date(2026, 1, 5)
console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--parts", type=int, default=4, help="partitions of days")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "rows": args.rows,
        "days": args.days,
        "master": args.master,
        "parts": args.parts,
        "load_average_at_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        with console.status(f"generating {args.rows:,} declarations"):
            traffic = generate_traffic(
                GeneratorConfig(declarations=args.rows, seed=11, start=START, days=args.days)
            )
            write_traffic(traffic, folder / "traffic.csv")
            declarations, outcomes = read_kcs_frames(folder / "traffic.csv", agency="a")
        cut = START + timedelta(days=args.days // 4)
        with console.status("training the model on the first quarter"):
            model = train_risk_model(
                declarations=declarations.filter(pl.col("declared_on") < cut),
                outcomes=outcomes.filter(pl.col("recorded_on") < cut),
                seed=1,
            )
            model.save(folder / "model.json")
        files = BacklogFiles.write(
            folder / "parquet", declarations=declarations, outcomes=outcomes, model=folder / "model.json"
        )
        until = START + timedelta(days=args.days - 1)
        backlog = declarations.filter(pl.col("declared_on").is_between(cut, until)).height
        results["backlog"] = backlog

        begun = time.perf_counter()
        single = score_period(
            model=model, declarations=declarations, outcomes=outcomes, since=cut, until=until, profiles=[]
        )
        results["polars_seconds"] = time.perf_counter() - begun
        console.log(f"Polars: {backlog:,} in {results['polars_seconds']:.1f} s")

        spark = spark_session(args.master, app_name="borderwatch-bench")
        try:
            rescore_with_spark(spark, files=files, since=cut, until=cut, profiles=[], parts=1)  # warm-up
            begun = time.perf_counter()
            spread = rescore_with_spark(
                spark, files=files, since=cut, until=until, profiles=[], parts=args.parts
            )
            results["spark_seconds"] = time.perf_counter() - begun
        finally:
            spark.stop()
        console.log(f"Spark {args.master}: {backlog:,} in {results['spark_seconds']:.1f} s")
        results["identical"] = spread.sort("lrn").equals(single.sort("lrn"))
        results["scored"] = single.height
    results["load_average_at_end"] = os.getloadavg()[0]
    table = Table(
        "path",
        "seconds",
        "declarations/s",
        "vs Polars",
        title=f"backlog of {results['backlog']:,} declarations",
    )
    for name, key in (
        ("Polars, one process (baseline)", "polars_seconds"),
        (f"Spark {args.master}", "spark_seconds"),
    ):
        seconds = results[key]
        table.add_row(
            name,
            f"{seconds:.1f}",
            f"{results['backlog'] / seconds:,.0f}",
            f"{results['polars_seconds'] / seconds:.2f}",
        )
    console.print(table)
    console.print(
        f"scores identical (every column, reasons included): {results['identical']}; load average "
        f"{results['load_average_at_start']:.1f} at the start, "
        f"{results['load_average_at_end']:.1f} at the end"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
