"""Declarations submitted and scored through the HTTP API, against the same service calls in-process.

    .venv/bin/python bench/api.py [--quick]

Set-up (not timed): generated traffic (``borderwatch.synthetic``) split by date into history and new
declarations, dated as one day of live traffic (the first day after the history); the history is ingested
into a fresh SQLite database, a risk model is trained on it and registered, and an API token is created.
The server (uvicorn, one process, ``borderwatch.web.app.serve``: default settings, so the model's own
reasons are written at once only for declarations scoring >= ``explain_min_score`` = 90 or forced to
yellow/red, the others on first read) runs in a subprocess on loopback. The first call of each
server/process loads the model and builds that day's history snapshot (once a day in service): it is timed
apart (``first_call_s``). Then, in the same run, each on its own declarations:

- api single:        one ``POST /api/declarations`` per declaration (stored through the ingest service,
                     scored with the registered model, audited), one client, sequential;
- api batch:         ``POST /api/declarations/batch`` with 100 declarations a request, one client, sequential;
- api batch x2:      the same with two client connections sending at once (two cores), requests split
                     between them; declarations/s counts both, latency is per request;
- api batch 50:      50 declarations a request, one client, sequential (what a smaller request buys in
                     latency and costs in throughput);
- api first read:    ``GET /api/declarations/{lrn}`` of declarations from "api batch" whose model reasons were
                     left to their first read (it computes and stores them), one client, sequential;
- in-process single / batch / batch x2 / batch 50: the same path without HTTP (the baseline):
                     ``borderwatch.web.api.declarations.submit`` called directly (ingest service, scoring,
                     audit) with already parsed declarations: one a call, 100 a call, 100 a call from two
                     threads at once, and 50 a call.

Each API run and its in-process counterpart alternate in blocks of requests (``BLOCKS``), so a change
in the shared machine's load weighs on both alike. Reports declarations/s (over the wall time of the run's
own blocks), per-request latency p50/p99, mean CPU time per request (the server process's for the API
runs: other people's load does not inflate it as it does latencies), and each API run's ratio to its
in-process counterpart; writes bench/results/api.json. Goal: >= 500 declarations/s with p99 < 100 ms (per
request).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
BATCH = 100
BLOCKS = 5  # alternating blocks of API and in-process requests per pair of runs
HALF = 50  # the latency/throughput trade-off: half the declarations a request


def _declarations(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Canonical declaration JSON (``ingest.schemas.Declaration``) of KCS-layout rows."""
    out = []
    for r in frame.iter_rows(named=True):
        parties = {
            role: {"id": r[f"{role}_id"]}
            for role in ("importer", "declarant", "seller", "courier")
            if r.get(f"{role}_id")
        }
        transport = {
            "mode": r["transport_mode"],
            "departure_country": r["departure_country"],
            "origin_country": r["origin_country"],
            "origin_indicator": r["origin_indicator"],
        }
        out.append(
            {
                "lrn": r["lrn"],
                "date": r["declared_on"].isoformat(),
                "office": r["office"],
                "procedure": {k: r[k] for k in ("process_type", "import_type", "import_use", "payment_type")},
                "transport": {k: v for k, v in transport.items() if v},
                "parties": parties,
                "items": [
                    {
                        "hs_code": r["hs_code"],
                        "net_mass": r["net_mass"],
                        "customs_value": r["customs_value"],
                        "currency": r["currency"],
                        "tax_rate": r["tax_rate"],
                        "tax_type": r["tax_type"],
                    }
                ],
            }
        )
    return out


