"""Plate reads at volume: ingest and hotlist checks, read-to-alert latency, and the pattern detectors.

    python bench/vehicles.py [--reads 1000000] [--ingest 100000] [--hotlist 100000] [--rate 1000]
        [--seconds 10] [--only all|stream|patterns]

1. Synthetic traffic (``borderwatch.synthetic.generate_crossings``; volumes of the order of one busy US port's
   month in the BTS border-crossing statistics, which are not on this machine) with planted clones, convoys,
   shuttles, undeclared crossings and transport mismatches.
2. Ingest: the first ``--ingest`` reads as CSV through ``service.ingest_reads`` into SQLite (checked,
   normalised, stored, matched against a ``--hotlist``-plate hotlist holding 1 % of the vehicles), reads/s.
3. Streaming: reads offered at ``--rate`` per second; one worker takes every read that has arrived and calls
   ``service.process_reads`` (one transaction); latency from a read's arrival to its batch's commit, p50/p99,
   and the transaction's own time. Baselines in the same run: the store path before the stream path
   (``store_before``: key look-up, Polars frame, id read-back, ORM alerts, an audit entry per alert), taking
   turns with it 2 s at a time; the hotlist scanned with rapidfuzz (Damerau-Levenshtein ≤ 1 on confusion
   keys) per read instead of the deletion index; the audit append's cost per commit for 1 and 20 entries.
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
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


def ingest(
    world: CrossingWorld, folder: Path, *, count: int, hotlist: int, rate: int, seconds: int
) -> dict[str, Any]:
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
    records = _records(world.reads.slice(count, 2 * rate * seconds))
    stream, before = paced_pair(factory, records, rate=rate, seconds=seconds)
    audit_ms = audit_cost(factory)
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
        "stream_before": before,
        "audit_commit": audit_ms,
        "scan_baseline": scan_baseline(world, listed, samples=200),
    }


NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "camera_id": r["camera_id"],
            "read_at": r["read_at"].isoformat(),
            "plate": r["plate"],
            "country": r["country"],
            "confidence": r["confidence"],
        }
        for r in frame.iter_rows(named=True)
    ]


def store_before(
    *, session: Any, agency: str, batch: Any, threshold: float = 0.75, received: float
) -> service.ReadSummary:
    """Baseline: the store path before the stream path (kept here to be measured in the same run): a look-up
    of the keys stored, a Polars frame and the bulk writer, a read-back of the ids of the reads that hit, an
    ORM row and an audit entry per alert."""
    from sqlalchemy import select

    from borderwatch.access import audit
    from borderwatch.ingest.service import bulk_insert
    from borderwatch.vehicles.models import PlateReadRow, VehicleAlertRow

    summary = service.ReadSummary(source=batch.source)
    unique = list({read.read_key: read for read in batch.reads}.values())
    existing = service.existing_read_keys(session, agency, [r.read_key for r in unique])
    fresh = [read for read in unique if read.read_key not in existing]
    frame = service.plate_reads_frame(fresh, agency=agency, source=batch.source)
    bulk_insert(session.connection(), "plate_reads", service.storable_times(session, frame))
    summary.reads = len(fresh)
    index = service.hotlist_index(session=session, agency=agency)
    hits = [
        (read, hit) for read in fresh for hit in index.match(read.plate, read.country, threshold=threshold)
    ]
    if not hits:
        return summary
    keys = list({read.read_key for read, _ in hits})
    ids = dict(
        session.execute(
            select(PlateReadRow.read_key, PlateReadRow.id).where(
                PlateReadRow.agency == agency, PlateReadRow.read_key.in_(keys)
            )
        ).all()
    )
    for read, hit in hits:
        latency = (time.perf_counter() - received) * 1000
        session.add(
            VehicleAlertRow(
                agency=agency,
                plate=read.plate,
                country=read.country,
                read_id=ids.get(read.read_key),
                code=f"hotlist_{hit.entry.list_name}",
                family="hotlist",
                points=hit.score,
                evidence=hit.evidence(read_plate=read.plate, read_country=read.country),
                fingerprint=service.alert_fingerprint("hotlist", read.read_key, hit.entry.entry_id),
                status="open",
                latency_ms=round(latency, 3),
            )
        )
        audit.record(
            db_session=session,
            actor=service.SYSTEM_ACTOR,
            agency=agency,
            action="alert",
            resource="vehicle",
            resource_id=read.plate,
            detail={"code": f"hotlist_{hit.entry.list_name}", "score": hit.score, "camera": read.camera_id},
        )
        summary.alerts += 1
    session.flush()
    return summary


MAX_BATCH = 500


@dataclass
class Paced:
    """What one path's stream runs measured: per read, arrival to commit; per batch, the transaction."""

    path: str
    reads: int = 0
    batches: int = 0
    alerts: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    alert_latencies: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)

    def summary(self, rate: int) -> dict[str, Any]:
        def q(values: list[float], at: int) -> float | None:
            return round(statistics.quantiles(values, n=100)[at - 1], 1) if len(values) > 1 else None

        return {
            "path": self.path,
            "offered_reads_per_s": rate,
            "reads": self.reads,
            "reads_per_s": round(self.reads / self.wall),
            "batches": self.batches,
            "mean_batch": round(self.reads / self.batches, 1),
            "cpu_us_per_read": round(self.cpu / self.reads * 1e6),
            "alerts": self.alerts,
            "p50_ms": q(self.latencies, 50),
            "p99_ms": q(self.latencies, 99),
            "max_ms": round(max(self.latencies), 1),
            "alert_p99_ms": q(self.alert_latencies, 99),
            "transaction_p50_ms": q(self.service, 50),
            "transaction_p99_ms": q(self.service, 99),
        }


