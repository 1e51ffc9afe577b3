"""``make demo``: a port's last two months and its new week, end to end, on a fresh SQLite file.

    python -m borderwatch.demo --dir demo-out [--serve]

① generate nine weeks of history (with inspection outcomes) and the new week (outcomes withheld, a few
corrupt lines) with ``borderwatch.synthetic``; ② ingest both files with the ingest service and show what was
stored and what was quarantined, and why; ③ train the risk model on the history, score the new week and
show the ten riskiest declarations with their reasons (and, the data being synthetic, what was really
planted); ④ decide and store the week's lanes; then print how to look further. ``--serve`` then opens the
web workspace on the same database.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
import yaml
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import Engine

from borderwatch.core.errors import BorderwatchError
from borderwatch.core.settings import Settings
from borderwatch.db.session import engine_from_settings, migrate, session_factory, session_scope
from borderwatch.demo_intel import IntelDemoResult, run_intel_demo
from borderwatch.ingest.service import IngestSummary, ingest_file, list_quarantine
from borderwatch.ingest.store import load_declarations, load_outcomes
from borderwatch.inspections.service import open_cases
from borderwatch.lanes.policy import Capacity, LanePolicy, agency_policy_path
from borderwatch.lanes.service import assign_lanes
from borderwatch.scoring.profile_store import load_agency_profiles
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.registry import register_model, store_scores
from borderwatch.scoring.risk_model import NO_EXPLANATION, RiskModel, train_risk_model
from borderwatch.synthetic import GeneratedTraffic, GeneratorConfig, generate_traffic, write_traffic

DEMO_START = date(2025, 1, 6)  # a Monday; the history spans the Lunar New Year, the new week is a whole week
HISTORY_DAYS = 63
WEEK_DAYS = 7
DEMO_DECLARATIONS = 4000
DEMO_CORRUPT = 5
DEMO_SEED = 20250106
RED_SHARE = 0.08  # the demo offices can inspect about 8 % of their declarations and check 12 % on papers
YELLOW_SHARE = 0.12
DEMO_MARKER = ".borderwatch-demo"
SIMULATED_WEEKS = 3
DEMO_URL = "http://127.0.0.1:8000/"
DEMO_USER = "demo"
DEMO_PASSWORD = (
    "demo harbour lantern"  # a local account on a throwaway database, printed for the person at the desk
)


@dataclass
class DemoResult:
    """What the demo did, for its caller (and the integration test) to check."""

    directory: Path
    database_url: str
    history: GeneratedTraffic
    week: GeneratedTraffic
    summaries: list[IngestSummary] = field(default_factory=list)
    stored_declarations: int = 0
    stored_outcomes: int = 0
    quarantined: list[tuple[str, int, str]] = field(default_factory=list)  # file, line, reason
    riskiest: pl.DataFrame | None = None
    lanes: pl.DataFrame | None = None
    past_lanes: pl.DataFrame = field(default_factory=pl.DataFrame)
    intel: IntelDemoResult | None = None
    seconds: float = 0.0


def demo_settings(directory: Path) -> Settings:
    """Settings for a demo in ``directory``: its own SQLite file and data folder."""
    return Settings(
        database_url=f"sqlite:///{(directory / 'borderwatch.db').resolve()}",
        data_dir=directory / "data",
    )


class DemoError(BorderwatchError):
    """The demo cannot run where it was asked to."""


def fresh_database(directory: Path) -> tuple[Settings, Engine]:
    """A new, migrated SQLite database in ``directory``; a previous demo's database there is replaced, but a
    database the demo did not create is never touched."""
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / DEMO_MARKER
    if (directory / "borderwatch.db").exists() and not marker.exists():
        raise DemoError(
            f"{directory} already holds a borderwatch.db that the demo did not create; choose another --dir"
        )
    marker.write_text("created by python -m borderwatch.demo; its files are replaced on every run\n")
    for leftover in ("borderwatch.db", "borderwatch.db-wal", "borderwatch.db-shm", "data"):
        path = directory / leftover
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    settings = demo_settings(directory)
    engine = engine_from_settings(settings)
    migrate(engine)
    return settings, engine


# --- the steps: each takes and returns plain values and frames, so the demo reads top to bottom -----------


def generate_files(
    directory: Path, *, declarations: int = DEMO_DECLARATIONS, seed: int = DEMO_SEED
) -> tuple[GeneratedTraffic, GeneratedTraffic]:
    """① ``history.csv`` (with outcomes) and ``week.csv`` (no outcomes, corrupt lines), with their truths."""
    config = GeneratorConfig(
        declarations=declarations, seed=seed, start=DEMO_START, days=HISTORY_DAYS + WEEK_DAYS
    )
    history, week = generate_traffic(config).split(DEMO_START + timedelta(days=HISTORY_DAYS))
    week = week.without_outcomes().with_corrupt_lines(DEMO_CORRUPT, seed=seed)
    write_traffic(history, directory / "history.csv")
    write_traffic(week, directory / "week.csv")
    return history, week


def ingest_files(engine: Engine, paths: list[Path], *, agency: str) -> list[IngestSummary]:
    """② Each file through the ingest service (validation, quarantine, versioning)."""
    return [ingest_file(engine=engine, path=path, agency=agency) for path in paths]


def score_week(
    *,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    week: pl.DataFrame,
    profiles: Sequence[RiskProfile],
    seed: int,
) -> tuple[pl.DataFrame, RiskModel]:
    """③ Train on the stored history (the declarations with outcomes), score the new week.

    Returns the scores (one row per lrn: score, fraud_probability, expected_duty, forced_lane, reasons) and
    the model.
    """
    history = declarations.filter(~pl.col("lrn").is_in(week["lrn"].implode()))
    model = train_risk_model(declarations=history, outcomes=outcomes, profiles=profiles, seed=seed)
    scored = model.score(declarations=week, history=declarations, outcomes=outcomes, profiles=profiles)
    return scored, model


def activate_model(*, settings: Settings, model: RiskModel, scored: pl.DataFrame) -> None:
    """③b The demo's model saved, registered and made the agency's active model (it then scores every
    declaration that arrives, explains the declaration pages and labels their charts), and the week's
    scores stored with its version."""
    path = settings.data_dir / "models" / f"{model.version}.json"
    model.save(path)
    engine = engine_from_settings(settings)
    try:
        with session_scope(session_factory(engine)) as session:
            register_model(
                session=session,
                model=model,
                path=path.resolve(),
                agency=settings.agency,
                activate=True,
                by="demo",
            )
            store_scores(session=session, scores=scored, model_version=model.version, agency=settings.agency)
    finally:
        engine.dispose()


def simulate_past_weeks(
    *,
    settings: Settings,
    model: RiskModel,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    profiles: Sequence[RiskProfile],
    policy: LanePolicy,
    weeks: int = SIMULATED_WEEKS,
) -> pl.DataFrame:
    """④b The last ``weeks`` of the history as if borderwatch had selected them: scored (time-safe: only
    what was known before each day) and given lanes day by day under the demo's policy, so that the
    dashboards (hit rate per lane, drift, calibration) have decisions whose outcomes are known."""
    start = DEMO_START + timedelta(days=HISTORY_DAYS - 7 * weeks)
    end = DEMO_START + timedelta(days=HISTORY_DAYS - 1)
    past = declarations.filter(pl.col("declared_on").is_between(start, end))
    scored = model.score(
        declarations=past, history=declarations, outcomes=outcomes, profiles=profiles, explain=NO_EXPLANATION
    )
    frame = scored.join(
        past.select("lrn", "declared_on", "office", "importer_id").unique("lrn", keep="first"), on="lrn"
    )
    engine = engine_from_settings(settings)
    try:
        with session_scope(session_factory(engine)) as session:
            return assign_lanes(
                session=session,
                scored=frame,
                policy=policy,
                model_version=model.version,
                agency=settings.agency,
            )
    finally:
        engine.dispose()


def create_login(settings: Settings) -> None:
    """The demo's local account (an administrator of the demo agency), printed at the end."""
    from borderwatch.access import service as access

    engine = engine_from_settings(settings)
    try:
        with session_scope(session_factory(engine)) as session:
            access.ensure_admin(
                db_session=session, username=DEMO_USER, password=DEMO_PASSWORD, agency=settings.agency
            )
    finally:
        engine.dispose()