def _setup(folder: Path, *, history: int, new: int) -> tuple[str, str, list[dict[str, Any]]]:
    from borderwatch.access import service as access
    from borderwatch.db.session import make_engine, migrate, session_factory, session_scope
    from borderwatch.ingest.frame import read_kcs_frames
    from borderwatch.ingest.service import ingest_file
    from borderwatch.scoring.registry import register_model
    from borderwatch.scoring.risk_model import train_risk_model
    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic

    start = date(2026, 1, 5)
    days = 56
    traffic = generate_traffic(GeneratorConfig(declarations=history + new, seed=7, start=start, days=days))
    csv = folder / "traffic.csv"
    write_traffic(traffic, csv)
    declarations, outcomes = read_kcs_frames(csv, agency="bench")
    cut = sorted(declarations["declared_on"].to_list())[history]
    old = declarations.filter(pl.col("declared_on") < cut)
    # The new declarations are one day's live traffic (dated the first day after the history): scoring is
    # exact against history strictly before a declaration's day, so a snapshot is built once per day; that
    # one-off build is timed on its own (``snapshot build``) rather than spread over the steady-state rates.
    fresh = declarations.filter(pl.col("declared_on") >= cut).with_columns(pl.lit(cut).alias("declared_on"))
    old_csv = folder / "history.csv"
    lrns = set(old["lrn"].to_list())
    pl.read_csv(csv, infer_schema=False).filter(pl.col("Declaration ID").is_in(list(lrns))).write_csv(old_csv)
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    ingest_file(engine=engine, path=old_csv, fmt="kcs", agency="bench")
    model = train_risk_model(
        declarations=old, outcomes=outcomes.filter(pl.col("lrn").is_in(list(lrns))), seed=1
    )
    model_path = folder / "model.json"
    model.save(model_path)
    with session_scope(session_factory(engine)) as session:
        register_model(session=session, model=model, path=model_path, agency="bench")
        access.add_user(db_session=session, username="bench", role="analyst", agency="bench", password=None)
        _row, token = access.create_token(db_session=session, username="bench", name="bench")
    engine.dispose()
    return url, token, _declarations(fresh)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stats(latencies: list[float], declarations: int, seconds: float) -> dict[str, float]:
    values = np.asarray(latencies) * 1000
    return {
        "declarations": declarations,
        "seconds": round(seconds, 3),
        "declarations_per_s": round(declarations / seconds, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
    }


def _in_parallel(chunks: list[list[Any]], clients: int, send: Any) -> tuple[list[float], float]:
    """Send ``chunks`` from ``clients`` threads at once (chunk i by thread i % clients); each thread builds
    its own connection with ``send(None)`` first. Returns per-call latencies and the wall time."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(mine: list[list[Any]]) -> None:
        try:
            with send(None) as call:
                for chunk in mine:
                    t = time.perf_counter()
                    call(chunk)
                    elapsed = time.perf_counter() - t
                    with lock:
                        latencies.append(elapsed)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(chunks[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    return latencies, wall


def _http_client(url: str, token: str) -> httpx2.Client:
    """A connection to the API server, signed in with ``token``."""
    return httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


class _ApiClient:
    """One HTTP connection that submits chunks (one declaration: the single endpoint; more: the batch one)."""

    def __init__(self, url: str, token: str) -> None:
        self.client = _http_client(url, token)

    def __enter__(self) -> _ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()

    def __call__(self, chunk: list[dict[str, Any]]) -> None:
        if len(chunk) == 1:
            response = self.client.post("/api/declarations", json=chunk[0])
        else:
            response = self.client.post("/api/declarations/batch", json=chunk)
        if response.status_code != 201:
            raise SystemExit(f"API answered {response.status_code}: {response.text[:300]}")


def _run_reads(url: str, token: str, lrns: list[str]) -> dict[str, float]:
    """First reads of declarations whose model reasons were left to them; checks they come back."""
    latencies = []
    with _http_client(url, token) as client:
        started = time.perf_counter()
        for lrn in lrns:
            t = time.perf_counter()
            response = client.get(f"/api/declarations/{lrn}")
            latencies.append(time.perf_counter() - t)
            if response.status_code != 200 or response.json()["latest_score"] is None:
                raise SystemExit(f"API answered {response.status_code}: {response.text[:300]}")
        elapsed = time.perf_counter() - started
    return _stats(latencies, len(lrns), elapsed)


class _InProcess:
    """The same service path as the endpoint (``submit``), called directly: no HTTP, no JSON parsing.

    ``warm`` is submitted first, one call, timed apart as ``first_call_s``: it loads the model and builds
    the day's history snapshot, as the API server's first request does. Calls from several threads at once
    run as the server's thread pool runs concurrent requests.
    """

    def __init__(self, url: str, folder: Path, warm: list[dict[str, Any]]) -> None:
        from borderwatch.access.policy import Principal, Role
        from borderwatch.core.cache import Cache
        from borderwatch.core.settings import Settings
        from borderwatch.db.session import make_engine, session_factory
        from borderwatch.ingest.schemas import Declaration
        from borderwatch.web.deps import AppState

        settings = Settings(database_url=url, data_dir=folder / "data", agency="bench")
        self.engine = make_engine(url)
        self.state = AppState(
            settings=settings,
            engine=self.engine,
            factory=session_factory(self.engine),
            cache=Cache(ttl_seconds=600),
        )
        self.principal = Principal(
            user_id=1, username="bench", role=Role.ANALYST, agency="bench", via="token"
        )
        self.parse = Declaration.model_validate
        started = time.perf_counter()
        self.call([self.parse(item) for item in warm])
        self.first_call_s = round(time.perf_counter() - started, 3)

    def call(self, chunk: list[Any]) -> None:
        from borderwatch.access.policy import Action, Resource
        from borderwatch.web.api.declarations import submit
        from borderwatch.web.deps import Guard

        with self.state.factory() as db:
            guard = Guard(
                db=db,
                factory=self.state.factory,
                principal=self.principal,
                action=Action.CREATE,
                resource=Resource.DECLARATION,
            )
            submit(guard=guard, state=self.state, declarations=chunk)
            db.commit()

    @contextmanager
    def connect(self, _: object) -> Iterator[Any]:
        yield self.call


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _paired(
    api: tuple[str, str, int],
    local: _InProcess,
    api_items: list[dict[str, Any]],
    local_items: list[dict[str, Any]],
    *,
    batch: int,
    clients: int,
) -> tuple[dict[str, float], dict[str, float]]:
    """An API run and its in-process counterpart, interleaved in BLOCKS alternating blocks of requests so
    that a change in the machine's load (it is shared) weighs on both alike; each one's declarations/s is
    its declarations over the wall time of its own blocks. ``cpu_ms_per_request``: CPU time the server
    process (API) or this process (in-process) spent per request during its blocks, which other people's
    load on the machine does not inflate as it does latencies."""
    url, token, server = api
    parsed = [local.parse(item) for item in local_items]  # parsing is not part of the in-process path
    api_chunks = [api_items[i : i + batch] for i in range(0, len(api_items), batch)]
    local_chunks = [parsed[i : i + batch] for i in range(0, len(parsed), batch)]
    size = -(-len(api_chunks) // BLOCKS)
    latencies: dict[str, list[float]] = {"api": [], "local": []}
    wall = {"api": 0.0, "local": 0.0}
    cpu = {"api": 0.0, "local": 0.0}
    runs: list[tuple[str, list[list[Any]], Callable[[object], Any], Callable[[], float]]] = [
        ("api", api_chunks, lambda _: _ApiClient(url, token), lambda: _cpu_seconds(server)),
        ("local", local_chunks, local.connect, time.process_time),
    ]
    for start in range(0, len(api_chunks), size):
        for kind, chunks, connect, clock in runs:
            before = clock()
            block, seconds = _in_parallel(chunks[start : start + size], clients, connect)
            cpu[kind] += clock() - before
            latencies[kind] += block
            wall[kind] += seconds
    out = []
    for kind, items in (("api", api_items), ("local", local_items)):
        stats = _stats(latencies[kind], len(items), wall[kind])
        stats["cpu_ms_per_request"] = round(cpu[kind] * 1000 / len(latencies[kind]), 1)
        out.append(stats)
    return out[0], out[1]


def _unexplained(url: str, lrns: list[str]) -> list[str]:
    from sqlalchemy import select

    from borderwatch.db.session import make_engine
    from borderwatch.scoring.models import RiskScoreRow

    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(RiskScoreRow.lrn).where(RiskScoreRow.lrn.in_(lrns), RiskScoreRow.explained.is_(False))
        )
        left = {row[0] for row in rows}
    engine.dispose()
    return [lrn for lrn in lrns if lrn in left]


RUNS = {
    # run: (kind, declarations per request, clients)
    "api single": ("api", 1, 1),
    "in-process single": ("in-process", 1, 1),
    "api batch": ("api", BATCH, 1),
    "in-process batch": ("in-process", BATCH, 1),
    "api batch x2": ("api", BATCH, 2),
    "in-process batch x2": ("in-process", BATCH, 2),
    "api batch 50": ("api", HALF, 1),
    "in-process batch 50": ("in-process", HALF, 1),
}
READS = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (about a minute)")
    args = parser.parse_args()
    history, singles, batched = (3000, 200, 1000) if args.quick else (20_000, 1000, 5000)
    console = Console(width=max(Console().width, 110))  # the table unwrapped in logs too
    results: dict[str, Any] = {"quick": args.quick, "history": history}
    sizes = {name: singles if per == 1 else batched for name, (_, per, _) in RUNS.items()}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        console.print(f"set-up: {history} declarations of history, a model, a token …")
        url, token, fresh = _setup(folder, history=history, new=sum(sizes.values()) + 50)
        warm, fresh = fresh[:50], fresh[50:]
        warm_api, warm_local = warm[:25], warm[25:]
        sets: dict[str, list[dict[str, Any]]] = {}
        for name, size in sizes.items():
            sets[name], fresh = fresh[:size], fresh[size:]
        port = _free_port()
        env = {
            **os.environ,
            "BORDERWATCH_DATABASE_URL": url,
            "BORDERWATCH_DATA_DIR": str(folder / "data"),
            "BORDERWATCH_AGENCY": "bench",
        }
        code = (
            "from borderwatch.core.settings import Settings; from borderwatch.web.app import serve; "
            f"serve(Settings(), '127.0.0.1', {port}, access_log=False)"
        )
        server = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx2.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                        break
                except httpx2.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the API server did not start within 60 s")
                time.sleep(0.2)
            # the first call of each loads the model and builds the day's history snapshot: timed apart
            with _ApiClient(base, token) as client:
                started = time.perf_counter()
                client(warm_api[:1])
                first = round(time.perf_counter() - started, 3)
                for item in warm_api[1:]:
                    client([item])
            local = _InProcess(url, folder, warm_local)
            for name, (kind, per, clients) in RUNS.items():
                if kind == "api":
                    counterpart = name.replace("api", "in-process", 1)
                    results[name], results[counterpart] = _paired(
                        (base, token, server.pid),
                        local,
                        sets[name],
                        sets[counterpart],
                        batch=per,
                        clients=clients,
                    )
            results["api single"]["first_call_s"] = first
            results["in-process single"]["first_call_s"] = local.first_call_s
            local.engine.dispose()
            left = _unexplained(url, [item["lrn"] for item in sets["api batch"]])
            results["api first read"] = _run_reads(base, token, left[:READS])
            results["api first read"]["left_to_first_read"] = round(len(left) / len(sets["api batch"]), 3)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for name, (kind, _, _) in RUNS.items():
        if kind == "api":
            counterpart = results[name.replace("api", "in-process", 1)]
            results[name]["vs_in_process"] = round(
                results[name]["declarations_per_s"] / counterpart["declarations_per_s"], 3
            )
    table = Table(title="Declarations submitted and scored (SQLite, loopback)")
    columns = ("run", "declarations", "decl/s", "p50 ms", "p99 ms", "CPU ms", "vs in-process")
    for column in columns:
        table.add_column(column, justify="right" if column != "run" else "left")
    for name in [*RUNS, "api first read"]:
        row = results[name]
        table.add_row(
            name,
            str(row["declarations"]),
            f"{row['declarations_per_s']:.0f}",
            f"{row['p50_ms']:.1f}",
            f"{row['p99_ms']:.1f}",
            f"{row['cpu_ms_per_request']:.1f}" if "cpu_ms_per_request" in row else "",
            f"{row['vs_in_process']:.2f}" if "vs_in_process" in row else "",
        )
    console.print(table)
    console.print(
        f"batch requests hold {BATCH} declarations (batch 50: {HALF}); x2: two clients at once; each API run "
        f"alternates with its in-process counterpart in {BLOCKS} blocks; p50/p99: latency per request; CPU: "
        "mean CPU time per request (the server process for the API); goal: >= 500 decl/s, p99 < 100 ms"
    )
    console.print(
        f"{results['api first read']['left_to_first_read']:.0%} of the batch-submitted declarations had "
        "their model reasons left to their first read (api first read: GET of those, computing them)"
    )
    console.print(
        "first call (loads the model, builds the day's history snapshot; once a day): "
        f"api {results['api single']['first_call_s']:.2f} s, "
        f"in-process {results['in-process single']['first_call_s']:.2f} s"
    )
    out = BENCH_DIR / "results" / "api.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    console.print(f"wrote {out.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
