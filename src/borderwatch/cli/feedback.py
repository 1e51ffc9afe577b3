"""``borderwatch simulate``, ``retrain`` and ``monitor``: the feedback loop from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.progress import Progress
from rich.table import Table

from borderwatch.cli.common import console, fail, open_database
from borderwatch.core.errors import BorderwatchError, ConfigError
from borderwatch.core.settings import get_settings
from borderwatch.feedback.weights import IPW_CAP
from borderwatch.lanes.policy import CONTROL_RATE


def simulate_command(
    *,
    data: Annotated[list[Path], typer.Option("--data", help="KCS-layout CSV (repeat for several)")],
    json_out: Annotated[Path, typer.Option("--json", help="where to write the result document")],
    strategy: Annotated[
        list[str], typer.Option("--strategy", help="strategy to replay (repeat); default: all")
    ] = [],  # noqa: B006 - Typer needs a literal default for a repeatable option
    rate: Annotated[float, typer.Option(help="percent of each window's declarations to inspect")] = 10.0,
    window: Annotated[int, typer.Option(help="window length in days")] = 7,
    history_days: Annotated[int, typer.Option(help="fully labelled days at the start")] = 30,
    control_rate: Annotated[float, typer.Option(help="borderwatch's control sample share")] = CONTROL_RATE,
    seed: Annotated[int, typer.Option()] = 42,
    workers: Annotated[int, typer.Option(help="strategies replayed in parallel processes")] = 2,
    plot: Annotated[Path | None, typer.Option(help="PNG of the windows' precision per strategy")] = None,
    profiles_path: Annotated[
        Path | None, typer.Option("--profiles", help="risk profile YAML (default: the shipped profiles)")
    ] = None,
) -> None:
    """Replays the declarations in date order and compares selection strategies window by window."""
    from borderwatch.feedback.replay import STRATEGIES, SimulationConfig, plot_precision, simulate
    from borderwatch.ingest.frame import read_kcs_frames
    from borderwatch.scoring.profiles import load_profiles

    for path in data:
        if not path.is_file():
            fail(f"data file {path} does not exist")
    names = strategy or list(STRATEGIES)
    try:
        frames = [read_kcs_frames(path) for path in data]
    except (pl.exceptions.PolarsError, OSError) as error:
        fail(f"cannot read the data as KCS layout: {error}")
    declarations = pl.concat([d for d, _ in frames], how="vertical_relaxed")
    outcomes = pl.concat([o for _, o in frames], how="vertical_relaxed")
    try:
        profiles = tuple(load_profiles(profiles_path)) if profiles_path else None
    except ConfigError as error:
        fail(str(error))
    config = SimulationConfig(
        rate=rate,
        window=window,
        history_days=history_days,
        seed=seed,
        control_rate=control_rate,
        profiles=profiles,
    )
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("replaying", total=len(names))

        def report(name: str, index: int, total: int) -> None:
            if workers > 1:
                progress.update(task, description=f"{name} done", completed=index + 1)
            else:
                progress.update(
                    task, description=f"{name}: window {index + 1}/{total}", completed=names.index(name)
                )

        try:
            document = simulate(
                declarations=declarations,
                outcomes=outcomes,
                strategies=names,
                config=config,
                progress=report,
                workers=workers,
            )
        except (BorderwatchError, ValueError) as error:
            fail(str(error))
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(document, indent=2), encoding="utf-8")
    if plot:
        plot_precision(document, plot)
    table = Table(title=f"Replay at {rate:g} % per {window}-day window")
    columns = ("strategy", "precision", "last 13", "recall", "duty recall", "model picks", "control estimate")
    for column in columns:
        table.add_column(column)
    for name, result in document["strategies"].items():
        summary = result["summary"]
        control = summary.get("control_estimate")
        picks = summary.get("model_picks")
        table.add_row(
            name,
            f"{summary['precision']:.3f}",
            f"{summary['precision_last13']:.3f}",
            f"{summary['recall']:.3f}",
            f"{summary['duty_recall']:.3f}",
            f"{picks['precision']:.3f} ({1 - picks['random_share']:.0%} of k)" if picks else "",
            f"{control['rate']:.3f} [{control['low']:.3f}, {control['high']:.3f}]" if control else "",
        )
    console.print(table)
    console.print(f"true fraud rate over the replay: {document['true_fraud_rate']:.3f}; written {json_out}")


def retrain_command(
    *,
    out: Annotated[
        Path | None, typer.Option(help="model file (default: DATA_DIR/models/retrained.json)")
    ] = None,
    clip: Annotated[float, typer.Option(help="cap on inverse-propensity weights")] = IPW_CAP,
    seed: Annotated[int, typer.Option()] = 42,
) -> None:
    """Retrains the risk model on every label so far, weighting each by 1 / its selection probability, and
    registers it; it scores arriving declarations once a supervisor promotes it (``models promote``)."""
    from borderwatch.cli.scoring import register_trained
    from borderwatch.feedback.retrain import retrain

    settings = get_settings()
    engine, factory = open_database(settings)
    try:
        with factory() as session:
            result = retrain(engine=engine, session=session, agency=settings.agency, clip=clip, seed=seed)
    except (BorderwatchError, ValueError) as error:
        fail(str(error))
    target, state = register_trained(result.model, out, detail={"retrained": True, "labels": result.labels})
    console.print(
        f"trained {result.model.version} on {result.labels} labels "
        f"({result.weighted} control-sample labels weighted up); written {target}; {state}"
    )


def monitor_command(
    *,
    out: Annotated[Path | None, typer.Option(help="folder for the JSON report and plots")] = None,
) -> None:
    """Hit rate per lane and per risk profile, control-sample non-compliance, score drift and calibration."""
    from borderwatch.feedback.monitor import monitor_report, write_plots

    settings = get_settings()
    engine, factory = open_database(settings)
    folder = out or settings.data_dir / "monitor"
    with factory() as session:
        report = monitor_report(engine=engine, session=session, agency=settings.agency)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "monitor.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    plots = write_plots(report, folder)
    table = Table(title="Hit rate per lane")
    for column in ("lane", "inspected", "frauds", "hit rate"):
        table.add_column(column)
    for row in report["lanes"]:
        table.add_row(row["lane"], str(row["inspected"]), str(row["frauds"]), f"{row['hit_rate']:.3f}")
    console.print(table)
    control = report["control"]
    if control["n"]:
        console.print(
            f"non-compliance (control sample, n={control['n']}): {control['rate']:.3f} "
            f"[{control['low']:.3f}, {control['high']:.3f}]"
        )
    if report["psi"] is not None:
        console.print(f"score drift (PSI, latest week vs earlier): {report['psi']:.3f}")
    console.print(f"written {folder / 'monitor.json'} and {len(plots)} plot(s)")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
    app.command("retrain")(retrain_command)
    app.command("monitor")(monitor_command)