def paced(
    factory: Any, records: list[dict[str, Any]], into: Paced, *, rate: int, seconds: float, before: bool
) -> None:
    """Reads arriving at ``rate`` per second for ``seconds``; one worker takes every read that has arrived (up
    to ``MAX_BATCH``), checks, stores and matches them in one transaction, and commits. A read's latency runs
    from its arrival to the commit of its batch (its alerts visible): waiting for the worker counts, so a
    worker that cannot keep up shows as growing latencies, not as a lower rate."""
    from borderwatch.vehicles.reads import check_records, mapping_records

    count = min(len(records), int(rate * seconds))
    arrivals = [n / rate for n in range(count)]
    start, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < count:
        now = time.perf_counter() - start
        if arrivals[done] > now:
            time.sleep(arrivals[done] - now)
            continue
        end = done
        while end < count and arrivals[end] <= now and end - done < MAX_BATCH:
            end += 1
        received = time.perf_counter()
        with session_scope(factory) as session:
            if before:
                known = service.cameras(session=session, agency="bench")
                batch = check_records(
                    mapping_records(records[done:end]), source="stream", cameras=known, now=NOW
                )
                summary = store_before(session=session, agency="bench", batch=batch, received=received)
            else:
                summary = service.process_reads(
                    session=session, agency="bench", records=records[done:end], source="stream", now=NOW
                )
        committed = time.perf_counter()
        into.service.append((committed - received) * 1000)
        waited = [(committed - start - arrivals[n]) * 1000 for n in range(done, end)]
        into.latencies.extend(waited)
        if summary.alerts:
            into.alerts += summary.alerts
            into.alert_latencies.append(max(waited))  # the batch's oldest read: an upper bound for its alerts
        into.batches += 1
        done = end
    into.reads += count
    into.wall += time.perf_counter() - start
    into.cpu += time.process_time() - cpu


