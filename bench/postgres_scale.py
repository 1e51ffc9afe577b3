"""Declarations at scale in PostgreSQL: monthly partitions (the migrated schema) against plain tables.

    .venv/bin/python bench/postgres_scale.py [--rows 10000000] [--months 24] [--queries 300]
                                             [--database-url URL] [--keep]

Two schemas of their own on the server (dropped afterwards unless ``--keep``):

- partitioned: ``migrate`` (what every PostgreSQL deployment gets: ``declarations`` and ``lane_decisions``
  partitioned by month of ``declared_on``, migrations ingest_02 and lanes_01), the months' partitions
  created beforehand as ``borderwatch db partitions`` does;
- plain (baseline): the same tables from the ORM metadata (``create_all``), unpartitioned, same indexes.

Both get the same generated rows (``--rows`` declarations over ``--months`` months, 3 agencies, one current
lane decision each: 3 % red, 7 % yellow), loaded with the application's COPY path (``ingest.service.
bulk_insert``) in chunks of 500,000 with every index in place; the ingest rate is that of the last chunk (at
the full size) and over the whole load. Then, ``ANALYZE``d, the application's own queries, alternating
between the two schemas, on random agencies and days among the last 60:

- worklist day / week: ``web.services.records.worklist`` (count and first page of 50, riskiest first) for
  one day and for seven days (``since``/``until``, as the workspace's date filter sends them);
- LRN look-up: ``web.services.records.current_declaration`` (the declaration page's read) of a random LRN.

Prints a table and writes bench/results/postgres_scale.json. The machine has 2 cores shared with other
people's work: absolute times move with their load; the two layouts are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from borderwatch.db import partitions
from borderwatch.db.registry import metadata
from borderwatch.db.session import make_engine, migrate, session_factory
from borderwatch.ingest.service import bulk_insert
from borderwatch.web.services import records

RESULTS = Path(__file__).parent / "results" / "postgres_scale.json"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHUNK = 500_000
AGENCIES = ("ca", "kr", "fr")
END = date(2026, 11, 30)
console = Console()


@contextmanager
def schema(base_url: str, name: str, keep: bool) -> Iterator[Engine]:
    admin = make_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    engine = make_engine(f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        if not keep:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def chunk_frames(start: int, count: int, days: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.arange(start + 1, start + count + 1, dtype=np.int64)
    offsets = rng.integers(0, days, count)
    declared = pl.Series("declared_on", (np.datetime64(END) - offsets.astype("timedelta64[D]")))
    agency = pl.Series("agency", np.array(AGENCIES)[rng.integers(0, len(AGENCIES), count)])
    lrn = pl.Series("lrn", [f"26BW{i:012d}" for i in ids])
    office = pl.Series("office", np.array([f"OF{n:03d}" for n in range(40)])[rng.integers(0, 40, count)])
    importer = pl.Series("importer_id", [f"IM{n:07d}" for n in rng.integers(0, 200_000, count)])
    declarations = pl.DataFrame(
        {
            "id": ids,
            "lrn": lrn,
            "version": np.ones(count, dtype=np.int64),
            "is_current": np.ones(count, dtype=bool),
            "content_hash": [f"{h:064x}" for h in rng.integers(0, 2**62, count)],
            "agency": agency,
            "declared_on": declared.cast(pl.Date),
            "office": office,
            "origin_country": np.array(["CN", "US", "DE", "VN", "TR"])[rng.integers(0, 5, count)],
            "transport_mode": np.array(["1", "4", "5"])[rng.integers(0, 3, count)],
            "importer_id": importer,
            "declarant_id": [f"DC{n:05d}" for n in rng.integers(0, 5_000, count)],
            "parties": ['{"importer": {"id": "x", "name": "Importer Ltd"}}'] * count,
            "source": ["bench"] * count,
        }
    )
    draw = rng.random(count)
    lane = np.where(draw < 0.03, "red", np.where(draw < 0.10, "yellow", "green"))
    score = np.round(np.where(draw < 0.10, 60 + 40 * rng.random(count), 60 * rng.random(count)), 2)
    decisions = pl.DataFrame(
        {
            "id": ids,
            "lrn": lrn,
            "agency": agency,
            "declared_on": declared.cast(pl.Date),
            "office": office,
            "lane": lane,
            "basis": ["risk score"] * count,
            "score": score,
            "fraud_probability": score / 100.0,
            "expected_duty": np.round(rng.random(count) * 1000, 2),
            "control": np.zeros(count, dtype=bool),
            "aeo": np.zeros(count, dtype=bool),
            "selection_probability": np.ones(count),
            "policy_version": ["bench"] * count,
            "is_current": np.ones(count, dtype=bool),
            "decided_by": ["system"] * count,
        }
    )
    return declarations, decisions


def load(engine: Engine, rows: int, days: int) -> dict[str, float]:
    """COPY ``rows`` declarations and decisions in chunks; the rate of the last chunk and overall."""
    total = 0.0
    last = 0.0
    loaded = 0
    while loaded < rows:
        count = min(CHUNK, rows - loaded)
        declarations, decisions = chunk_frames(loaded, count, days, seed=loaded)
        begun = time.perf_counter()
        with engine.begin() as connection:
            bulk_insert(connection, "declarations", declarations)
            bulk_insert(connection, "lane_decisions", decisions)
        last = count / (time.perf_counter() - begun)
        total += time.perf_counter() - begun
        loaded += count
        console.log(f"{engine.url.query.get('options')}: {loaded:,} rows, {last:,.0f}/s")
    with engine.begin() as connection:
        for table in ("declarations", "lane_decisions"):
            connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {rows})")
            connection.exec_driver_sql(f"ANALYZE {table}")
    return {"ingest_rate_last_chunk": last, "ingest_rate_overall": rows / total}


def quantiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "n": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--queries", type=int, default=300, help="of each kind, per layout")
    parser.add_argument("--database-url", default=os.environ.get("BORDERWATCH_BENCH_PG", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="keep the two schemas")
    args = parser.parse_args()
    days = (END - (END - timedelta(days=30 * args.months))).days
    tag = uuid.uuid4().hex[:8]
    results: dict[str, Any] = {
        "rows": args.rows,
        "months": args.months,
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
    }
    with (
        schema(args.database_url, f"bench_part_{tag}", args.keep) as partitioned,
        schema(args.database_url, f"bench_flat_{tag}", args.keep) as plain,
    ):
        migrate(partitioned)
        with partitioned.begin() as connection:
            first = partitions.month_of(END - timedelta(days=days))
            months, month = [], first
            while month <= END:
                months.append(month)
                month = partitions.next_month(month)
            for table in ("declarations", "lane_decisions"):
                partitions.ensure_months(connection, table, months)
        metadata.create_all(plain)
        layouts = {"partitioned": partitioned, "plain": plain}
        for name, engine in layouts.items():
            results[name] = load(engine, args.rows, days)
        rng = random.Random(7)
        factories = {name: session_factory(engine) for name, engine in layouts.items()}
        queries: dict[str, Callable[[Any, random.Random], object]] = {
            "worklist day": lambda session, r: worklist(session, r, 1),
            "worklist week": lambda session, r: worklist(session, r, 7),
            "LRN look-up": lambda session, r: records.current_declaration(
                db_session=session, lrn=f"26BW{r.randrange(1, args.rows + 1):012d}", agency=r.choice(AGENCIES)
            ),
        }
        for query, call in queries.items():
            times: dict[str, list[float]] = {name: [] for name in layouts}
            for round_no in range(args.queries + 10):
                seed = rng.random()
                for name, factory in factories.items():
                    with factory() as session:
                        begun = time.perf_counter()
                        call(session, random.Random(seed))
                        elapsed = time.perf_counter() - begun
                    if round_no >= 10:  # warm-up
                        times[name].append(elapsed)
            for name in layouts:
                results[name][query] = quantiles(times[name])
    report = Table(
        "measure",
        "partitioned",
        "plain (baseline)",
        "ratio plain/partitioned",
        title=f"{args.rows:,} declarations",
    )
    for query in queries:
        for stat in ("p50_ms", "p99_ms"):
            a, b = results["partitioned"][query][stat], results["plain"][query][stat]
            report.add_row(f"{query} {stat}", f"{a:.2f}", f"{b:.2f}", f"{b / a:.2f}")
    for stat in ("ingest_rate_last_chunk", "ingest_rate_overall"):
        a, b = results["partitioned"][stat], results["plain"][stat]
        report.add_row(f"{stat} (rows/s)", f"{a:,.0f}", f"{b:,.0f}", f"{b / a:.2f}")
    results["load_average_at_end"] = os.getloadavg()[0]
    console.print(report)
    console.print(
        f"load average {results['load_average_at_start']:.1f} at the start, "
        f"{results['load_average_at_end']:.1f} at the end ({os.cpu_count()} cores)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {RESULTS}")


def worklist(session: Any, rng: random.Random, days: int) -> object:
    until = END - timedelta(days=rng.randrange(0, 60))
    filters = records.WorklistFilter(since=until - timedelta(days=days - 1), until=until)
    return records.worklist(db_session=session, agency=rng.choice(AGENCIES), filters=filters, limit=50)


if __name__ == "__main__":
    main()