def write_policy(settings: Settings, policy: LanePolicy) -> Path:
    """The demo's lane policy as the agency's own file: arrivals in the workspace are selected with it."""
    path = agency_policy_path(settings.data_dir, settings.agency)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    return path


def demo_policy() -> LanePolicy:
    """The demo offices' policy: each can inspect ``RED_SHARE`` of its declarations of a day and check
    ``YELLOW_SHARE`` on documents (capacity shares: the workload follows traffic); never a red slot below
    a fraud probability of 0.2."""
    return LanePolicy(
        version="demo-1",
        red=Capacity(share=RED_SHARE),
        yellow=Capacity(share=YELLOW_SHARE),
        min_red_probability=0.2,
    )


def decide_lanes(
    *, settings: Settings, scored: pl.DataFrame, week: pl.DataFrame, model_version: str
) -> pl.DataFrame:
    """④ Lanes for the scored week under ``demo_policy``, stored with score, reasons and versions, and ⑤ an
    inspection case opened for each red and yellow one (column ``case``: whether one was opened), so that the
    workspace has a queue to show."""
    frame = scored.join(
        week.select("lrn", "declared_on", "office", "importer_id").unique("lrn", keep="first"), on="lrn"
    )
    engine = engine_from_settings(settings)
    try:
        with session_scope(session_factory(engine)) as session:
            decisions = assign_lanes(
                session=session,
                scored=frame,
                policy=demo_policy(),
                model_version=model_version,
                agency=settings.agency,
            )
            opened = open_cases(session=session, decisions=decisions, agency=settings.agency)
            return decisions.with_columns(pl.col("lrn").is_in([case.lrn for case in opened]).alias("case"))
    finally:
        engine.dispose()


