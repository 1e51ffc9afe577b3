"""Ingest throughput and memory, against a bare bulk insert of the same rows (the ceiling), in one run.

    .venv/bin/python bench/ingest.py [--quick]

For each data set (the KCS train + valid files when ../shared is present; a generated file of 100,000 and
one of 1,000,000 declarations, or 10,000 / 50,000 with --quick) and each database (SQLite; PostgreSQL when
reachable), two runs, each in a fresh database and a fresh process so that peak memory (max RSS) is its own:

- ingest:  ``borderwatch.ingest.service.ingest_file`` — read, validate, hash, deduplicate, version, store;
- ceiling: the same file read by Polars' native batched CSV reader, mapped to the same columns and inserted
  with the same bulk primitive (COPY / executemany) into the same tables — no validation, no hashing, no
  lookups.

Then peak memory against goods items: one JSON Lines declaration of 1, 100, 1,000 and 10,000 goods items,
ingested in a fresh process (``ingest_file``) and submitted as the API does (``Declaration`` parsed from JSON,
then ``ingest_declarations``); the peak RSS above the process's RSS after imports and migration (max RSS from
the kernel's rusage, so native allocations by Polars count too). Linear means: peak per item roughly constant
from 1,000 items on. ``--memory-only`` runs just this part.

Prints tables (records/s, ratio ingest/ceiling, max RSS; peak memory per goods-item count) and writes
bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import polars as pl

from borderwatch.ingest.mapping import kcs_mapping
from borderwatch.ingest.service import (
    DECLARATION_COLUMNS,
    ITEM_COLUMNS,
    OUTCOME_COLUMNS,
    bulk_insert,
    reserve_ids,
)
from borderwatch.ingest.validate import STAGED_SCHEMA, parties_json

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
KCS_DIR = REPO.parent / "shared" / "data" / "kcs"
KCS_FILES = ("df_syn_train_eng.csv", "df_syn_valid_eng.csv")
POSTGRES_URL = os.environ.get(
    "BORDERWATCH_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BATCH = 5000
ALL_DATASETS = "kcs,small,large"
ALL_DATABASES = "sqlite,postgresql"


# ------------------------------------------------------------------------------------------ child processes


def _generate(count: int, path: Path) -> None:
    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

    write_traffic(generate_traffic(GeneratorConfig(declarations=count, seed=11)), path)


def _worker(mode: str, url: str, files: list[Path]) -> dict[str, Any]:
    from borderwatch.db.session import make_engine, migrate
    from borderwatch.ingest.service import ingest_file

    engine = make_engine(url)
    migrate(engine)
    started = time.perf_counter()
    records = 0
    for path in files:
        if mode == "ingest":
            summary = ingest_file(engine=engine, path=path, batch_size=BATCH)
            records += summary.stored + summary.amended
        else:
            records += _bare_insert(engine, path)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"records": records, "seconds": seconds}


MEMORY_ITEMS = (1, 100, 1_000, 10_000)


def _declaration_line(items: int) -> str:
    """One JSON Lines declaration of ``items`` goods items, with a realistic description per item."""
    return json.dumps(
        {
            "lrn": f"MEM{items}",
            "date": "2026-02-03",
            "office": "30",
            "parties": {"importer": {"id": "IMP1", "name": "Acme Trading", "country": "KR"}},
            "items": [
                {
                    "item_no": n + 1,
                    "hs_code": "440890",
                    "description": f"sawn wooden planks, lot {n}",
                    "net_mass": 12.5,
                    "customs_value": 1000.0 + n,
                    "currency": "USD",
                }
                for n in range(items)
            ],
        }
    )


def _rss_mb() -> float:
    """This process's resident set size now, in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _memory_worker(mode: str, url: str, path: Path) -> dict[str, Any]:
    from borderwatch.db.session import make_engine, migrate
    from borderwatch.ingest.schemas import Declaration
    from borderwatch.ingest.service import ingest_declarations, ingest_file

    engine = make_engine(url)
    migrate(engine)
    text = path.read_text()
    baseline = _rss_mb()
    started = time.perf_counter()
    if mode == "file":
        summary = ingest_file(engine=engine, path=path, fmt="jsonl")
    else:
        declaration = Declaration.model_validate_json(text)
        summary = ingest_declarations(engine=engine, declarations=[declaration], agency="default")
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"baseline_mb": baseline, "stored": summary.stored, "seconds": seconds}


