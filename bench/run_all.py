"""Run every benchmark in this folder, one after another, and summarise where each wrote its results.

python bench/run_all.py [--quick] [--only ingest,scoring]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small runs, to check the benchmarks themselves")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args()
    wanted = {name for name in args.only.split(",") if name}
    scripts = sorted(p for p in BENCH_DIR.glob("*.py") if p.name != Path(__file__).name)
    if wanted:
        scripts = [p for p in scripts if p.stem in wanted]
    table = Table(title="borderwatch benchmarks")
    for column in ("benchmark", "exit", "seconds", "results"):
        table.add_column(column)
    for script in scripts:
        started = time.perf_counter()
        command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        returncode = subprocess.call(command)
        result = BENCH_DIR / "results" / f"{script.stem}.json"
        table.add_row(
            script.stem,
            str(returncode),
            f"{time.perf_counter() - started:.1f}",
            str(result.relative_to(BENCH_DIR.parent)) if result.exists() else "-",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
