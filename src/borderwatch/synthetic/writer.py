"""Writing generated traffic: the KCS-layout CSV (+ extra columns) and its ``.truth.json`` beside it."""

from __future__ import annotations

import json
from pathlib import Path

from borderwatch.synthetic.traffic import COLUMNS, GeneratedTraffic


def truth_path(path: Path) -> Path:
    """Where the ground truth of the traffic written to ``path`` goes: ``OUT.csv`` → ``OUT.truth.json``."""
    return path.with_suffix(".truth.json")


def write_traffic(traffic: GeneratedTraffic, path: Path) -> None:
    """Write ``traffic`` to ``path`` as CSV (header line 1), with its corrupt lines at the line numbers its
    truth gives, and the truth as JSON to ``truth_path(path)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = traffic.frame.select(COLUMNS)
    with path.open("wb") as handle:
        handle.write((",".join(COLUMNS) + "\n").encode())
        written = 0
        for corrupt in traffic.corrupt_lines:
            if corrupt.rows_before > written:
                frame.slice(written, corrupt.rows_before - written).write_csv(handle, include_header=False)
                written = corrupt.rows_before
            handle.write((corrupt.text + "\n").encode())
        if written < frame.height:
            frame.slice(written).write_csv(handle, include_header=False)
    truth_path(path).write_text(json.dumps(traffic.truth, indent=1) + "\n", encoding="utf-8")
