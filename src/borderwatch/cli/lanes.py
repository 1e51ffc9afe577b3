"""④ ``borderwatch lanes assign/override/list`` and ``borderwatch aeo add/list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from borderwatch.cli.common import (
    AGENCY_PROFILES_HELP,
    audit_cli,
    console,
    fail,
    load_profiles_option,
    open_database,
    parse_date_option,
    require_user,
)
from borderwatch.core.errors import BorderwatchError, ConfigError, NotFoundError
from borderwatch.core.settings import get_settings

lanes_app = typer.Typer(help="Turn scores into red / yellow / green lanes.", no_args_is_help=True)
aeo_app = typer.Typer(help="The registry of AEO-certified traders.", no_args_is_help=True)


@lanes_app.command("assign")
def assign_command(
    *,
    model_path: Annotated[Path, typer.Option("--model", help="risk model file (borderwatch train)")],
    since: Annotated[str | None, typer.Option(help="first declaration date, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="last declaration date, YYYY-MM-DD")] = None,
    policy_path: Annotated[Path | None, typer.Option("--policy", help="lane policy YAML")] = None,
    profiles_path: Annotated[Path | None, typer.Option("--profiles", help=AGENCY_PROFILES_HELP)] = None,
    cases: Annotated[bool, typer.Option(help="open an inspection case per red/yellow")] = True,
    show: Annotated[int, typer.Option(help="how many red decisions to print")] = 10,
) -> None:
    """Scores the stored declarations of a period and stores their lanes."""
    from borderwatch.inspections.flows import score_and_assign_flow
    from borderwatch.lanes.policy import LanePolicy, load_policy
    from borderwatch.scoring.risk_model import RiskModel

    if not model_path.is_file():
        fail(f"model file {model_path} does not exist")
    settings = get_settings()
    profiles = load_profiles_option(profiles_path, agency_default=True)
    try:
        policy = load_policy(policy_path) if policy_path else LanePolicy()
    except ConfigError as error:
        fail(str(error))
    engine, factory = open_database(settings)
    try:
        with factory() as session:  # the flow commits slice by slice
            decisions = score_and_assign_flow(
                engine=engine,
                session=session,
                model=RiskModel.load(model_path),
                since=parse_date_option(since, "--since"),
                until=parse_date_option(until, "--until"),
                profiles=profiles,
                policy=policy,
                agency=settings.agency,
                open_inspection_cases=cases,
            )
    except BorderwatchError as error:
        fail(str(error))
    print_decisions(decisions, show=show)


def print_decisions(decisions: pl.DataFrame, *, show: int = 10) -> None:
    """Counts per lane and the top red decisions with their reasons."""
    counts = decisions.group_by("lane", "basis").len().sort("lane", "basis")
    table = Table(title="lane decisions")
    for column in ("lane", "basis", "declarations"):
        table.add_column(column)
    for row in counts.iter_rows(named=True):
        table.add_row(row["lane"], row["basis"], str(row["len"]))
    console.print(table)
    red = decisions.filter(pl.col("lane") == "red").sort("priority", descending=True).head(show)
    detail = Table(title=f"red lane (top {red.height})")
    for column in ("lrn", "office", "score", "basis", "reasons"):
        detail.add_column(column)
    for row in red.iter_rows(named=True):
        detail.add_row(
            row["lrn"],
            row["office"],
            f"{row['score']:.0f}" if row["score"] is not None else "",
            row["basis"],
            "; ".join((row["reasons"] or [])[:3]),
        )
    console.print(detail)


@lanes_app.command("rerun")
def rerun_command(
    *,
    day: Annotated[str, typer.Option(help="the declaration date to re-run, YYYY-MM-DD")],
    show: Annotated[int, typer.Option(help="how many red decisions to print")] = 10,
) -> None:
    """A supervisor re-runs a day: its declarations are screened and scored again with the active model and
    their lanes decided together within each office's capacity; cases follow. Audited under --as USER."""
    from borderwatch.core.cache import Cache
    from borderwatch.inspections.flows import rerun_day_flow
    from borderwatch.pipeline.selection import agency_selection

    settings = get_settings()
    date = parse_date_option(day, "--day")
    assert date is not None
    engine, factory = open_database(settings)
    with factory() as session:
        actor = require_user(session, agency=settings.agency)
        try:
            result = rerun_day_flow(
                engine=engine,
                session=session,
                day=date,
                agency=settings.agency,
                selection=agency_selection(
                    settings=settings, engine=engine, agency=settings.agency, cache=Cache(ttl_seconds=600)
                ),
                actor=actor,
            )
        except BorderwatchError as error:
            fail(str(error))
        counts = {str(k): int(v) for k, v in result.decisions.group_by("lane").len().iter_rows()}
        audit_cli(
            session,
            action="create",
            resource="lane",
            agency=settings.agency,
            detail={"rerun": date.isoformat(), "model_version": result.model_version, **counts},
        )
        session.commit()
    if result.note:
        console.print(f"[yellow]{result.note}[/]")
    print_decisions(result.decisions, show=show)