def _memory(databases: list[str], scratch: Path, console: Any, counts: list[int]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for items in counts:
        path = scratch / f"declaration_{items}.jsonl"
        path.write_text(_declaration_line(items) + "\n")
        for kind in databases:
            for mode in ("file", "api"):
                with _Database(kind, scratch) as url:
                    answer, max_rss, _ = _run_child(["--memory-worker", mode, url, str(path)])
                row = {
                    "items": items,
                    "database": kind,
                    "path": mode,
                    "bytes": path.stat().st_size,
                    "stored": answer["stored"],
                    "seconds": round(answer["seconds"], 3),
                    "peak_mb": round(max(max_rss - answer["baseline_mb"], 0.0), 1),
                    "max_rss_mb": round(max_rss, 1),
                }
                console.print(f"memory {items:,} items / {kind} / {mode}: {row}")
                results.append(row)
    return results


def _bare_insert(engine: Any, path: Path) -> int:
    """The ceiling: Polars' batched CSV reader straight into the tables with the bulk primitive."""
    from borderwatch.db.session import write_transaction

    mapping = kcs_mapping()
    rename = {source: field for field, source in {**mapping.optional_columns, **mapping.columns}.items()}
    count = 0
    for batch in pl.scan_csv(path, infer_schema=False).collect_batches(chunk_size=BATCH):
        frame = batch.rename({k: v for k, v in rename.items() if k in batch.columns})
        frame = frame.with_columns(
            [pl.lit(None, dtype=pl.String).alias(name) for name in STAGED_SCHEMA if name not in frame.columns]
            + [
                pl.lit(None, dtype=pl.String).alias(f"{role}_{part}")
                for role in ("importer", "declarant", "seller", "courier")
                for part in ("name", "address", "country")
                if f"{role}_{part}" not in frame.columns
            ]
        )
        frame = frame.with_columns(
            pl.col("declared_on").str.to_date("%Y-%m-%d"),
            pl.col("net_mass", "customs_value", "tax_rate").cast(pl.Float64),
            pl.col("currency").fill_null("KRW"),
            pl.lit(1, dtype=pl.Int32).alias("item_no"),
            pl.col("fraud").cast(pl.Int8).cast(pl.Boolean),
            pl.col("critical_fraud").cast(pl.Int64),
            parties_json().alias("parties"),
            pl.col("lrn").alias("content_hash"),
            pl.lit(1).alias("version"),
            pl.lit(True).alias("is_current"),
            pl.lit("default").alias("agency"),
            pl.lit(str(path)).alias("source"),
            pl.col("declared_on").alias("recorded_on"),
            pl.lit(None, dtype=pl.Float64).alias("duty_recovered"),
            pl.lit(None, dtype=pl.String).alias("findings"),
        )
        with write_transaction(engine) as connection:
            frame = frame.with_columns(
                pl.Series("id", reserve_ids(connection, "declarations", frame.height), dtype=pl.Int64)
            ).with_columns(pl.col("id").alias("declaration_id"), pl.col("recorded_on").str.to_date())
            bulk_insert(connection, "declarations", frame.select("id", *DECLARATION_COLUMNS))
            bulk_insert(connection, "goods_items", frame.select(ITEM_COLUMNS))
            bulk_insert(connection, "outcomes", frame.select(OUTCOME_COLUMNS))
        count += frame.height
    return count


# ------------------------------------------------------------------------------------------ orchestration


def _run_child(args: list[str]) -> tuple[dict[str, Any], float, float]:
    """Run this script as a child: its JSON answer, its max RSS in MB and its CPU seconds (own rusage)."""
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"child {args[:2]} failed with exit code {process.returncode}")
    answer = json.loads(output.decode().strip().splitlines()[-1])
    return answer, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def _postgres_reachable() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception:  # any failure: no PostgreSQL to benchmark against
        return False
    return True


