"""Re-scoring a backlog with Spark: the registered model applied per partition of days (``mapInArrow``),
with the production scorer, ``RiskModel.score``, exactly as the single-process ``borderwatch score`` calls it.

The declarations and outcomes are written once as Parquet (from the store, or taken from an archive) where
every executor reads them (a local folder in ``local[*]``; shared storage on a cluster). Spark spreads
partitions of days over its executors; each partition's task reads with Polars its days' declarations and
the history up to its last day (features only look at what is dated before each declaration: the result
for a declaration is the same whatever else is scored with it) and returns the scores as Arrow record
batches. Nothing of the model or the features is re-implemented in Spark: it schedules, moves Arrow
batches and gathers them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.risk_model import RiskModel

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# What a backlog re-scoring returns per declaration: the columns ``scoring.registry.store_scores`` stores.
OUTPUT_SCHEMA = pa.schema(
    [
        ("lrn", pa.string()),
        ("score", pa.float64()),
        ("fraud_probability", pa.float64()),
        ("expected_duty", pa.float64()),
        ("forced_lane", pa.string()),
        ("reasons", pa.list_(pa.string())),
        # core.reasons.REASON_CODES
        ("reason_codes", pa.list_(pa.string())),
    ]
)
_SPARK_SCHEMA = (
    "lrn string, score double, fraud_probability double, expected_duty double, forced_lane string, "
    "reasons array<string>, reason_codes array<string>"
)


def score_period(
    *,
    model: RiskModel,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    since: date,
    until: date,
    profiles: Sequence[RiskProfile],
) -> pl.DataFrame:
    """The scores of the declarations dated ``since``..``until`` (inclusive), from the history up to
    ``until``: what ``borderwatch score --since --until`` computes in one process."""
    targets = declarations.filter(pl.col("declared_on").is_between(since, until))
    history = declarations.filter(pl.col("declared_on") <= until)
    scores = model.score(declarations=targets, history=history, outcomes=outcomes, profiles=profiles)
    return scores.select([field.name for field in OUTPUT_SCHEMA])


def day_partitions(days: Sequence[date], parts: int) -> list[tuple[date, date]]:
    """``days`` (sorted, distinct) cut into at most ``parts`` contiguous ranges of about as many days."""
    if not days:
        return []
    parts = max(1, min(parts, len(days)))
    size = -(-len(days) // parts)
    return [(days[at], days[min(at + size, len(days)) - 1]) for at in range(0, len(days), size)]


@dataclass(frozen=True)
class BacklogFiles:
    """Where every executor reads the backlog (Parquet) and the model file."""

    declarations: Path
    outcomes: Path
    model: Path

    @classmethod
    def write(
        cls, folder: Path, *, declarations: pl.DataFrame, outcomes: pl.DataFrame, model: Path
    ) -> BacklogFiles:
        folder.mkdir(parents=True, exist_ok=True)
        files = cls(folder / "declarations.parquet", folder / "outcomes.parquet", model)
        declarations.write_parquet(files.declarations)
        outcomes.write_parquet(files.outcomes)
        return files


@lru_cache(maxsize=4)
def _model(path: str) -> RiskModel:
    """One load per executor's Python worker and model file."""
    return RiskModel.load(Path(path))


def _score_ranges(
    batches: Iterator[pa.RecordBatch], files: BacklogFiles, profiles: Sequence[RiskProfile]
) -> Iterator[pa.RecordBatch]:
    """The ``mapInArrow`` function: each input row is a range of days (since, until) to score."""
    model = _model(str(files.model))
    for batch in batches:
        for since, until in zip(
            batch.column("since").to_pylist(), batch.column("until").to_pylist(), strict=True
        ):
            declarations = (
                pl.scan_parquet(files.declarations).filter(pl.col("declared_on") <= until).collect()
            )
            outcomes = pl.read_parquet(files.outcomes)
            scores = score_period(
                model=model,
                declarations=declarations,
                outcomes=outcomes,
                since=since,
                until=until,
                profiles=profiles,
            )
            yield from scores.to_arrow().cast(OUTPUT_SCHEMA).to_batches()


def spark_session(master: str = "local[2]", *, app_name: str = "borderwatch-backlog") -> SparkSession:
    """A Spark session whose Python workers run this interpreter (and so this borderwatch)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )


def rescore_with_spark(
    spark: SparkSession,
    *,
    files: BacklogFiles,
    since: date,
    until: date,
    profiles: Sequence[RiskProfile],
    parts: int,
) -> pl.DataFrame:
    """Scores of the backlog's declarations dated ``since``..``until``, computed by Spark in ``parts``
    partitions of days; the same frame :func:`score_period` gives in one process (row order aside)."""
    days = sorted(
        pl.scan_parquet(files.declarations)
        .filter(pl.col("declared_on").is_between(since, until))
        .select(pl.col("declared_on").unique())
        .collect()["declared_on"]
        .to_list()
    )
    ranges = day_partitions(days, parts)
    if not ranges:
        return pl.from_arrow(OUTPUT_SCHEMA.empty_table())  # type: ignore[return-value]
    frame = spark.createDataFrame([(a, b) for a, b in ranges], "since date, until date").repartition(
        len(ranges)
    )
    chosen = list(profiles)
    scored = frame.mapInArrow(lambda batches: _score_ranges(batches, files, chosen), _SPARK_SCHEMA)
    return pl.from_arrow(scored.toArrow())  # type: ignore[return-value]
