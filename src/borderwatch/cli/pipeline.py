"""``borderwatch worker`` and ``borderwatch pipeline publish/status/dead/replay``: the JetStream pipeline.

The worker wires the stages' processors to this process's database and to the scoring that the API runs
inline (``scoring.online``: the agency's registered model, the day's history snapshot, the same reasons), so a
declaration scored by a worker gets exactly the score the API would have given it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import nats
import typer
from nats.js import JetStreamContext
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.cli.common import audit_cli_apart, console, fail, open_database, parse_date_option
from borderwatch.core.cache import Cache
from borderwatch.core.errors import BorderwatchError
from borderwatch.core.settings import Settings, get_settings
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.writer import WriterPool
from borderwatch.pipeline.dead import list_dead, replay
from borderwatch.pipeline.publish import file_bodies, publish_bodies
from borderwatch.pipeline.selection import agency_selection
from borderwatch.pipeline.stages import (
    IngestProcessor,
    LedgerPresenter,
    OutcomesProcessor,
    Processor,
    ScoreProcessor,
)
from borderwatch.pipeline.status import pipeline_status
from borderwatch.pipeline.topology import Kind, Limits, Stage, Topology
from borderwatch.pipeline.worker import Counts, WorkerConfig, ensure_streams, serve

pipeline_app = typer.Typer(
    help="The NATS JetStream pipeline: publish, status, dead letters.", no_args_is_help=True
)

T = TypeVar("T")


class StageChoice(StrEnum):
    ingest = "ingest"
    score = "score"  # the selection flow: scores, screening, lanes and cases together
    outcomes = "outcomes"  # inspection results into the store feedback reads
    all = "all"


def topology_of(settings: Settings, agency: str | None) -> Topology:
    try:
        return Topology(prefix=settings.pipeline_prefix, agency=agency or settings.agency)
    except BorderwatchError as error:
        fail(str(error))


def worker_config(settings: Settings, topology: Topology) -> WorkerConfig:
    return WorkerConfig(
        nats_url=settings.nats_url,
        topology=topology,
        limits=Limits(
            ack_wait=settings.pipeline_ack_wait,
            max_ack_pending=settings.pipeline_max_ack_pending,
            max_deliver=settings.pipeline_max_deliver,
        ),
        batch=settings.pipeline_batch,
    )


def processors_for(
    stages: Sequence[Stage],
    *,
    settings: Settings,
    engine: Engine,
    factory: sessionmaker[Session],
    agency: str,
    writers: WriterPool | None = None,
) -> dict[Stage, Processor]:
    """The processors of ``stages``; with ``writers`` (the ledger's appending threads) the score stage records
    the declarations' documents as presented, as the API's submissions do."""
    keys = KeyStore(settings.data_dir)
    built: dict[Stage, Processor] = {}
    cache = Cache(ttl_seconds=3600.0)  # the active model, the day's history snapshot, the watchlist matcher
    for stage in stages:
        if stage is Stage.INGEST:
            built[stage] = IngestProcessor(engine=engine, factory=factory, agency=agency)
        elif stage is Stage.OUTCOMES:
            built[stage] = OutcomesProcessor(engine=engine, agency=agency)
        else:
            built[stage] = ScoreProcessor(
                engine=engine,
                factory=factory,
                agency=agency,
                selection=lambda: agency_selection(
                    settings=settings, engine=engine, agency=agency, cache=cache
                ),
                present=None
                if writers is None
                else LedgerPresenter(engine=engine, keys=keys, writers=writers, agency=agency),
            )
    return built


def _run_children(argv: list[str], concurrency: int) -> int:
    """``concurrency`` worker processes of ``argv``; SIGTERM and SIGINT are passed on to them."""
    children = [subprocess.Popen(argv) for _ in range(concurrency)]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)


def worker_command(
    *,
    stage: Annotated[StageChoice, typer.Option(help="the stage(s) this worker runs")] = StageChoice.all,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="worker processes to run")] = 1,
    agency: Annotated[
        str | None, typer.Option(help="agency whose streams to work on (default: settings)")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="lane policy YAML (default: the built-in policy)")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="serve this process's Prometheus metrics on this port"),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="address of the metrics port")] = "127.0.0.1",
) -> None:
    """Work on the agency's pipeline until SIGTERM: take declarations from NATS JetStream, store, score and
    give them lanes and cases, publish what each stage produced. Run as many as you like, on any machine."""
    if concurrency > 1 and metrics_port is not None:
        fail("--metrics-port serves one process: run one worker per port (--concurrency 1)")
    if concurrency > 1:
        argv = [
            sys.executable,
            "-m",
            "borderwatch.cli.main",
            "worker",
            "--stage",
            stage.value,
            "--concurrency",
            "1",
        ]
        argv += ["--agency", agency] if agency else []
        raise typer.Exit(_run_children(argv, concurrency))
    settings = get_settings()
    topology = topology_of(settings, agency)
    stages = list(Stage) if stage is StageChoice.all else [Stage(stage.value)]
    engine, factory = open_database(settings)
    writers = WriterPool(engine, signer=KeyStore(settings.data_dir).log_signer)
    processors = processors_for(
        stages, settings=settings, engine=engine, factory=factory, agency=topology.agency, writers=writers
    )
    console.print(f"worker {os.getpid()}: {', '.join(stages)} for {topology.agency} at {settings.nats_url}")
    counts = Counts()
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from borderwatch.pipeline.metrics import worker_registry

        registry = worker_registry(counts, agency=topology.agency, stages=stages)
        start_http_server(metrics_port, addr=metrics_host, registry=registry)
    try:
        asyncio.run(serve(worker_config(settings, topology), processors, counts=counts))
    finally:
        writers.close()
    console.print(
        f"worker {os.getpid()} stopped: {counts.processed:,} processed, {counts.retried:,} retried, "
        f"{counts.dead:,} dead-lettered"
    )


def _with_js(settings: Settings, work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    async def run() -> T:
        client = await nats.connect(settings.nats_url)
        try:
            return await work(client.jetstream())
        finally:
            await client.drain()

    try:
        return asyncio.run(run())
    except (OSError, nats.errors.NoServersError) as error:
        fail(f"cannot reach NATS at {settings.nats_url}: {error}")


def publish_command(
    files: Annotated[list[Path], typer.Argument(help="JSON Lines of declarations, or KCS CSV files")],
    agency: Annotated[str | None, typer.Option(help="agency whose streams to publish to")] = None,
    outcomes: Annotated[
        bool, typer.Option("--outcomes", help="the files are JSON Lines of inspection outcomes")
    ] = False,
) -> None:
    """Publish declarations (or, with --outcomes, inspection outcomes) to the agency's pipeline (each once: a
    copy published again is dropped)."""
    settings = get_settings()
    topology = topology_of(settings, agency)

    async def work(js: JetStreamContext) -> tuple[int, int]:
        await ensure_streams(js, topology)
        published, duplicates = 0, 0
        for path in files:
            bodies = file_bodies(path, agency=topology.agency, raw=outcomes)
            kind = Kind.OUTCOMES if outcomes else Kind.IN
            result = await publish_bodies(js, topology, bodies, kind=kind)
            published += result.published
            duplicates += result.duplicates
        return published, duplicates

    try:
        published, duplicates = _with_js(settings, work)
    except BorderwatchError as error:
        fail(str(error))
    noun = "outcomes" if outcomes else "declarations"
    console.print(f"published {published:,} {noun} ({duplicates:,} dropped as already published)")


def status_command(agency: Annotated[str | None, typer.Option(help="agency")] = None) -> None:
    """Streams (messages) and stage consumers (lag: not yet delivered; in progress; redelivered)."""
    settings = get_settings()
    topology = topology_of(settings, agency)
    status = _with_js(settings, lambda js: pipeline_status(js, topology))
    streams = Table(title=f"streams of {topology.agency}")
    for column in ("kind", "stream", "messages", "last sequence"):
        streams.add_column(column)
    for s in status.streams:
        streams.add_row(
            s.kind, s.stream, "-" if s.messages is None else f"{s.messages:,}", f"{s.last_sequence:,}"
        )
    consumers = Table(title="stage consumers")
    for column in ("stage", "reads", "lag", "in progress", "redelivered"):
        consumers.add_column(column)
    for c in status.consumers:
        lag = "-" if c.pending is None else f"{c.pending:,}"
        consumers.add_row(c.stage, c.kind, lag, f"{c.ack_pending:,}", f"{c.redelivered:,}")
    console.print(streams)
    console.print(consumers)


def dead_command(
    agency: Annotated[str | None, typer.Option(help="agency")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 100,
) -> None:
    """Dead letters: messages that kept failing, with their error."""
    settings = get_settings()
    topology = topology_of(settings, agency)
    letters = _with_js(settings, lambda js: list_dead(js, topology, limit=limit))
    table = Table(title=f"dead letters of {topology.agency} ({len(letters)})")
    for column in ("seq", "stage", "from", "deliveries", "error"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            str(letter.sequence), letter.stage, letter.subject, str(letter.deliveries), letter.error
        )
    console.print(table)


def replay_command(
    sequences: Annotated[
        list[int] | None, typer.Argument(help="dead letters to replay (default: all)")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="agency")] = None,
) -> None:
    """Publish dead letters again to where they came from (after the fix), and delete them."""
    settings = get_settings()
    topology = topology_of(settings, agency)
    count = _with_js(settings, lambda js: replay(js, topology, sequences=sequences or None))
    # audited as the workspace's re-queue is (resource "pipeline"), under the acting user
    audit_cli_apart(
        action="update",
        resource="pipeline",
        resource_id=f"dead {' '.join(map(str, sequences))}" if sequences else "dead (all)",
        detail={"requeued": count, "agency": topology.agency},
    )
    console.print(f"replayed {count:,} dead letters")


def rescore_command(
    *,
    since: Annotated[str, typer.Option(help="first declaration date, YYYY-MM-DD")],
    until: Annotated[str, typer.Option(help="last declaration date, YYYY-MM-DD")],
    master: Annotated[str, typer.Option(help="Spark master: local[N] or a cluster URL")] = "local[2]",
    parts: Annotated[int, typer.Option(min=1, help="partitions of days (Spark tasks)")] = 8,
) -> None:
    """Re-score the stored declarations of a period with Spark and the active model (as `borderwatch score`
    does in one process), and store the scores."""
    from borderwatch.ingest.store import load_declarations, load_outcomes
    from borderwatch.pipeline.spark import BacklogFiles, rescore_with_spark, spark_session
    from borderwatch.scoring.profile_store import load_agency_profiles
    from borderwatch.scoring.registry import get_model_row, store_scores

    settings = get_settings()
    first, last = parse_date_option(since, "--since"), parse_date_option(until, "--until")
    assert first is not None and last is not None  # required options
    engine, factory = open_database(settings)
    try:
        with factory() as session:
            row = get_model_row(session=session, agency=settings.agency)
    except BorderwatchError as error:
        fail(str(error))
    files = BacklogFiles.write(
        settings.data_dir / "backlog" / settings.agency,
        declarations=load_declarations(engine, agency=settings.agency, until=last),
        outcomes=load_outcomes(engine, agency=settings.agency),
        model=Path(row.path),
    )
    spark = spark_session(master)
    try:
        scores = rescore_with_spark(
            spark,
            files=files,
            since=first,
            until=last,
            profiles=load_agency_profiles(settings.data_dir, settings.agency),
            parts=parts,
        )
    finally:
        spark.stop()
    with factory.begin() as session:
        stored = store_scores(
            session=session, scores=scores, model_version=row.version, agency=settings.agency
        )
    console.print(f"stored {stored:,} scores from model {row.version} (Spark, {master}, {parts} partitions)")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
    pipeline_app.command("publish")(publish_command)
    pipeline_app.command("status")(status_command)
    pipeline_app.command("dead")(dead_command)
    pipeline_app.command("replay")(replay_command)
    pipeline_app.command("rescore")(rescore_command)
    app.add_typer(pipeline_app, name="pipeline")
