"""The ingest fuzz harness (tests/integration/test_ingest_fuzz.py) run for a while instead of a few seconds.

    .venv/bin/python bench/fuzz_ingest.py [--seconds 600] [--quick]

Runs the harness's CSV and JSON Lines fuzz tests on SQLite and PostgreSQL (when reachable) again and again,
each round with a new Hypothesis seed and ``BORDERWATCH_FUZZ_EXAMPLES`` examples per test, until the time is
up; every example is a whole file ingested and checked for balance (every non-blank line stored, a
duplicate or quarantined) and for not crashing. Prints the cases tried per test and writes
bench/results/fuzz_ingest.json. Stops at the first failure (exit 1), printing it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
HARNESS = "tests/integration/test_ingest_fuzz.py"
POSTGRES_URL = os.environ.get(
    "BORDERWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Hypothesis' statistics: a test's name line, then per phase "- N passing, M failing, and K invalid …".
_TEST = re.compile(r"^(tests/\S+::\S+):$")
_PASSING = re.compile(r"(\d+) passing, \d+ failing")


def _round(seed: int, examples: int) -> tuple[int, dict[str, int], str]:
    """One pytest run of the harness: its exit code, passing examples per test, and its output."""
    env = os.environ | {
        "BORDERWATCH_FUZZ_EXAMPLES": str(examples),
        "BORDERWATCH_TEST_POSTGRES_URL": POSTGRES_URL,
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        HARNESS,
        "-q",
        "-p",
        "no:cacheprovider",
        f"--hypothesis-seed={seed}",
        "--hypothesis-show-statistics",
    ]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    counts: dict[str, int] = {}
    current: str | None = None
    for line in result.stdout.splitlines():
        if match := _TEST.match(line.strip()):
            current = match.group(1).split("::", 1)[1]
        elif current and (found := _PASSING.search(line)):
            counts[current] = counts.get(current, 0) + int(found.group(1))
    return result.returncode, counts, result.stdout + result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (600 for the issue's run)")
    parser.add_argument("--examples", type=int, default=200, help="examples per test per round")
    parser.add_argument("--quick", action="store_true", help="one short round")
    args = parser.parse_args()
    budget, examples = (0.0, 20) if args.quick else (args.seconds, args.examples)

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    totals: dict[str, int] = {}
    rounds, started = 0, time.monotonic()
    failure: str | None = None
    while True:
        code, counts, output = _round(seed=1000 + rounds, examples=examples)
        rounds += 1
        for name, passing in counts.items():
            totals[name] = totals.get(name, 0) + passing
        console.print(f"round {rounds}: {sum(counts.values()):,} cases, exit {code}")
        if code != 0:
            failure = output[-6000:]
            break
        if time.monotonic() - started >= budget:
            break
    seconds = time.monotonic() - started
    table = Table(title=f"ingest fuzzing: {rounds} rounds, {seconds:.0f} s (other helpers may load the CPU)")
    table.add_column("test")
    table.add_column("cases", justify="right")
    for name, passing in sorted(totals.items()):
        table.add_row(escape(name), f"{passing:,}")
    table.add_row("total", f"{sum(totals.values()):,}")
    console.print(table)
    result: dict[str, Any] = {
        "seconds": round(seconds, 1),
        "rounds": rounds,
        "examples_per_round": examples,
        "cases": totals,
        "total_cases": sum(totals.values()),
        "failed": failure is not None,
    }
    out = BENCH_DIR / "results" / "fuzz_ingest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {out.relative_to(REPO)}")
    if failure is not None:
        console.print(failure, markup=False, highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
