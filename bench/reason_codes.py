"""What the reason codes (#12, item 2) cost batch scoring, against the code before them, in the same run.

    .venv/bin/python bench/reason_codes.py [--baseline REV] [--declarations N] [--repeat K]

On generated traffic (``borderwatch.synthetic``, 20,000 declarations over a year by default) one model is
trained on the first 80 % of days and saved; the last 20 % are then scored from the history snapshot by
``RiskModel.score`` as it is now (reasons and their codes) and by the same call at ``--baseline`` (default:
the commit before reason codes, sentences only), each in its own process reading the same files, in turns
(baseline, current, baseline, ...), best of ``--repeat`` per variant: without the model's own reasons (bulk
re-scoring) and with them for every declaration. Prints a table and writes bench/results/reason_codes.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
BASELINE = "ecdf689^"  # the commit before "Reason codes beside reason sentences"

# Run in a child process with PYTHONPATH at one version's src: times RiskModel.score on the scoring period.
WORKER = """
import json, sys, time
import polars as pl
from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.scoring.profiles import default_profiles
try:
    from borderwatch.scoring.risk_model import NO_EXPLANATION, RiskModel
    bare, full = {"explain": NO_EXPLANATION}, {}
except ImportError:  # before the rename and the explain policy
    from borderwatch.scoring.service import RiskModel
    bare, full = {"explain": False}, {}
csv, model_path, cut, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
declarations, outcomes = read_kcs_frames(csv)
model = RiskModel.load(__import__("pathlib").Path(model_path))
cut = __import__("datetime").date.fromisoformat(cut)
history = declarations.filter(pl.col("declared_on") < cut)
known = outcomes.filter(pl.col("recorded_on") < cut)
batch = declarations.filter(pl.col("declared_on") >= cut)
snapshot = RiskModel.prepare(history=history, outcomes=known)
profiles = default_profiles()
timings = {}
for name, options in (("ranking", bare), ("with reasons", full)):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        scores = model.score(
            declarations=batch, history=declarations, outcomes=known, profiles=profiles, snapshot=snapshot,
            **options,
        )
        best = min(best, time.perf_counter() - start)
    timings[name] = {"seconds": best, "declarations": scores.height}
print(json.dumps(timings))
"""


def _baseline_src(revision: str, folder: Path) -> Path:
    """``src`` of ``revision``, extracted into ``folder`` (git archive: no worktree to clean up)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def _run(src: Path, csv: Path, model: Path, cut: date, repeat: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(csv), str(model), cut.isoformat(), str(repeat)],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "POLARS_MAX_THREADS": "1"},
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
    parser.add_argument("--declarations", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per variant and turn")
    parser.add_argument("--turns", type=int, default=2, help="alternating turns of baseline and current")
    args = parser.parse_args()

    from borderwatch.ingest.frame import read_kcs_frames
    from borderwatch.scoring.risk_model import train_risk_model
    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        csv = scratch / "traffic.csv"
        write_traffic(
            generate_traffic(
                GeneratorConfig(declarations=args.declarations, seed=42, start=date(2024, 1, 1), days=365)
            ),
            csv,
        )
        declarations, outcomes = read_kcs_frames(csv)
        days = declarations["declared_on"].unique().sort()
        cut = days[int(len(days) * 0.8)]
        train = declarations.filter(declarations["declared_on"] < cut)
        model = train_risk_model(
            declarations=train, outcomes=outcomes.filter(outcomes["recorded_on"] < cut), seed=42
        )
        model_path = scratch / "model.json"
        model.save(model_path)
        (scratch / "baseline").mkdir()
        sources = {"baseline": _baseline_src(args.baseline, scratch / "baseline"), "current": ROOT / "src"}
        best: dict[str, dict[str, dict[str, float]]] = {}
        for _ in range(args.turns):
            for variant, src in sources.items():
                for name, timing in _run(src, csv, model_path, cut, args.repeat).items():
                    kept = best.setdefault(variant, {}).get(name)
                    if kept is None or timing["seconds"] < kept["seconds"]:
                        best[variant][name] = timing

    table = Table(title=f"RiskModel.score of {best['current']['ranking']['declarations']:,} declarations")
    for column in ("call", f"baseline {args.baseline} (s)", "current (s)", "current / baseline"):
        table.add_column(column, justify="right" if column != "call" else "left")
    rows = []
    for name in ("ranking", "with reasons"):
        before, after = best["baseline"][name]["seconds"], best["current"][name]["seconds"]
        rows.append({"call": name, "baseline_s": before, "current_s": after, "ratio": after / before})
        table.add_row(name, f"{before:.3f}", f"{after:.3f}", f"{after / before:.2f}")
    Console().print(table)
    out = BENCH_DIR / "results" / "reason_codes.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "baseline": args.baseline,
                "declarations": args.declarations,
                "scored": best["current"]["ranking"]["declarations"],
                "repeat": args.repeat,
                "turns": args.turns,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
