"""Plate reading from images: exact-read rate on rendered plates of several countries and styles.

    python bench/vehicles_ocr.py [--per-level 22]

Three levels of difficulty (blur radius, noise sigma, rotation in degrees): each level's images cycle through
the styles of ``borderwatch.synthetic.plate_images`` (GB white and yellow, DE, FR, ES, NL, PL, IT, BE, a plate
without a band). Baseline in the same run, from the same OCR output: the text of the first box the engine
returns, cleaned (upper case, no spaces or dashes), without the candidates, the country templates or the band.
The machine is shared (2 cores, other jobs): CPU seconds per image are steadier than the wall clock.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from borderwatch.synthetic.plate_images import write_plates
from borderwatch.vehicles.ocr import read_plates
from borderwatch.vehicles.plates import clean

RESULTS = Path(__file__).resolve().parent / "results" / "vehicles_ocr.json"
LEVELS = {"mild": (0.6, 4.0, 1.5), "medium": (1.0, 8.0, 3.0), "hard": (1.6, 14.0, 5.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-level", type=int, default=22)
    args = parser.parse_args()
    console = Console(width=140)
    table = Table(title="Plates read from rendered images")
    for column in (
        "level",
        "images",
        "exact",
        "country right",
        "baseline exact",
        "CPU s/image",
        "wall s/image",
    ):
        table.add_column(column, justify="left" if column == "level" else "right")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for seed, (level, (blur, noise, rotation)) in enumerate(LEVELS.items(), start=1):
            files = write_plates(
                Path(scratch) / level, args.per_level, seed=seed, blur=blur, noise=noise, rotation=rotation
            )
            wall, cpu = time.perf_counter(), time.process_time()
            reads = read_plates([path for path, _ in files])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            exact = sum(r.plate == spec.plate for (_, spec), r in zip(files, reads, strict=True))
            country = sum(r.country == spec.country for (_, spec), r in zip(files, reads, strict=True))
            baseline = sum(
                bool(r.text) and clean(r.text[0]) == spec.plate
                for (_, spec), r in zip(files, reads, strict=True)
            )
            misses = [
                {"file": path.name, "shown": spec.shown, "read": r.plate, "ocr": r.text}
                for (path, spec), r in zip(files, reads, strict=True)
                if r.plate != spec.plate
            ]
            n = len(files)
            results[level] = {
                "blur": blur,
                "noise": noise,
                "rotation": rotation,
                "images": n,
                "exact": exact,
                "country": country,
                "baseline_exact": baseline,
                "cpu_s_per_image": round(cpu / n, 2),
                "wall_s_per_image": round(wall / n, 2),
                "misses": misses,
            }
            table.add_row(
                level,
                str(n),
                f"{exact}/{n} ({exact / n:.0%})",
                f"{country}/{n}",
                f"{baseline}/{n} ({baseline / n:.0%})",
                f"{cpu / n:.2f}",
                f"{wall / n:.2f}",
            )
    console.print(table)
    results["load_average"] = list(os.getloadavg())  # type: ignore[assignment]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
    console.print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