@lanes_app.command("policy")
def policy_command() -> None:
    """Prints the agency's lane policy file, or the shipped example (capacity shares) when it has none."""
    from borderwatch.lanes.policy import EXAMPLE_POLICY, agency_policy_path

    settings = get_settings()
    path = agency_policy_path(settings.data_dir, settings.agency)
    source = path if path.is_file() else EXAMPLE_POLICY
    console.print(f"# {source}" + ("" if source == path else f" (copy it to {path} to make it the agency's)"))
    console.print(source.read_text(encoding="utf-8"), markup=False, highlight=False)


@lanes_app.command("override")
def override_command(
    lrn: Annotated[str, typer.Argument(help="declaration LRN")],
    *,
    lane: Annotated[str, typer.Option(help="red, yellow or green")],
    reason: Annotated[str, typer.Option(help="why the supervisor overrides the lane")],
) -> None:
    """Sets a declaration's lane by hand, as the acting supervisor (``borderwatch --as USER``); the reason
    and the superseded decision are kept; audited."""
    from borderwatch.inspections.flows import override_lane_flow

    settings = get_settings()
    engine, factory = open_database(settings)
    del engine
    try:
        with factory.begin() as session:
            supervisor = require_user(session, agency=settings.agency)
            row = override_lane_flow(
                session=session,
                lrn=lrn,
                agency=settings.agency,
                lane=lane,
                reason=reason,
                supervisor=supervisor,
            )
            audit_cli(
                session,
                action="update",
                resource="lane",
                agency=settings.agency,
                resource_id=lrn,
                detail={"lane": lane, "reason": reason},
            )
            console.print(f"{row.lrn}: lane {row.lane} by {row.decided_by} (decision {row.id})")
    except (BorderwatchError, NotFoundError) as error:
        fail(str(error))


@aeo_app.command("add")
def aeo_add_command(
    trader_id: Annotated[str, typer.Argument(help="trader (importer) id")],
    *,
    valid_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    valid_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD (open-ended if omitted)")] = None,
    certificate: Annotated[str | None, typer.Option(help="certificate number")] = None,
) -> None:
    """Registers an AEO certificate for a trader."""
    from borderwatch.lanes.service import add_aeo

    settings = get_settings()
    start = parse_date_option(valid_from, "--from")
    assert start is not None
    engine, factory = open_database(settings)
    del engine
    try:
        with factory.begin() as session:
            row = add_aeo(
                session=session,
                trader_id=trader_id,
                valid_from=start,
                valid_to=parse_date_option(valid_to, "--to"),
                certificate_no=certificate,
                agency=settings.agency,
            )
            console.print(f"AEO {row.trader_id} from {row.valid_from} to {row.valid_to or 'open'}")
    except BorderwatchError as error:
        fail(str(error))


@aeo_app.command("list")
def aeo_list_command(
    *, on: Annotated[str | None, typer.Option(help="only certificates valid on YYYY-MM-DD")] = None
) -> None:
    """Lists the AEO registry."""
    from borderwatch.lanes.service import list_aeo

    settings = get_settings()
    engine, factory = open_database(settings)
    del engine
    with factory() as session:
        rows = list_aeo(session=session, agency=settings.agency, valid_on=parse_date_option(on, "--on"))
    table = Table(title="AEO registry")
    for column in ("trader", "certificate", "valid from", "valid to"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.trader_id, row.certificate_no or "", str(row.valid_from), str(row.valid_to or ""))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(lanes_app, name="lanes")
    app.add_typer(aeo_app, name="aeo")