def paced_pair(
    factory: Any, records: list[dict[str, Any]], *, rate: int, seconds: int, segment: int = 2
) -> list[dict[str, Any]]:
    """The stream path and the baseline, each for ``seconds`` in all, taking turns ``segment`` seconds at a
    time on fresh reads, so that both see the same load on a shared machine."""
    runs = {False: Paced("stream path"), True: Paced("before (baseline)")}
    offset, per = 0, rate * segment
    for turn in range(2 * max(1, seconds // segment)):
        before = bool(turn % 2)
        paced(
            factory, records[offset : offset + per], runs[before], rate=rate, seconds=segment, before=before
        )
        offset += per
    return [runs[False].summary(rate), runs[True].summary(rate)]


def audit_cost(factory: Any, *, commits: int = 100) -> dict[str, float]:
    """ms per commit of a transaction that appends 1 audit entry and one that appends 20 (the hash chain's
    lock and tail read are paid per commit, the hash per entry)."""
    from borderwatch.access import audit

    found = {}
    for entries in (1, 20):
        started = time.perf_counter()
        for _ in range(commits):
            with session_scope(factory) as session:
                for n in range(entries):
                    audit.record(
                        db_session=session,
                        actor="bench",
                        agency="bench",
                        action="alert",
                        resource="vehicle",
                        resource_id=f"P{n}",
                        detail={"alerts": [{"alert_id": n, "read_id": n, "code": "hotlist_national"}]},
                    )
        found[f"{entries}_entries_ms"] = round((time.perf_counter() - started) / commits * 1000, 2)
    return found


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
    parser.add_argument("--rate", type=int, default=1_000, help="reads/s offered to the stream worker")
    parser.add_argument("--seconds", type=int, default=10, help="length of each paced stream run")
    parser.add_argument("--only", choices=("all", "stream", "patterns"), default="all")
    args = parser.parse_args()
    console = Console(width=150)
    load_start = os.getloadavg()[0]
    world, gen_wall, _ = clock(lambda: generate_crossings(CrossingConfig(reads=args.reads)))
    console.print(
        f"generated {world.reads.height:,} reads in {gen_wall:.1f} s (load average {load_start:.1f})"
    )
    results: dict[str, Any] = {"reads": world.reads.height, "generated_s": round(gen_wall, 1)}
    if args.only in ("all", "patterns"):
        results |= patterns_part(console, world)
    if args.only in ("all", "stream"):
        with tempfile.TemporaryDirectory() as scratch:
            ingested = ingest(
                world,
                Path(scratch),
                count=args.ingest,
                hotlist=args.hotlist,
                rate=args.rate,
                seconds=args.seconds,
            )
        results["ingest"] = ingested
        stream_part(console, ingested)
    results |= {
        "load_average_start": load_start,
        "load_average_end": os.getloadavg()[0],
        "polars_threads": pl.thread_pool_size(),
        "command": "python bench/vehicles.py " + " ".join(sys.argv[1:]),
    }
    name = "vehicles.json" if args.only == "all" else f"vehicles_{args.only}.json"
    out = RESULTS.with_name(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    console.print(f"written {out}")


def patterns_part(console: Console, world: CrossingWorld) -> dict[str, Any]:
    rows, all_wall, all_cpu = clock(lambda: detectors(world))
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
    return {
        "detectors": rows,
        "detectors_total": {"wall_s": round(all_wall, 1), "cpu_s": round(all_cpu, 1)},
        "find_patterns": {
            "wall_s": round(find_wall, 1),
            "cpu_s": round(find_cpu, 1),
            "findings": len(everything),
        },
    }


def stream_part(console: Console, ingested: dict[str, Any]) -> None:
    console.print(
        f"ingest: {ingested['reads']:,} reads in {ingested['wall_s']} s = {ingested['reads_per_s']:,} reads/s"
        f" ({ingested['reads_per_cpu_s']:,}/CPU s), {ingested['alerts']} hotlist alerts on a"
        f" {ingested['hotlist_plates']:,}-plate hotlist"
    )
    rate = ingested["stream"]["offered_reads_per_s"]
    table = Table(
        title=f"Hotlist stream: {rate} reads/s offered, latency from a read's arrival to its commit"
    )
    columns = (
        "path",
        "reads/s",
        "batch",
        "CPU µs/read",
        "alerts",
        "p50 ms",
        "p99 ms",
        "alert p99",
        "txn p99",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "path" else "right")
    for run in (ingested["stream"], ingested["stream_before"]):
        table.add_row(
            *(
                str(run[name])
                for name in (
                    "path",
                    "reads_per_s",
                    "mean_batch",
                    "cpu_us_per_read",
                    "alerts",
                    "p50_ms",
                    "p99_ms",
                    "alert_p99_ms",
                    "transaction_p99_ms",
                )
            )
        )
    console.print(table)
    scan = ingested["scan_baseline"]
    console.print(
        f"hotlist per read: index {scan['index_ms_per_read']} ms,"
        f" rapidfuzz scan {scan['scan_ms_per_read']} ms ({scan['speedup']}x),"
        f" same matches: {scan['same_matches']}; audit per commit: {ingested['audit_commit']}"
    )


if __name__ == "__main__":
    main()