# --- what the demo prints --------------------------------------------------------------------------------


def _ingest_table(summaries: list[IngestSummary]) -> Table:
    table = Table(title="② ingested")
    for name in ("file", "read", "stored", "duplicates", "quarantined", "outcomes"):
        table.add_column(name, justify="left" if name == "file" else "right")
    for summary in summaries:
        table.add_row(
            Path(summary.source).name,
            f"{summary.read:,}",
            f"{summary.stored:,}",
            f"{summary.duplicates:,}",
            f"{summary.quarantined:,}",
            f"{summary.outcomes:,}",
        )
    return table


def _quarantine_table(quarantined: list[tuple[str, int, str]]) -> Table:
    table = Table(title="quarantined (kept with their raw text until fixed and released)")
    table.add_column("file")
    table.add_column("line", justify="right")
    table.add_column("reason")
    for source, line, reason in quarantined:
        table.add_row(source, str(line), reason)
    return table


def _riskiest_table(riskiest: pl.DataFrame) -> Table:
    table = Table(title="③ the ten riskiest declarations of the new week", show_lines=True)
    table.add_column("LRN")
    table.add_column("score", justify="right")
    table.add_column("P(fraud)", justify="right")
    table.add_column("reasons (best first)")
    table.add_column("planted (truth)", style="dim")
    for row in riskiest.iter_rows(named=True):
        truth = row["pattern"] or ("background fraud" if row["fraud"] else "clean")
        table.add_row(
            row["lrn"],
            f"{row['score']:.0f}",
            f"{row['fraud_probability']:.2f}",
            "\n".join(f"• {reason}" for reason in (row["reasons"] or [])[:3]) or "-",
            truth,
        )
    return table


def _lanes_table(lanes: pl.DataFrame) -> Table:
    counts = lanes.group_by("lane").agg(
        pl.len().alias("declarations"),
        pl.col("control").sum().alias("control sample"),
        pl.col("fraud").sum().alias("frauds (truth)"),
        pl.col("case").sum().alias("cases opened"),
    )
    table = Table(title="④ lanes for the new week (capacity per office and day: ~8 % red, ~12 % yellow)")
    for name in ("lane", "declarations", "control sample", "frauds (truth)", "cases opened"):
        table.add_column(name, justify="left" if name == "lane" else "right")
    styles = {"red": "bold red", "yellow": "yellow", "green": "green"}
    for row in sorted(counts.iter_rows(named=True), key=lambda r: list(styles).index(r["lane"])):
        table.add_row(
            f"[{styles[row['lane']]}]{row['lane']}[/]",
            f"{row['declarations']:,}",
            f"{row['control sample']:,}",
            f"{row['frauds (truth)']:,}",
            f"{row['cases opened']:,}",
        )
    return table