class _Database:
    """A fresh, empty database for one run: a SQLite file, or a PostgreSQL schema dropped afterwards."""

    def __init__(self, kind: str, scratch: Path) -> None:
        self.kind = kind
        self.scratch = scratch
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.scratch / f'{self.schema}.db'}"
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        admin.dispose()
        return f"{POSTGRES_URL}?options=-csearch_path%3D{self.schema}"

    def __exit__(self, *_: object) -> None:
        if self.kind == "sqlite":
            for path in self.scratch.glob(f"{self.schema}.db*"):
                path.unlink()
            return
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small generated files")
    parser.add_argument(
        "--datasets", default=ALL_DATASETS, help="subset of kcs,small,large (partial results)"
    )
    parser.add_argument("--databases", default=ALL_DATABASES, help="subset of sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (not for files > 50 MB)")
    parser.add_argument("--memory-only", action="store_true", help="only peak memory against goods items")
    parser.add_argument(
        "--memory-items",
        default=",".join(map(str, MEMORY_ITEMS)),
        help="goods-item counts of the memory part",
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        _generate(int(args.generate[0]), Path(args.generate[1]))
        print(json.dumps({"ok": True}))
        return
    if args.memory_worker:
        mode, url, file = args.memory_worker
        print(json.dumps(_memory_worker(mode, url, Path(file))))
        return
    if args.worker:
        mode, url, *files = args.worker
        print(json.dumps(_worker(mode, url, [Path(f) for f in files])))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    small, large = (10_000, 50_000) if args.quick else (100_000, 1_000_000)
    scratch = Path(tempfile.mkdtemp(prefix="bw-bench-ingest-"))
    datasets: dict[str, list[Path]] = {}
    try:
        wanted = set() if args.memory_only else set(args.datasets.split(","))
        if "kcs" in wanted and all((KCS_DIR / name).exists() for name in KCS_FILES):
            datasets["kcs train+valid"] = [KCS_DIR / name for name in KCS_FILES]
        for count in [n for n, key in ((small, "small"), (large, "large")) if key in wanted]:
            path = scratch / f"generated_{count}.csv"
            console.print(f"generating {count:,} declarations …")
            _run_child(["--generate", str(count), str(path)])
            console.print(f"  {path.stat().st_size / 1e6:.0f} MB")
            datasets[f"generated {count:,}"] = [path]
        databases = [
            kind
            for kind in args.databases.split(",")
            if kind == "sqlite" or (kind == "postgresql" and _postgres_reachable())
        ]
        results: list[dict[str, Any]] = []
        for name, files in datasets.items():
            size = sum(path.stat().st_size for path in files)
            for kind in databases:
                row: dict[str, Any] = {"dataset": name, "database": kind, "bytes": size}
                # Interleaved repeats, best time kept: the machine is shared, and the fastest run is the
                # one least disturbed by others. Peak memory is the largest seen.
                runs: dict[str, list[tuple[dict[str, Any], float, float]]] = {"ceiling": [], "ingest": []}
                for _ in range(args.repeat if size < 50_000_000 else 1):
                    for mode in ("ceiling", "ingest"):
                        with _Database(kind, scratch) as url:
                            runs[mode].append(_run_child(["--worker", mode, url, *map(str, files)]))
                for mode, measured in runs.items():
                    best = min(measured, key=lambda run: run[0]["seconds"])[0]
                    row[mode] = {
                        "records": best["records"],
                        "seconds": round(best["seconds"], 3),
                        "records_per_s": round(best["records"] / best["seconds"]),
                        "max_rss_mb": round(max(run[1] for run in measured), 1),
                        "process_cpu_s": round(min(run[2] for run in measured), 2),
                        "runs": len(measured),
                    }
                    console.print(f"{name} / {kind} / {mode}: {row[mode]}")
                row["ratio"] = round(row["ingest"]["records_per_s"] / row["ceiling"]["records_per_s"], 3)
                results.append(row)
        counts = [int(n) for n in args.memory_items.split(",")]
        memory = _memory(databases, scratch, console, counts)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    table = Table(title="ingest throughput (records/s) and peak memory, against a bare bulk insert")
    for column in (
        "data set",
        "db",
        "records",
        "ingest rec/s",
        "ceiling rec/s",
        "ratio",
        "ingest RSS MB",
        "ceiling RSS MB",
    ):
        table.add_column(column, justify="left" if column in {"data set", "db"} else "right")
    for row in results:
        table.add_row(
            row["dataset"],
            row["database"],
            f"{row['ingest']['records']:,}",
            f"{row['ingest']['records_per_s']:,}",
            f"{row['ceiling']['records_per_s']:,}",
            f"{row['ratio']:.0%}",
            f"{row['ingest']['max_rss_mb']:.0f}",
            f"{row['ceiling']['max_rss_mb']:.0f}",
        )
    console.print(table)
    generated = [r for r in results if r["dataset"].startswith("generated")]
    for kind in {r["database"] for r in generated}:
        sizes = sorted((r for r in generated if r["database"] == kind), key=lambda r: r["bytes"])
        if len(sizes) == 2:
            console.print(
                f"{kind}: ingest max RSS {sizes[0]['ingest']['max_rss_mb']:.0f} MB "
                f"for {sizes[0]['dataset']}, "
                f"{sizes[1]['ingest']['max_rss_mb']:.0f} MB for {sizes[1]['dataset']} "
                f"({sizes[1]['bytes'] / sizes[0]['bytes']:.0f}x the bytes)"
            )
    _memory_table(memory, console)
    partial = args.memory_only or args.datasets != ALL_DATASETS or args.databases != ALL_DATABASES
    out = BENCH_DIR / "results" / ("ingest.partial.json" if partial else "ingest.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "quick": args.quick,
                "batch_size": BATCH,
                "goal": "ingest >= 50% of ceiling; RSS flat in file size",
                "results": results,
                "memory_goal": "peak memory linear in goods items (per-item peak flat from 1,000 items on)",
                "memory": memory,
            },
            indent=2,
        )
    )
    console.print(f"wrote {out.relative_to(REPO)}")


def _memory_table(memory: list[dict[str, Any]], console: Any) -> None:
    from rich.table import Table

    table = Table(title="peak memory of one declaration by goods items (MB above the process after imports)")
    for column in ("items", "db", "path", "line KB", "s", "peak MB", "KB/item"):
        table.add_column(column, justify="left" if column in {"db", "path"} else "right")
    single = {(r["database"], r["path"]): r["peak_mb"] for r in memory if r["items"] == 1}
    for row in memory:
        key = (row["database"], row["path"])
        # Linear: what each item adds above a one-item declaration stays flat as the items grow.
        row["kb_per_item"] = (
            round((row["peak_mb"] - single[key]) * 1000 / (row["items"] - 1), 2)
            if row["items"] > 1 and key in single
            else None
        )
        table.add_row(
            f"{row['items']:,}",
            row["database"],
            row["path"],
            f"{row['bytes'] / 1000:,.0f}",
            f"{row['seconds']:.2f}",
            f"{row['peak_mb']:.1f}",
            "" if row["kb_per_item"] is None else f"{row['kb_per_item']:.1f}",
        )
    console.print(table)
    console.print("KB/item: peak above the one-item declaration's, per extra item (flat = linear)")


if __name__ == "__main__":
    main()
