"""Ledger benchmark: durable batched appends on SQLite and PostgreSQL, inclusion-proof latency at 10^7
entries, checkpoints signed and verified per second.

    .venv/bin/python bench/ledger.py [--quick] [--entries 10000000] [--appends 50000]

- Appends: ``--appends`` entries through ``service.append`` in batches of 1,000 (each batch one durable
  transaction: SQLite ``synchronous=FULL``, PostgreSQL synchronous commit, its rows written with COPY),
  and through the ``LogWriter``
  (8 submitting threads, batches of at most 2,000 or 20 ms); the baseline, in the same run: one transaction
  per entry (500 entries).
- Proofs: a tree of ``--entries`` leaves is built in bulk (leaf hashes with hashlib, tiles with
  ``tiles.extend`` at once, inserted as tile rows; the entry rows themselves are not written: a proof reads
  only tiles), then 2,000 inclusion proofs of random entries against the full tree through
  ``service.inclusion`` (one query for the log and the tiles, the proof assembled), each verified outside
  the timing; p50/p99 of the wall time back to back, of the process's CPU time per proof (what the proof
  costs, without the waits for a CPU that other work on the machine causes), and of the wall time with one
  proof every ``--pace`` seconds (requests arriving at a server rather than a loop that never sleeps).
  Baseline in the same run: the same at 10,000 entries.
- Checkpoints: ``sign_note`` of a checkpoint and ``open_checkpoint`` of it, for 2 s each.
Other helpers share the machine's 2 cores: absolute figures are given with the load average beside them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import date
from hashlib import sha256
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text, update

from borderwatch.db.session import make_engine, migrate
from borderwatch.ledger import service, verify_inclusion
from borderwatch.ledger.entries import DocumentEntry, DocumentType
from borderwatch.ledger.merkle import leaf_hash
from borderwatch.ledger.note import Checkpoint, generate_key, open_checkpoint, parse_vkey, sign_note
from borderwatch.ledger.service import _logs, _tiles  # the bulk build writes tiles as the service does
from borderwatch.ledger.tiles import extend
from borderwatch.ledger.writer import LogWriter

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "ledger.json"
POSTGRES = os.environ.get(
    "BORDERWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FP = sha256(b"x").hexdigest()


def entries(start: int, n: int) -> list[DocumentEntry]:
    return [
        DocumentEntry(DocumentType.COMMERCIAL_INVOICE, "exporter", f"INV-{i}", date(2026, 12, 1), "bench", FP)
        for i in range(start, start + n)
    ]


@contextmanager
def database(kind: str, scratch: Path) -> Iterator[Engine | None]:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{scratch / f'ledger-{uuid.uuid4().hex[:6]}.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(POSTGRES)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # no server: the figure is reported as missing
        print(f"PostgreSQL unavailable ({type(error).__name__}); skipped")
        yield None
        return
    engine = make_engine(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_appends(engine: Engine, n: int) -> dict[str, float]:
    service.ensure_log(engine, agency="bench", origin="bench.example/log")
    start = time.perf_counter()
    for i in range(500):
        service.append(engine, agency="bench", entries=entries(i, 1))
    single = 500 / (time.perf_counter() - start)
    start = time.perf_counter()
    for offset in range(0, n, 1000):
        service.append(engine, agency="bench", entries=entries(offset, min(1000, n - offset)))
    batched = n / (time.perf_counter() - start)
    futures: list[Future[service.Receipt]] = []
    with LogWriter(engine, agency="bench", max_batch=2000, max_delay=0.02) as writer:
        start = time.perf_counter()

        def submit(part: int) -> None:
            futures.extend(writer.submit(e) for e in entries(part * n, n // 8))

        threads = [threading.Thread(target=submit, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for future in futures:
            future.result()
        via_writer = len(futures) / (time.perf_counter() - start)
    return {"single_per_s": single, "batched_per_s": batched, "writer_per_s": via_writer}


def build_tree(engine: Engine, n: int) -> None:
    """A log of ``n`` leaves (``entry 0``, ``entry 1``, ...), built in bulk: its tiles, size and root."""
    log = service.ensure_log(engine, agency="proofs", origin=f"bench.example/{n}")
    tiles = extend(0, [leaf_hash(b"entry %d" % i) for i in range(n)], {})
    rows = [
        {"log_id": log.id, "level": level, "idx": idx, "width": len(h) // 32, "hashes": h}
        for (level, idx), h in tiles.items()
    ]
    del tiles
    with engine.begin() as connection:
        for offset in range(0, len(rows), 2000):
            connection.execute(insert(_tiles), rows[offset : offset + 2000])
    with engine.begin() as connection:
        connection.execute(update(_logs).where(_logs.c.id == log.id).values(size=n, root=b"\0" * 32))
    root = service.root_at(engine, agency="proofs", size=n)
    with engine.begin() as connection:
        connection.execute(update(_logs).where(_logs.c.id == log.id).values(root=root))


def _percentiles(prefix: str, values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        f"{prefix}p50_ms": 1000 * statistics.median(values),
        f"{prefix}p99_ms": 1000 * values[int(0.99 * (len(values) - 1))],
    }


def bench_proofs(engine: Engine, n: int, samples: int, pace: float) -> dict[str, float]:
    """Inclusion proofs of random entries, each verified (outside the timing): back to back (wall and the
    process's CPU time per proof), then one every ``pace`` seconds, as requests arriving at a server."""
    start = time.perf_counter()
    build_tree(engine, n)
    built = time.perf_counter() - start
    gc.collect()  # the build's garbage, not the proofs'
    root = service.root_at(engine, agency="proofs", size=n)
    rng = random.Random(7)
    wall, cpu, paced = [], [], []
    for i in range(2 * samples):
        index = rng.randrange(n)
        if i >= samples:
            time.sleep(pace)
        c0, t0 = time.thread_time(), time.perf_counter()
        proof = service.inclusion(engine, agency="proofs", index=index, size=n)
        t1, c1 = time.perf_counter(), time.thread_time()
        if i < samples:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
        else:
            paced.append(t1 - t0)
        verify_inclusion(leaf_hash(b"entry %d" % index), index, n, proof, root)
    return {
        "entries": n,
        "build_seconds": built,
        **_percentiles("", wall),
        **_percentiles("cpu_", cpu),
        **_percentiles("paced_", paced),
        "pace_ms": 1000 * pace,
        "load_average_1min": os.getloadavg()[0],
    }


def bench_checkpoints() -> dict[str, float]:
    key = generate_key("bench.example/log")
    verifier = parse_vkey(key.vkey)
    body = Checkpoint("bench.example/log", 10_000_000, sha256(b"root").digest()).body()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        note = sign_note(body, [key])
        count += 1
    signed = count / (time.perf_counter() - start)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        open_checkpoint(note, [verifier], origin="bench.example/log")
        count += 1
    return {"signed_per_s": signed, "verified_per_s": count / (time.perf_counter() - start)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--appends", type=int, default=50_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pace", type=float, default=0.005, help="seconds between paced proofs")
    args = parser.parse_args()
    n_tree = 100_000 if args.quick else args.entries
    n_appends = 5_000 if args.quick else args.appends
    load = os.getloadavg()[0]
    result: dict[str, Any] = {"load_average_1min": load, "cores": os.cpu_count(), "databases": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for kind in args.databases.split(","):
            with database(kind, Path(scratch)) as engine:
                if engine is None:
                    continue
                figures: dict[str, Any] = {"appends": bench_appends(engine, n_appends)}
                print(kind, "appends", figures["appends"], flush=True)
                figures["proofs"] = bench_proofs(engine, n_tree, 2000, args.pace)
                print(kind, "proofs", figures["proofs"], flush=True)
                with database(kind, Path(scratch)) as small:
                    assert small is not None
                    figures["proofs_baseline"] = bench_proofs(small, 10_000, 2000, args.pace)
                result["databases"][kind] = figures
    result["checkpoints"] = bench_checkpoints()
    result["load_average_1min_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\nLedger benchmark (load average {load:.1f} at start, "
        f"{result['load_average_1min_end']:.1f} at end, "
        f"{os.cpu_count()} cores shared with other work)"
    )
    print(
        f"{'database':<10} {'1/txn /s':>10} {'batched /s':>11} {'writer /s':>10} {'x single':>9} "
        f"{'entries':>11} {'p50 ms':>7} {'p99 ms':>7} {'cpu p99':>8} {'paced p50':>10} {'paced p99':>10} "
        f"{'p99 @10^4':>10}"
    )
    for kind, f in result["databases"].items():
        a, p, b = f["appends"], f["proofs"], f["proofs_baseline"]
        print(
            f"{kind:<10} {a['single_per_s']:>10,.0f} {a['batched_per_s']:>11,.0f} "
            f"{a['writer_per_s']:>10,.0f} {a['batched_per_s'] / a['single_per_s']:>9.1f} "
            f"{p['entries']:>11,} {p['p50_ms']:>7.2f} {p['p99_ms']:>7.2f} {p['cpu_p99_ms']:>8.2f} "
            f"{p['paced_p50_ms']:>10.2f} {p['paced_p99_ms']:>10.2f} {b['p99_ms']:>10.2f}"
        )
    print(
        "proof latency: back to back (wall), the process's CPU time per proof, and paced (one proof every "
        f"{1000 * args.pace:.0f} ms); p99 @10^4: back to back at 10,000 entries, same run"
    )
    c = result["checkpoints"]
    print(f"checkpoints: {c['signed_per_s']:,.0f} signed/s, {c['verified_per_s']:,.0f} verified/s")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
