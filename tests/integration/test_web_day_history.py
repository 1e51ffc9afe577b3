"""The web's history for scoring a day, refreshed by moving its snapshot forward: the same features and scores
as reading and aggregating the whole store again, and a full read wherever moving forward cannot say what
changed."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine

from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.ingest.service import ingest_file
from borderwatch.ingest.store import stored_days
from borderwatch.scoring.model import ModelParams
from borderwatch.scoring.online import DayHistory, advanced_history, day_history
from borderwatch.scoring.risk_model import RiskModel, train_risk_model
from tests.unit.scoring_support import generated_csv

AGENCY = "kr"
START = date(2024, 1, 1)
DAY = START + timedelta(days=45)  # the scoring day
FIRST = DAY - timedelta(days=6)  # the first read holds the declarations dated before this day
FAST = ModelParams(fraud_rounds=40, duty_rounds=20, learning_rate=0.1)


class Traffic:
    """Generated traffic as KCS rows (strings, as a file gives them), the scoring day's declarations as a
    frame, and a model trained on it all."""

    def __init__(self, folder: Path) -> None:
        csv = generated_csv(folder / "traffic.csv", declarations=1500, seed=5, start=START, days=60)
        declarations, outcomes = read_kcs_frames(csv, agency=AGENCY)
        self.rows = pl.read_csv(csv, infer_schema=False)
        self.targets = declarations.filter(pl.col("declared_on") == DAY)
        self.model = train_risk_model(declarations=declarations, outcomes=outcomes, seed=2, params=FAST)

    def dated(self, since: date | None, until: date) -> pl.DataFrame:
        """The rows dated from ``since`` (inclusive) to ``until`` (exclusive)."""
        day = pl.col("Date")
        return self.rows.filter(day < until.isoformat(), True if since is None else day >= since.isoformat())


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Traffic:
    return Traffic(tmp_path_factory.mktemp("traffic"))


def _hash(lrn: str) -> int:
    return zlib.crc32(lrn.encode())


def _results(rows: pl.DataFrame) -> list[dict[str, Any]]:
    """A third of the declarations inspected, each result recorded 0 to 9 days after the declaration."""
    return [
        {
            "lrn": row["Declaration ID"],
            "recorded_on": date.fromisoformat(row["Date"])
            + timedelta(days=_hash(row["Declaration ID"]) % 10),
            "fraud": row["Fraud"] == "1",
            "critical_fraud": int(row["Critical Fraud"]),
        }
        for row in rows.iter_rows(named=True)
        if _hash(row["Declaration ID"]) % 3 == 0
    ]


def _store(
    engine: Engine, path: Path, rows: pl.DataFrame | None = None, results: Sequence[dict[str, Any]] = ()
) -> None:
    """Through the ingest service: KCS rows without the result they carry (results come on their own
    days), then JSON Lines results."""
    if rows is not None and rows.height:
        blank = pl.lit(None, pl.String)
        rows.with_columns(blank.alias("Fraud"), blank.alias("Critical Fraud")).write_csv(
            path.with_suffix(".csv")
        )
        ingest_file(engine=engine, path=path.with_suffix(".csv"), fmt="kcs", agency=AGENCY)
    if results:
        lines = (json.dumps(result, default=str) + "\n" for result in results)
        path.with_suffix(".jsonl").write_text("".join(lines), encoding="utf-8")
        ingest_file(engine=engine, path=path.with_suffix(".jsonl"), fmt="jsonl", agency=AGENCY)


def _features(model: RiskModel, targets: pl.DataFrame, known: DayHistory) -> pl.DataFrame:
    return model.features(
        declarations=targets, history=known.history, outcomes=known.outcomes, snapshot=known.snapshot
    )


# what arrives after the first read besides the declarations and results dated after its snapshot
SCENARIOS = {
    "only later records": None,
    "a late declaration dated before the snapshot's day": "late",
    "a held declaration amended on its own day": "amended",
    "a held declaration amended to the scoring day": "moved",
    "a result recorded before the snapshot's day": "backdated",
}


@pytest.mark.parametrize("extra", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_a_refresh_scores_as_a_full_read(
    engine: Engine, tmp_path: Path, traffic: Traffic, extra: str | None
) -> None:
    results = _results(traffic.dated(None, DAY))
    before, after = traffic.dated(None, FIRST), traffic.dated(FIRST, DAY)
    inspected = {str(result["lrn"]) for result in results}
    uninspected = before.filter(~pl.col("Declaration ID").is_in(inspected))
    late, held = uninspected[-2:-1], uninspected[-1:]  # one stored late, one amended
    scoring_day = _results(traffic.dated(DAY, DAY + timedelta(days=1)))
    # First: the declarations dated before FIRST (but one), the results recorded before it, and a result
    # of a declaration of the scoring day, recorded before it is declared (it waits for the declaration).
    _store(
        engine,
        tmp_path / "first",
        before.join(late, on="Declaration ID", how="anti"),
        [r for r in results if r["recorded_on"] < FIRST]
        + [{**scoring_day[0], "recorded_on": FIRST - timedelta(days=8)}],
    )
    first = day_history(engine, agency=AGENCY, day=DAY)
    assert first.snapshot.as_of == FIRST - timedelta(days=1)
    assert first.snapshot.unmatched_lrns == {scoring_day[0]["lrn"]}
    unchanged = day_history(engine, agency=AGENCY, day=DAY, previous=first)
    assert unchanged.snapshot is first.snapshot  # nothing stored since: nothing read again

    # Then: the declarations dated after the snapshot, the results recorded after it (among them late
    # results of declarations it holds), another result for the scoring day, and the scenario's record.
    later_results = [r for r in results if r["recorded_on"] >= FIRST]
    assert any(r["lrn"] in first.snapshot.lrns for r in later_results)
    _store(
        engine,
        tmp_path / "then",
        after,
        [*later_results, {**scoring_day[1], "recorded_on": DAY - timedelta(days=2)}],
    )
    if extra == "late":
        _store(engine, tmp_path / "extra", late)
    elif extra == "amended":
        _store(engine, tmp_path / "extra", held.with_columns(pl.lit("123.45").alias("Item Price")))
    elif extra == "moved":
        _store(engine, tmp_path / "extra", held.with_columns(pl.lit(DAY.isoformat()).alias("Date")))
    elif extra == "backdated":
        result = {"lrn": held["Declaration ID"][0], "recorded_on": FIRST - timedelta(days=2), "fraud": True}
        _store(engine, tmp_path / "extra", results=[result])

    stored = stored_days(engine, agency=AGENCY, before=DAY)
    advanced = advanced_history(first, engine=engine, agency=AGENCY, day=DAY, stored=stored)
    assert (advanced is not None) == (extra is None)
    refreshed = day_history(engine, agency=AGENCY, day=DAY, previous=first)
    full = day_history(engine, agency=AGENCY, day=DAY)
    assert refreshed.snapshot.lrns == full.snapshot.lrns
    assert refreshed.snapshot.labelled_lrns == full.snapshot.labelled_lrns
    assert refreshed.snapshot.totals == full.snapshot.totals
    assert_frame_equal(refreshed.history, full.history)
    assert_frame_equal(refreshed.outcomes, full.outcomes)
    model, targets = traffic.model, traffic.targets
    assert_frame_equal(_features(model, targets, refreshed), _features(model, targets, full))
    scores = [
        model.score(declarations=targets, history=k.history, outcomes=k.outcomes, snapshot=k.snapshot)
        for k in (refreshed, full)
    ]
    assert_frame_equal(*scores)


def test_a_new_day_starts_from_the_cached_history_of_the_day_before(
    engine: Engine, tmp_path: Path, traffic: Traffic
) -> None:
    from borderwatch.core.cache import Cache
    from borderwatch.scoring.online import SNAPSHOT_TTL_SECONDS, cached_day_history

    results = _results(traffic.dated(None, DAY))
    yesterday = DAY - timedelta(days=1)
    _store(
        engine,
        tmp_path / "first",
        traffic.dated(None, yesterday),
        [r for r in results if r["recorded_on"] < yesterday],
    )
    cache = Cache(ttl_seconds=SNAPSHOT_TTL_SECONDS)
    earlier = cached_day_history(cache=cache, engine=engine, agency=AGENCY, day=yesterday)
    # During that day: its declarations, and results recorded on it (some of declarations the snapshot holds).
    _store(
        engine,
        tmp_path / "then",
        traffic.dated(yesterday, DAY),
        [r for r in results if r["recorded_on"] == yesterday],
    )
    stored = stored_days(engine, agency=AGENCY, before=DAY)
    assert advanced_history(earlier, engine=engine, agency=AGENCY, day=DAY, stored=stored) is not None
    today = cached_day_history(cache=cache, engine=engine, agency=AGENCY, day=DAY)
    full = day_history(engine, agency=AGENCY, day=DAY)
    assert today.snapshot.as_of == full.snapshot.as_of == yesterday
    assert today.snapshot.lrns == full.snapshot.lrns and today.snapshot.totals == full.snapshot.totals
    assert_frame_equal(today.history, full.history)
    assert_frame_equal(today.outcomes, full.outcomes)
    model, targets = traffic.model, traffic.targets
    assert_frame_equal(_features(model, targets, today), _features(model, targets, full))
    # After a day with nothing stored (a holiday), the next day is served by the same snapshot, not a re-read.
    after_holiday = cached_day_history(cache=cache, engine=engine, agency=AGENCY, day=DAY + timedelta(days=1))
    assert after_holiday.snapshot is today.snapshot
