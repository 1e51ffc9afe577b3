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
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import Engine

from borderwatch.core.errors import BorderwatchError
from borderwatch.core.settings import Settings
from borderwatch.db.session import engine_from_settings, migrate, session_factory, session_scope
from borderwatch.ingest.service import IngestSummary, ingest_file, list_quarantine
from borderwatch.ingest.store import load_declarations, load_outcomes
from borderwatch.inspections.service import open_cases
from borderwatch.lanes.policy import Capacity, LanePolicy
from borderwatch.lanes.service import assign_lanes
from borderwatch.scoring.profile_store import load_agency_profiles
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.service import train_risk_model
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
) -> tuple[pl.DataFrame, str]:
    """③ Train on the stored history (the declarations with outcomes), score the new week.

    Returns the scores (one row per lrn: score, fraud_probability, expected_duty, forced_lane, reasons) and
    the model version.
    """
    history = declarations.filter(~pl.col("lrn").is_in(week["lrn"].implode()))
    model = train_risk_model(declarations=history, outcomes=outcomes, profiles=profiles, seed=seed)
    scored = model.score(declarations=week, history=declarations, outcomes=outcomes, profiles=profiles)
    return scored, model.version


def demo_policy(week: pl.DataFrame) -> LanePolicy:
    """A lane policy sized to the demo's volume: each office can inspect about ``RED_SHARE`` of its average
    daily declarations (at least one) and check ``YELLOW_SHARE`` of them on documents; the most probable
    frauds go first."""
    daily = (
        week.unique("lrn")
        .group_by("office", "declared_on")
        .len()
        .group_by("office")
        .agg(pl.col("len").mean().alias("daily"))
    )
    rows = list(daily.iter_rows(named=True))
    return LanePolicy(
        version="demo-1",
        red=Capacity(
            default=1, per_office={r["office"]: max(1, round(r["daily"] * RED_SHARE)) for r in rows}
        ),
        yellow=Capacity(
            default=1, per_office={r["office"]: max(1, round(r["daily"] * YELLOW_SHARE)) for r in rows}
        ),
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
                policy=demo_policy(week),
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


def _look_further(settings: Settings, directory: Path, seconds: float) -> Panel:
    lines = [
        f"export BORDERWATCH_DATABASE_URL={settings.database_url}",
        "borderwatch quarantine list          # what was held back, and why",
        "borderwatch quarantine show ID       # one record's raw text; fix it with 'quarantine release'",
        f"borderwatch ingest {directory / 'week.csv'}   # a second time: changes nothing",
        "borderwatch serve                    # the workspace (or: make serve)",
        "borderwatch generate -n 100000 --seed 1 --drift-at 0.5 traffic.csv   # more traffic",
        f"ground truth of the planted patterns: {directory}/history.truth.json and week.truth.json",
    ]
    return Panel("\n".join(lines), title=f"look further (the demo took {seconds:.0f} s)")


def run_demo(
    directory: Path,
    *,
    console: Console | None = None,
    declarations: int = DEMO_DECLARATIONS,
    seed: int = DEMO_SEED,
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
    with console.status("③ training on the history and scoring the new week…"):
        scored, version = score_week(
            declarations=stored,
            outcomes=outcomes,
            week=week_rows,
            # the agency's rules, seeded from the shipped ones: what the workspace shows and edits
            profiles=load_agency_profiles(settings.data_dir, settings.agency),
            seed=seed,
        )
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

    with console.status("④ deciding lanes…"):
        lanes = decide_lanes(settings=settings, scored=scored, week=week_rows, model_version=version)
    result.lanes = lanes.join(truth.select("lrn", "fraud"), on="lrn", how="left")
    console.print(_lanes_table(result.lanes))
    console.print(_red_table(result.lanes))

    result.seconds = time.perf_counter() - began
    console.print(_look_further(settings, directory, result.seconds))
    return result


def serve_workspace(settings: Settings, console: Console) -> None:
    """Open the web workspace on the demo database, with a local demo account."""
    try:
        from borderwatch.access import service as access
        from borderwatch.web.app import serve
    except ImportError:
        console.print("The web workspace is not part of this build; the demo database stays usable.")
        return
    engine = engine_from_settings(settings)
    try:
        with session_scope(session_factory(engine)) as session:
            access.ensure_admin(
                db_session=session, username=DEMO_USER, password=DEMO_PASSWORD, agency=settings.agency
            )
    finally:
        engine.dispose()
    console.print(
        f"workspace at [bold]http://127.0.0.1:8000/[/] — sign in as [bold]{DEMO_USER}[/] with password "
        f"[bold]{DEMO_PASSWORD}[/] (Ctrl+C stops it)"
    )
    serve(settings)


def main(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo's files and SQLite database")
    ] = Path("demo-out"),
    serve: Annotated[bool, typer.Option("--serve", help="Open the web workspace afterwards")] = False,
) -> None:
    """Run the borderwatch demo."""
    console = Console()
    try:
        result = run_demo(directory, console=console)
    except DemoError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from error
    if serve:
        serve_workspace(demo_settings(result.directory), console)


if __name__ == "__main__":
    typer.run(main)
