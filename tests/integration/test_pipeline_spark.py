"""Spark re-scores a backlog with the production scorer: the same scores, probabilities, lanes forced by
profiles and reasons as one process computes on the same data (Spark ``local[2]``, a real JVM)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.pipeline.spark import (
    BacklogFiles,
    day_partitions,
    rescore_with_spark,
    score_period,
    spark_session,
)
from borderwatch.scoring.risk_model import RiskModel
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic
from tests.integration.api_support import train_model

pyspark = pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (17+)")
    session = spark_session("local[2]", app_name="borderwatch-test")
    yield session
    session.stop()


def test_spark_scores_a_backlog_exactly_as_one_process(spark: object, tmp_path: Path) -> None:
    from pyspark.sql import SparkSession

    assert isinstance(spark, SparkSession)
    model_path = train_model(tmp_path)
    model = RiskModel.load(model_path)
    traffic = generate_traffic(GeneratorConfig(declarations=1200, seed=21, start=date(2026, 2, 1), days=30))
    write_traffic(traffic, tmp_path / "backlog.csv")
    declarations, outcomes = read_kcs_frames(tmp_path / "backlog.csv", agency="a")
    files = BacklogFiles.write(
        tmp_path / "parquet", declarations=declarations, outcomes=outcomes, model=model_path
    )
    since, until = date(2026, 2, 8), date(2026, 3, 2)

    single = score_period(
        model=model, declarations=declarations, outcomes=outcomes, since=since, until=until, profiles=[]
    ).sort("lrn")
    spread = rescore_with_spark(spark, files=files, since=since, until=until, profiles=[], parts=3).sort(
        "lrn"
    )

    expected = declarations.filter(pl.col("declared_on").is_between(since, until))["lrn"].n_unique()
    assert single.height == expected > 500
    assert spread.equals(single)  # every column, reasons included, bit for bit
    assert single["score"].n_unique() > 100  # a real ranking, not a constant


def test_day_partitions_cover_every_day_once() -> None:
    days = [date(2026, 1, d) for d in range(1, 11)]
    ranges = day_partitions(days, 3)
    assert ranges == [(days[0], days[3]), (days[4], days[7]), (days[8], days[9])]
    assert day_partitions(days, 50)[0] == (days[0], days[0]) and len(day_partitions(days, 50)) == 10
    assert day_partitions([], 4) == []