def _red_table(lanes: pl.DataFrame, limit: int = 12) -> Table:
    red = lanes.filter(pl.col("lane") == "red").sort("declared_on", "office", pl.col("score").neg())
    table = Table(title=f"red lane: physical inspections ({min(limit, red.height)} of {red.height} shown)")
    for name in ("day", "office", "LRN", "score", "why red", "fraud (truth)"):
        table.add_column(name, justify="right" if name == "score" else "left")
    for row in red.head(limit).iter_rows(named=True):
        table.add_row(
            str(row["declared_on"]),
            row["office"],
            row["lrn"],
            f"{row['score']:.0f}",
            row["basis"],
            "yes" if row["fraud"] else "no",
        )
    return table


def _past_note(past: pl.DataFrame, version: str) -> str:
    return (
        f"model {version} is the agency's active model; the past {SIMULATED_WEEKS} weeks were laned as "
        f"borderwatch would have ({past.filter(pl.col('lane') == 'red').height} red of {past.height}), so "
        "the dashboards have inspected outcomes to show"
    )


def _look_further(settings: Settings, directory: Path, seconds: float) -> Panel:
    lines = [
        f"workspace: make serve (or the two lines below), then open {DEMO_URL}",
        f"sign in as {DEMO_USER} with the password: {DEMO_PASSWORD}",
        f"export BORDERWATCH_DATABASE_URL={settings.database_url}",
        f"export BORDERWATCH_DATA_DIR={settings.data_dir.resolve()}",
        "borderwatch quarantine list          # what was held back, and why",
        "borderwatch quarantine show ID       # one record's raw text; fix it with 'quarantine release'",
        f"borderwatch ingest {directory / 'week.csv'}   # a second time: changes nothing",
        "borderwatch serve --port 8000        # the workspace on this database (make serve PORT=8000)",
        "borderwatch generate -n 100000 --seed 1 --drift-at 0.5 traffic.csv   # more traffic",
        f"ground truth of the planted patterns: {directory}/history.truth.json and week.truth.json",
    ]
    return Panel("\n".join(lines), title=f"look further (the demo took {seconds:.0f} s)")


