"""Plate reads at volume: ingest and hotlist checks, read-to-alert latency, and the pattern detectors.

    python bench/vehicles.py [--reads 1000000] [--ingest 100000] [--hotlist 100000]

1. Synthetic traffic (``borderwatch.synthetic.generate_crossings``; volumes of the order of one busy US port's
   month in the BTS border-crossing statistics, which are not on this machine) with planted clones, convoys,
   shuttles, undeclared crossings and transport mismatches.
2. Ingest: the first ``--ingest`` reads as CSV through ``service.ingest_reads`` into SQLite (checked,
   normalised, stored, matched against a ``--hotlist``-plate hotlist holding 1 % of the vehicles), reads/s.
3. Streaming: ``service.process_reads`` on batches of 20 reads (one transaction each, as a pipeline worker
   would call it), read-to-alert latency from receiving a batch to the alert committed, p50/p99.
   Baseline in the same run: the hotlist scanned with rapidfuzz (Damerau-Levenshtein ≤ 1 on confusion keys)
   per read instead of the deletion index.
4. Patterns on all the reads in memory: each detector's precision and recall against the ground truth, CPU
   and wall seconds, beside the naive detectors (fixed distance and speed, plain co-occurrence and crossing
   counts, exact plates in a fixed window).

The machine is shared (2 cores, other jobs): the load average is recorded; CPU seconds are steadier.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from rapidfuzz.distance import DamerauLevenshtein
from rich.console import Console
from rich.table import Table

from borderwatch.db.session import make_engine, migrate, session_factory, session_scope
from borderwatch.synthetic import CrossingConfig, CrossingWorld, generate_crossings, write_crossings
from borderwatch.vehicles import confusion_key, service
from borderwatch.vehicles import patterns as pt

RESULTS = Path(__file__).resolve().parent / "results" / "vehicles.json"
T = TypeVar("T")


def clock(run: Callable[[], T]) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def score(found: set[Any], truth: set[Any]) -> dict[str, float | int]:
    hits = len(found & truth)
    return {
        "found": len(found),
        "planted": len(truth),
        "precision": round(hits / len(found), 4) if found else 1.0,
        "recall": round(hits / len(truth), 4) if truth else 1.0,
    }


def detectors(world: CrossingWorld) -> list[dict[str, Any]]:
    reads, cameras, declared, truth = world.reads, world.cameras, world.declarations, world.truth
    policy = pt.PatternPolicy()
    moves, crossing_wall, crossing_cpu = clock(lambda: pt.crossings(reads, cameras, policy))
    planted = {
        pt.CLONED: {c["plate"] for c in truth["clones"]},
        pt.CONVOY: {tuple(c["plates"]) for c in truth["convoys"]},
        pt.SHUTTLE: {s["plate"] for s in truth["shuttles"]},
        pt.UNDECLARED: {u["plate"] for u in truth["undeclared"]},
        pt.MISMATCH: {m["lrn"] for m in truth["mismatches"]},
    }
    runs: dict[str, tuple[Callable[[], set[Any]], Callable[[], set[Any]]]] = {
        pt.CLONED: (
            lambda: {f.plates[0] for f in pt.cloned_plates(reads, cameras, policy)},
            lambda: pt.naive_clones(reads, cameras, policy),
        ),
        pt.CONVOY: (
            lambda: {f.plates for f in pt.convoys(reads, policy)},
            lambda: pt.naive_convoys(reads, policy),
        ),
        pt.SHUTTLE: (
            lambda: {f.plates[0] for f in pt.shuttles(reads, cameras, declared, policy, moves)},
            lambda: pt.naive_shuttles(reads, cameras, policy),
        ),
        pt.UNDECLARED: (
            lambda: {f.plates[0] for f in pt.undeclared_crossings(reads, cameras, declared, policy, moves)},
            lambda: pt.naive_undeclared(reads, cameras, declared),
        ),
        pt.MISMATCH: (
            lambda: {f.lrn for f in pt.transport_mismatches(reads, cameras, declared, policy, moves)},
            lambda: pt.naive_mismatches(reads, cameras, declared),
        ),
    }
    rows = [{"detector": "crossings (shared step)", "wall_s": crossing_wall, "cpu_s": crossing_cpu}]
    for code, (smart, naive) in runs.items():
        found, wall, cpu = clock(smart)
        naive_found, naive_wall, naive_cpu = clock(naive)
        rows.append(
            {
                "detector": code,
                **score(found, planted[code]),
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "naive": {
                    **score(naive_found, planted[code]),
                    "wall_s": round(naive_wall, 2),
                    "cpu_s": round(naive_cpu, 2),
                },
            }
        )
    return rows


def hotlist_rows(world: CrossingWorld, size: int) -> list[dict[str, str | None]]:
    """``size`` plates: 1 % of the vehicles seen, the rest plates nobody drives here."""
    seen = world.reads.select("plate", "country").unique("plate").sort("plate")
    listed = seen.gather_every(100).rows()
    rows: list[dict[str, str | None]] = [
        {"plate": plate, "country": country, "reason": "seen", "reference": None} for plate, country in listed
    ]
    n = 0
    while len(rows) < size:
        rows.append({"plate": f"QQ{n:07d}", "country": None, "reason": "filler", "reference": None})
        n += 1
    return rows


def ingest(world: CrossingWorld, folder: Path, *, count: int, hotlist: int) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    migrate(engine)
    factory = session_factory(engine)
    paths = write_crossings(
        CrossingWorld(world.reads.head(count), world.cameras, world.declarations, world.truth), folder
    )
    listed = hotlist_rows(world, hotlist)
    with session_scope(factory) as session:
        service.load_cameras(session=session, agency="bench", path=paths["cameras.csv"])
        service.replace_hotlist(session=session, agency="bench", list_name="national", rows=listed)
    with factory() as session:
        _, index_wall, _ = clock(lambda: service.hotlist_index(session=session, agency="bench"))

    def run() -> service.ReadSummary:
        with session_scope(factory) as session:
            return service.ingest_reads(session=session, agency="bench", path=paths["reads.csv"], now=NOW)

    summary, wall, cpu = clock(run)
    stream = streaming(factory, world, start=count, batches=100, size=20)
    engine.dispose()
    return {
        "reads": summary.reads,
        "quarantined": summary.quarantined,
        "alerts": summary.alerts,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "reads_per_s": round(summary.reads / wall),
        "reads_per_cpu_s": round(summary.reads / cpu),
        "hotlist_plates": len(listed),
        "hotlist_index_build_s": round(index_wall, 2),
        "stream": stream,
        "scan_baseline": scan_baseline(world, listed, samples=200),
    }


NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def streaming(factory: Any, world: CrossingWorld, *, start: int, batches: int, size: int) -> dict[str, Any]:
    """Batches of reads as a worker hands them over: seconds from receipt to the alerts committed."""
    frame = world.reads.slice(start, batches * size)
    records = [
        {
            "camera_id": r["camera_id"],
            "read_at": r["read_at"].isoformat(),
            "plate": r["plate"],
            "country": r["country"],
            "confidence": r["confidence"],
        }
        for r in frame.iter_rows(named=True)
    ]
    latencies, with_alert = [], []
    alerts = 0
    for n in range(batches):
        received = time.perf_counter()
        with session_scope(factory) as session:
            summary = service.process_reads(
                session=session,
                agency="bench",
                records=records[n * size : (n + 1) * size],
                source="stream",
                now=NOW,
            )
        latency = (time.perf_counter() - received) * 1000
        latencies.append(latency)
        if summary.alerts:
            alerts += summary.alerts
            with_alert.append(latency)
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "batches": batches,
        "batch_size": size,
        "reads_per_s": round(batches * size / (sum(latencies) / 1000)),
        "alerts": alerts,
        "p50_ms": round(quantiles[49], 1),
        "p99_ms": round(quantiles[98], 1),
        "max_alert_batch_ms": round(max(with_alert), 1) if with_alert else None,
    }


def scan_baseline(
    world: CrossingWorld, listed: list[dict[str, str | None]], *, samples: int
) -> dict[str, Any]:
    """Per read: the deletion index against a rapidfuzz scan of every listed key (same answers, checked)."""
    from borderwatch.vehicles import HotlistIndex, Listed

    index = HotlistIndex.build(
        Listed(i, str(r["plate"]), r["country"], "national", "x") for i, r in enumerate(listed)
    )
    keys = [confusion_key(str(r["plate"])) for r in listed]
    probes = world.reads["plate"].head(samples).to_list()
    found_index, index_wall, _ = clock(lambda: [len(index.match(p)) for p in probes])
    found_scan, scan_wall, _ = clock(
        lambda: [
            sum(1 for k in keys if DamerauLevenshtein.distance(k, confusion_key(p), score_cutoff=1) <= 1)
            for p in probes
        ]
    )
    return {
        "reads": samples,
        "index_ms_per_read": round(index_wall / samples * 1000, 4),
        "scan_ms_per_read": round(scan_wall / samples * 1000, 2),
        "speedup": round(scan_wall / max(index_wall, 1e-9)),
        "same_matches": found_index == found_scan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--ingest", type=int, default=100_000)
    parser.add_argument("--hotlist", type=int, default=100_000)
    args = parser.parse_args()
    console = Console(width=150)
    load_start = os.getloadavg()[0]
    world, gen_wall, _ = clock(lambda: generate_crossings(CrossingConfig(reads=args.reads)))
    console.print(
        f"generated {world.reads.height:,} reads in {gen_wall:.1f} s (load average {load_start:.1f})"
    )
    rows, all_wall, all_cpu = clock(lambda: detectors(world))
    with tempfile.TemporaryDirectory() as scratch:
        ingested = ingest(world, Path(scratch), count=args.ingest, hotlist=args.hotlist)
    everything, find_wall, find_cpu = clock(
        lambda: pt.find_patterns(world.reads, world.cameras, world.declarations)
    )
    table = Table(title=f"Patterns over {world.reads.height:,} reads (naive beside)")
    for column in (
        "detector",
        "precision",
        "recall",
        "found",
        "cpu s",
        "naive precision",
        "naive recall",
        "naive found",
        "naive cpu s",
    ):
        table.add_column(column, justify="left" if column == "detector" else "right")
    for row in rows[1:]:
        naive = row["naive"]
        table.add_row(
            row["detector"],
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            str(row["found"]),
            f"{row['cpu_s']:.2f}",
            f"{naive['precision']:.3f}",
            f"{naive['recall']:.3f}",
            str(naive["found"]),
            f"{naive['cpu_s']:.2f}",
        )
    console.print(table)
    console.print(
        f"all detectors (find_patterns): {find_wall:.1f} s wall, {find_cpu:.1f} s CPU for"
        f" {world.reads.height:,} reads; {len(everything)} findings"
    )
    stream = ingested["stream"]
    console.print(
        f"ingest: {ingested['reads']:,} reads in {ingested['wall_s']} s = {ingested['reads_per_s']:,} reads/s"
        f" ({ingested['reads_per_cpu_s']:,}/CPU s), {ingested['alerts']} hotlist alerts on a"
        f" {ingested['hotlist_plates']:,}-plate hotlist; stream of {stream['batch_size']}-read batches:"
        f" {stream['reads_per_s']:,} reads/s, read-to-alert p50 {stream['p50_ms']} ms,"
        f" p99 {stream['p99_ms']} ms"
    )
    scan = ingested["scan_baseline"]
    console.print(
        f"hotlist per read: index {scan['index_ms_per_read']} ms,"
        f" rapidfuzz scan {scan['scan_ms_per_read']} ms ({scan['speedup']}x),"
        f" same matches: {scan['same_matches']}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "reads": world.reads.height,
                "generated_s": round(gen_wall, 1),
                "detectors": rows,
                "detectors_total": {"wall_s": round(all_wall, 1), "cpu_s": round(all_cpu, 1)},
                "find_patterns": {
                    "wall_s": round(find_wall, 1),
                    "cpu_s": round(find_cpu, 1),
                    "findings": len(everything),
                },
                "ingest": ingested,
                "load_average_start": load_start,
                "load_average_end": os.getloadavg()[0],
                "polars_threads": pl.thread_pool_size(),
            },
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )
    console.print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
