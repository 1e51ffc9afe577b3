"""Declarations through the NATS JetStream pipeline with 1 and 2 worker processes, against the same work done
inline (in one process, no NATS) in the same run; publish-to-score latency.

    .venv/bin/python bench/pipeline.py [--quick] [--declarations N] [--database-url URL]

Set-up (not timed): generated traffic (``borderwatch.synthetic``) split by date into history and new
declarations dated as one day of live traffic (the day after the history). The history is ingested into a
fresh database (a PostgreSQL schema of its own on the test server when one answers, dropped afterwards, so
that two workers are not serialised by SQLite's single write lock; else SQLite), a model is trained on it
and registered. Each arm then works on its own copy of the new declarations (their LRNs prefixed by the arm),
so every arm stores, scores and lanes the same content from the same history:

- inline:      the stages' processors (``borderwatch.pipeline.stages``: ingest service, the API's scoring,
               the lanes service, the effects table) called one after the other in this process, a batch of
               ``BATCH`` at a time: the same work without NATS;
- pipeline xN: ``borderwatch worker --stage all`` in N processes (started and warmed up before the clock:
               model loaded, the day's history snapshot built), the declarations published at once with
               ``borderwatch.pipeline.publish``, timed from the first publish to the last lane decision;
- latency:     one worker, declarations published at a steady half of its measured rate; publish-to-score
               latency is the JetStream timestamp of a declaration's ``scores`` message minus that of its
               ``in`` message (both the server's clock).

Writes bench/results/pipeline.json. The machine has 2 cores shared with other people's work: absolute rates
move with their load; the ratios are measured within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import nats
import numpy as np
import polars as pl
from nats.js.api import ConsumerConfig, DeliverPolicy
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from borderwatch.cli.pipeline import processors_for
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, migrate, session_factory, session_scope
from borderwatch.pipeline.messages import content_key
from borderwatch.pipeline.publish import file_bodies, publish_bodies
from borderwatch.pipeline.stages import Forward
from borderwatch.pipeline.topology import Kind, Stage, Topology
from borderwatch.pipeline.worker import ensure_streams

BENCH_DIR = Path(__file__).resolve().parent
NATS_URL = os.environ.get("BORDERWATCH_TEST_NATS_URL", "nats://127.0.0.1:4222")
POSTGRES_URL = os.environ.get(
    "BORDERWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
AGENCY = "bench"
BATCH = 100
WARM_UP = 60


@contextmanager
def _database(folder: Path, url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    try:
        admin = create_engine(POSTGRES_URL)
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    schema = f"bench_pipeline_{uuid.uuid4().hex[:8]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _setup(folder: Path, url: str, *, history: int, new: int) -> list[bytes]:
    """History stored and a model registered; returns the new declarations as message bodies."""
    from borderwatch.ingest.frame import read_kcs_frames
    from borderwatch.ingest.service import ingest_file
    from borderwatch.scoring.registry import register_model
    from borderwatch.scoring.risk_model import train_risk_model
    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

    traffic = generate_traffic(
        GeneratorConfig(declarations=history + new, seed=7, start=date(2026, 1, 5), days=56)
    )
    csv = folder / "traffic.csv"
    write_traffic(traffic, csv)
    declarations, outcomes = read_kcs_frames(csv, agency=AGENCY)
    cut = sorted(declarations["declared_on"].to_list())[history]
    old_lrns = set(declarations.filter(pl.col("declared_on") < cut)["lrn"].to_list())
    old_csv, new_csv = folder / "history.csv", folder / "new.csv"
    raw = pl.read_csv(csv, infer_schema=False)
    raw.filter(pl.col("Declaration ID").is_in(list(old_lrns))).write_csv(old_csv)
    engine = make_engine(url)
    migrate(engine)
    ingest_file(engine=engine, path=old_csv, fmt="kcs", agency=AGENCY)
    old = declarations.filter(pl.col("lrn").is_in(list(old_lrns)))
    model = train_risk_model(
        declarations=old, outcomes=outcomes.filter(pl.col("lrn").is_in(list(old_lrns))), seed=1
    )
    model_path = folder / "model.json"
    model.save(model_path)
    with session_scope(session_factory(engine)) as session:
        register_model(session=session, model=model, path=model_path, agency=AGENCY)
    engine.dispose()
    raw.filter(~pl.col("Declaration ID").is_in(list(old_lrns))).write_csv(new_csv)
    bodies = []
    for body in file_bodies(new_csv, agency=AGENCY):
        data = json.loads(body)
        data["date"] = cut.isoformat()  # one day of live traffic
        bodies.append(json.dumps(data).encode())
    return bodies


def _arm(bodies: list[bytes], prefix: str) -> list[bytes]:
    out = []
    for body in bodies:
        data = json.loads(body)
        data["lrn"] = f"{prefix}{data['lrn']}"
        out.append(json.dumps(data).encode())
    return out


def _lanes(url: str, prefix: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("select count(*) from lane_decisions where lrn like :p"), {"p": f"{prefix}%"}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _inline(url: str, folder: Path, bodies: list[bytes]) -> tuple[float, float]:
    settings = Settings(database_url=url, data_dir=folder / "data", agency=AGENCY)
    engine = make_engine(url)
    processors = processors_for(
        list(Stage),
        settings=settings,
        engine=engine,
        factory=session_factory(engine),
        agency=AGENCY,
    )

    def through(batch: list[bytes]) -> None:
        current: list[bytes] = batch
        for stage in Stage:
            forwarded: list[Forward] = processors[stage](current).forward
            current = [f.body for f in forwarded]

    through(_arm(bodies[:WARM_UP], "IW-"))  # the model and the day's snapshot, as a worker's warm-up
    mine = _arm(bodies, "IN-")
    start, cpu = time.perf_counter(), time.process_time()
    for at in range(0, len(mine), BATCH):
        through(mine[at : at + BATCH])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    engine.dispose()
    return seconds, cpu


def _workers(url: str, folder: Path, topology: Topology, count: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "BORDERWATCH_DATABASE_URL": url,
        "BORDERWATCH_DATA_DIR": str(folder / "data"),
        "BORDERWATCH_NATS_URL": NATS_URL,
        "BORDERWATCH_PIPELINE_PREFIX": topology.prefix,
        "BORDERWATCH_AGENCY": AGENCY,
        "BORDERWATCH_PIPELINE_BATCH": str(BATCH),
    }
    log = (folder / f"{topology.prefix}.log").open("ab")
    return [
        subprocess.Popen(
            [sys.executable, "-m", "borderwatch.cli.main", "worker", "--stage", "all"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(count)
    ]


async def _publish(topology: Topology, bodies: list[bytes], *, rate: float | None = None) -> None:
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    await ensure_streams(js, topology)
    if rate is None:
        await publish_bodies(js, topology, bodies)
    else:
        step = 10
        start = time.perf_counter()
        for at in range(0, len(bodies), step):
            await publish_bodies(js, topology, bodies[at : at + step])
            ahead = start + (at + step) / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
    await client.drain()


def _wait(url: str, prefix: str, expected: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while _lanes(url, prefix) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{prefix}: {_lanes(url, prefix)} of {expected} after {timeout}s")
        time.sleep(0.1)


async def _delete(topology: Topology) -> None:
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    for kind in Kind:
        with contextlib.suppress(Exception):  # not created
            await js.delete_stream(topology.stream(kind))
    await client.drain()


def _pipeline(
    url: str, folder: Path, bodies: list[bytes], workers: int, *, rate: float | None = None
) -> tuple[float, float, Topology]:
    """Seconds from the first publish to the last lane decision, the workers' CPU seconds meanwhile."""
    topology = Topology(prefix=f"bench{uuid.uuid4().hex[:8]}", agency=AGENCY)
    prefix = f"P{workers}{'L' if rate else ''}-"
    processes = _workers(url, folder, topology, workers)
    try:
        warm = _arm(bodies[:WARM_UP], f"W{prefix}")
        asyncio.run(_publish(topology, warm))
        _wait(url, f"W{prefix}", len(warm))  # every worker up, model loaded, snapshot built
        mine = _arm(bodies, prefix)
        start, cpu = time.perf_counter(), sum(_cpu(p.pid) for p in processes)
        asyncio.run(_publish(topology, mine, rate=rate))
        _wait(url, prefix, len(mine))
        seconds, cpu = time.perf_counter() - start, sum(_cpu(p.pid) for p in processes) - cpu
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    return seconds, cpu, topology


