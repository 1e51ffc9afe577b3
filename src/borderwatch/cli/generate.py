"""``borderwatch generate``: synthetic port traffic with planted, documented fraud patterns."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from borderwatch.cli.common import console, fail
from borderwatch.synthetic import GeneratorConfig, GeneratorError, generate_traffic, truth_path, write_traffic


def _parse_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date of the form YYYY-MM-DD") from error


def generate(
    *,
    out: Annotated[Path, typer.Argument(help="CSV file to write; its ground truth goes to OUT.truth.json")],
    declarations: Annotated[int, typer.Option("--declarations", "-n", help="Valid declarations to generate")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same file")] = 42,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD")] = "2024-01-01",
    days: Annotated[int, typer.Option(help="Length of the period in days")] = 365,
    drift_at: Annotated[
        float | None, typer.Option(help="Plant a fraud pattern that starts at this fraction of the period")
    ] = None,
    corrupt: Annotated[int, typer.Option(help="Deliberately invalid lines to add (listed in the truth)")] = 0,
) -> None:
    """Generate port traffic in the KCS layout with planted fraud patterns (see README, 'Synthetic data')."""
    try:
        config = GeneratorConfig(
            declarations=declarations,
            seed=seed,
            start=_parse_date(start),
            days=days,
            drift_at=drift_at,
            corrupt=corrupt,
        )
    except GeneratorError as error:
        fail(str(error))
    with console.status(f"Generating {declarations:,} declarations…"):
        traffic = generate_traffic(config)
    try:
        with console.status(f"Writing {out}…"):
            write_traffic(traffic, out)
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror or error}")

    truth = traffic.truth
    table = Table(title=f"{out} ({config.start} to {config.end})")
    table.add_column("pattern")
    table.add_column("declarations", justify="right")
    table.add_column("fraud rate", justify="right")
    table.add_row("all", f"{config.declarations:,}", f"{truth['fraud_rate']:.1%}")
    for name, pattern in truth["patterns"].items():
        table.add_row(name, f"{pattern['declarations']:,}", f"{pattern['fraud_rate']:.1%}")
    if config.corrupt:
        table.add_row("corrupt lines", f"{config.corrupt:,}", "")
    console.print(table)
    console.print(f"Ground truth: {truth_path(out)}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
