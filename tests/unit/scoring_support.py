"""Small generated traffic for the features and scoring tests, as the agreed declaration/outcome frames."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import polars as pl

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic


@cache
def traffic_frames(
    declarations: int = 2500, seed: int = 11, days: int = 120
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Declarations and outcomes of a small generated period (cached per process; treat as read-only)."""
    import tempfile

    traffic = generate_traffic(
        GeneratorConfig(declarations=declarations, seed=seed, start=date(2024, 1, 1), days=days)
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "traffic.csv"
        write_traffic(traffic, path)
        return read_kcs_frames(path)


def write_kcs(frame: pl.DataFrame, path: Path) -> Path:
    frame.write_csv(path)
    return path


def generated_csv(path: Path, *, declarations: int, seed: int, start: date, days: int) -> Path:
    traffic = generate_traffic(GeneratorConfig(declarations=declarations, seed=seed, start=start, days=days))
    write_traffic(traffic, path)
    return path