async def _stream_times(topology: Topology, kind: Kind, prefix: str) -> dict[str, float]:
    """key → the server's timestamp (seconds) of its message on ``kind``, for the arm's declarations."""
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    subscription = await js.subscribe(
        topology.subject(kind), ordered_consumer=True, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    total = (await js.stream_info(topology.stream(kind))).state.messages
    times: dict[str, float] = {}
    for _ in range(total):
        message = await subscription.next_msg(timeout=10)
        body = message.data
        if kind is Kind.IN:
            lrn = json.loads(body)["lrn"]
            key = content_key(body)
        else:
            data = json.loads(body)
            lrn, key = data["lrn"], data["key"]
        if str(lrn).startswith(prefix):
            times[key] = message.metadata.timestamp.timestamp()
    await client.drain()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small run to check the bench works")
    parser.add_argument("--declarations", type=int, default=None, help="new declarations per arm")
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh PostgreSQL schema, else SQLite"
    )
    args = parser.parse_args()
    new = args.declarations or (400 if args.quick else 3000)
    console = Console(width=150)
    results: dict[str, Any] = {"declarations": new, "batch": BATCH, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp, _database(Path(tmp), args.database_url) as url:
        folder = Path(tmp)
        results["database"] = url.split(":")[0]
        with console.status("set-up: history, model"):
            bodies = _setup(folder, url, history=4 * new, new=new + WARM_UP)[: new + WARM_UP]
        runs: dict[str, tuple[float, float]] = {}
        with console.status("inline"):
            runs["inline"] = _inline(url, folder, bodies)
        for workers in (1, 2):
            with console.status(f"pipeline x{workers}"):
                seconds, cpu, topology = _pipeline(url, folder, bodies, workers)
                asyncio.run(_delete(topology))
            runs[f"pipeline x{workers}"] = (seconds, cpu)
        rate = 0.5 * len(bodies) / runs["pipeline x1"][0]
        with console.status("latency"):
            latency_bodies = bodies[: min(len(bodies), max(200, int(rate * 20)))]
            _seconds, _cpu_seconds, topology = _pipeline(url, folder, latency_bodies, 1, rate=rate)
            sent = asyncio.run(_stream_times(topology, Kind.IN, "P1L-"))
            scored = asyncio.run(_stream_times(topology, Kind.SCORES, "P1L-"))
            asyncio.run(_delete(topology))
        delays = np.array([scored[key] - sent[key] for key in scored if key in sent]) * 1000
    table = Table(
        title=f"pipeline: {len(bodies):,} declarations per arm, {results['database']}, batch {BATCH}"
    )
    for column in ("arm", "seconds", "declarations/s", "vs inline", "vs 1 worker", "CPU ms/declaration"):
        table.add_column(column, justify="right")
    for name, (seconds, cpu) in runs.items():
        results[name] = {
            "seconds": round(seconds, 3),
            "declarations_per_s": round(len(bodies) / seconds, 1),
            "cpu_ms_per_declaration": round(1000 * cpu / len(bodies), 2),
        }
    base = results["inline"]["declarations_per_s"]
    one = results["pipeline x1"]["declarations_per_s"]
    for name in runs:
        r = results[name]
        r["vs_inline"] = round(r["declarations_per_s"] / base, 3)
        r["vs_1_worker"] = round(r["declarations_per_s"] / one, 3) if name != "inline" else None
        table.add_row(
            name,
            f"{r['seconds']:.1f}",
            f"{r['declarations_per_s']:.0f}",
            f"{r['vs_inline']:.2f}",
            f"{r['vs_1_worker']:.2f}" if r["vs_1_worker"] else "",
            f"{r['cpu_ms_per_declaration']:.1f}",
        )
    results["load_average"] = os.getloadavg()
    results["latency"] = {
        "declarations": int(delays.size),
        "publish_rate_per_s": round(rate, 1),
        "p50_ms": round(float(np.percentile(delays, 50)), 1),
        "p99_ms": round(float(np.percentile(delays, 99)), 1),
    }
    console.print(table)
    lat = results["latency"]
    console.print(
        f"publish-to-score latency at {lat['publish_rate_per_s']}/s, 1 worker, "
        f"{lat['declarations']} declarations: "
        f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms"
    )
    console.print(
        f"{os.cpu_count()} cores shared with other people's work (load average {os.getloadavg()[0]:.1f}): "
        "rates move with their load; CPU ms per declaration (this process inline, the workers' processes "
        "in the pipeline; the database and NATS servers not counted) much less."
    )
    out = BENCH_DIR / "results" / "pipeline.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
