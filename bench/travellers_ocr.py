"""Reading the MRZ of the shared document images: exact-read rate and seconds per image.

    python bench/travellers_ocr.py [--quick]

Baseline in the same run: the same OCR lines taken as they come (upper-cased, spaces dropped), without the
field-by-field repair; a read is exact when its MRZ equals the printed one character for character and every
check digit holds. Seconds are wall clock and this process's CPU time (other jobs share the 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from borderwatch.travellers.mrz import MrzError, read_mrz
from borderwatch.travellers.ocr import normalise_ocr_line, read_document

DOCUMENTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "documents"
RESULTS = Path(__file__).resolve().parent / "results" / "travellers_ocr.json"
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
EXPECTED = {
    "synthetic_td3_ocrb.png": TD3,
    "tests_data_passport-td2.png": TD2,
    "tests_data_passport-td3.png": TD3,
}


def _raw_exact(lines: list[str], expected: str) -> bool:
    """The baseline: consecutive OCR lines as read, with no repair."""
    cleaned = [normalise_ocr_line(line) for line in lines]
    count = expected.count("\n") + 1
    for start in range(len(cleaned) - count + 1):
        text = "\n".join(cleaned[start : start + count])
        try:
            if read_mrz(text).valid and text == expected:
                return True
        except MrzError:
            continue
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one image")
    args = parser.parse_args()
    names = sorted(EXPECTED)[:1] if args.quick else sorted(EXPECTED)
    started = time.perf_counter()
    from borderwatch.travellers.ocr import _engine

    _engine()
    load_seconds = time.perf_counter() - started
    rows: list[dict[str, Any]] = []
    for name in names:
        read = read_document(DOCUMENTS / name)
        rows.append(
            {
                "image": name,
                "exact": read.valid and read.mrz is not None and read.mrz.text == EXPECTED[name],
                "valid": read.valid,
                "raw_exact": _raw_exact(read.ocr_lines, EXPECTED[name]),
                "repairs": read.repairs,
                "seconds": round(read.seconds, 3),
                "cpu_seconds": round(read.cpu_seconds, 3),
            }
        )
    table = Table(title="MRZ from document images (RapidOCR PP-OCRv4 ONNX, 2 shared cores)")
    for column in ("image", "exact (repaired)", "exact (raw OCR)", "repairs", "seconds", "CPU s"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["image"]),
            "yes" if row["exact"] else "no",
            "yes" if row["raw_exact"] else "no",
            str(len(row["repairs"])),
            f"{row['seconds']:.2f}",
            f"{row['cpu_seconds']:.2f}",
        )
    exact = sum(bool(r["exact"]) for r in rows) / len(rows)
    raw = sum(bool(r["raw_exact"]) for r in rows) / len(rows)
    seconds = sum(float(r["seconds"]) for r in rows) / len(rows)
    cpu = sum(float(r["cpu_seconds"]) for r in rows) / len(rows)
    console = Console(width=130)
    console.print(table)
    console.print(
        f"exact-read rate {exact:.0%} (raw OCR {raw:.0%}); {seconds:.2f} s and {cpu:.2f} CPU s per image; "
        f"model load {load_seconds:.2f} s"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "images": rows,
                "exact_read_rate": exact,
                "raw_ocr_exact_read_rate": raw,
                "seconds_per_image": round(seconds, 3),
                "cpu_seconds_per_image": round(cpu, 3),
                "model_load_seconds": round(load_seconds, 3),
                "load_average": os.getloadavg()[0],
            },
            indent=2,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