def run_demo(  # noqa: PLR0915 - the demo's steps, read top to bottom
    directory: Path,
    *,
    console: Console | None = None,
    declarations: int = DEMO_DECLARATIONS,
    seed: int = DEMO_SEED,
    intel: bool = True,
) -> DemoResult:
    """The whole demo into ``directory``; prints as it goes and returns what it did."""
    console = console or Console()
    began = time.perf_counter()
    console.rule("[bold]borderwatch demo")
    settings, engine = fresh_database(directory)

    with console.status("① generating nine weeks of port traffic and the new week…"):
        history, week = generate_files(directory, declarations=declarations, seed=seed)
    result = DemoResult(directory=directory, database_url=settings.database_url, history=history, week=week)
    fraud_rate = float(history.frame["Fraud"].cast(pl.Float64).to_numpy().mean())
    console.print(
        f"① generated [bold]{history.frame.height:,}[/] declarations from {history.truth['part']['start']} "
        f"to {history.truth['part']['end']} with inspection outcomes (fraud rate "
        f"{fraud_rate:.1%}) and [bold]{week.frame.height:,}[/] for the "
        f"new week {week.truth['part']['start']} to {week.truth['part']['end']} (not inspected yet, with "
        f"{len(week.corrupt_lines)} corrupt lines); the planted patterns are listed in *.truth.json"
    )

    try:
        with console.status("② ingesting…"):
            paths = [directory / "history.csv", directory / "week.csv"]
            result.summaries = ingest_files(engine, paths, agency=settings.agency)
        stored = load_declarations(engine, agency=settings.agency)
        outcomes = load_outcomes(engine, agency=settings.agency)
        held = sorted(list_quarantine(engine=engine, limit=100), key=lambda r: (r.source_file, r.line or 0))
    finally:
        engine.dispose()
    result.stored_declarations = stored["lrn"].n_unique()
    result.stored_outcomes = outcomes.height
    result.quarantined = [
        (Path(row.source_file).name, row.line or 0, f"{row.field + ': ' if row.field else ''}{row.reason}")
        for row in held
    ]
    console.print(_ingest_table(result.summaries))
    console.print(
        f"stored [bold]{result.stored_declarations:,}[/] declarations and "
        f"[bold]{result.stored_outcomes:,}[/] inspection outcomes in {settings.database_url}"
    )
    if result.quarantined:
        console.print(_quarantine_table(result.quarantined))

    week_rows = stored.filter(pl.col("declared_on") >= DEMO_START + timedelta(days=HISTORY_DAYS))
    profiles = load_agency_profiles(settings.data_dir, settings.agency)
    with console.status("③ training on the history and scoring the new week…"):
        scored, model = score_week(
            declarations=stored,
            outcomes=outcomes,
            week=week_rows,
            # the agency's rules, seeded from the shipped ones: what the workspace shows and edits
            profiles=profiles,
            seed=seed,
        )
        activate_model(settings=settings, model=model, scored=scored)
    version = model.version
    truth = week.labels  # what the generator planted; the week's file carries no outcomes
    ranked = scored.join(truth, on="lrn", how="left").sort("score", descending=True)
    result.riskiest = ranked.head(10)
    console.print(_riskiest_table(result.riskiest))
    top = ranked.head(max(1, round(ranked.height * 0.1)))
    console.print(
        f"model {version}: the top 10 % of the week ({top.height} declarations) hold "
        f"[bold]{int(top['fraud'].sum())}[/] of its {int(ranked['fraud'].sum())} frauds "
        "(truth from the generator, never shown to the model)"
    )

    with console.status("④ deciding lanes, and those of the past weeks as borderwatch would have…"):
        lanes = decide_lanes(settings=settings, scored=scored, week=week_rows, model_version=version)
        result.past_lanes = simulate_past_weeks(
            settings=settings,
            model=model,
            declarations=stored,
            outcomes=outcomes,
            profiles=profiles,
            policy=demo_policy(),
        )
        write_policy(settings, demo_policy())
        create_login(settings)
    result.lanes = lanes.join(truth.select("lrn", "fraud"), on="lrn", how="left")
    console.print(_lanes_table(result.lanes))
    console.print(_red_table(result.lanes))

    console.print(_past_note(result.past_lanes, version))
    result.intel = _exchange(directory, console) if intel else None
    result.seconds = time.perf_counter() - began
    console.print(_look_further(settings, directory, result.seconds))
    return result


def _exchange(directory: Path, console: Console) -> IntelDemoResult:
    with console.status("⑤ two agencies exchanging intelligence over TAXII 2.1 on loopback…"):
        return run_intel_demo(directory / "intel", console=console)


def serve_workspace(settings: Settings, console: Console, *, port: int = 8000) -> None:
    """Open the web workspace on the demo database (kept between starts), with the demo's account."""
    from borderwatch.web.app import serve

    create_login(settings)
    console.print(
        f"workspace at [bold]http://127.0.0.1:{port}/[/] — sign in as [bold]{DEMO_USER}[/] with password "
        f"[bold]{DEMO_PASSWORD}[/] (Ctrl+C stops it; the database is kept: --reset starts afresh)"
    )
    serve(settings, port=port)


def has_demo(directory: Path) -> bool:
    """Whether ``directory`` holds a database an earlier demo run made."""
    return (directory / DEMO_MARKER).exists() and (directory / "borderwatch.db").exists()


def main(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo's files and SQLite database")
    ] = Path("demo-out"),
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Open the web workspace (on the kept demo database if there is one)"),
    ] = False,
    reset: Annotated[bool, typer.Option("--reset", help="With --serve: run the demo afresh first")] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="With --serve: the port")] = 8000,
) -> None:
    """Run the borderwatch demo (``--serve``: serve the workspace on it; the database is kept between
    starts unless ``--reset``)."""
    console = Console()
    if not (serve and not reset and has_demo(directory)):
        try:
            run_demo(directory, console=console)
        except DemoError as error:
            Console(stderr=True).print(f"[bold red]error:[/] {error}")
            raise typer.Exit(2) from error
    if serve:
        serve_workspace(demo_settings(directory), console, port=port)


if __name__ == "__main__":
    typer.run(main)
