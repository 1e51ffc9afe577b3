"""③ ``borderwatch train/score/explain/evaluate``, ``models list`` and ``profiles check/list``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from borderwatch.cli.common import (
    AGENCY_PROFILES_HELP,
    acting_user,
    agency_session,
    audit_cli,
    console,
    fail,
    load_profiles_option,
    open_database,
    parse_date_option,
    require_user,
)
from borderwatch.core.errors import BorderwatchError
from borderwatch.core.settings import get_settings

if TYPE_CHECKING:
    from borderwatch.scoring.risk_model import RiskModel

models_app = typer.Typer(help="The registry of trained risk models.", no_args_is_help=True)
profiles_app = typer.Typer(help="Risk profiles (analyst rules in YAML).", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console)


def register_trained(
    model: RiskModel, out: Path | None, *, activate: bool | None = None, detail: dict[str, Any] | None = None
) -> tuple[Path, str]:
    """Save a trained model (default: DATA_DIR/models/VERSION.json) and register it for the agency under
    the acting user, audited with ``detail``; returns where it was written and its state in words."""
    from borderwatch.scoring.registry import register_model

    target = out or get_settings().data_dir / "models" / f"{model.version}.json"
    model.save(target)
    with agency_session() as command:
        row = register_model(
            session=command.session,
            model=model,
            path=target.resolve(),
            agency=command.agency,
            activate=activate,
            by=acting_user(),
        )
        command.audit("create", "model", row.version, {**(detail or {}), "active": row.active})
        version, active = row.version, row.active
    return target, (
        "active" if active else f"registered; promote it with 'borderwatch models promote {version}'"
    )


def train_command(
    *,
    since: Annotated[str | None, typer.Option(help="first declaration date, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="last declaration date, YYYY-MM-DD")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default: settings)")] = None,
    holdout: Annotated[float, typer.Option(help="share of the latest days held out to measure")] = 0.15,
    out: Annotated[
        Path | None, typer.Option(help="model file (default: DATA_DIR/models/VERSION.json)")
    ] = None,
    activate: Annotated[
        bool, typer.Option(help="make it the active model at once (the agency's first model always is)")
    ] = False,
) -> None:
    """Trains the risk model on stored declarations with outcomes and registers it."""
    from borderwatch.ingest.store import load_declarations, load_outcomes
    from borderwatch.scoring.risk_model import train_risk_model

    settings = get_settings()
    first, last = parse_date_option(since, "--since"), parse_date_option(until, "--until")
    if not 0 <= holdout < 0.9:
        fail("--holdout must be between 0 and 0.9")
    engine, _factory = open_database(settings)
    with _progress() as progress:
        progress.add_task("loading declarations and outcomes", total=None)
        declarations = load_declarations(engine, agency=settings.agency, since=first, until=last)
        outcomes = load_outcomes(engine, agency=settings.agency)
    if declarations.height == 0:
        fail("no stored declarations in that period; run 'borderwatch ingest' first")
    try:
        with _progress() as progress:
            progress.add_task(f"training on {declarations.height} goods items", total=None)
            model = train_risk_model(
                declarations=declarations,
                outcomes=outcomes,
                seed=settings.random_seed if seed is None else seed,
                holdout=holdout,
            )
    except BorderwatchError as error:
        fail(str(error))
    path, state = register_trained(model, out, activate=True if activate else None)
    console.print(f"trained model [bold]{model.version}[/] → {path} ({state})")
    _print_metrics(model.metrics)


def _print_metrics(metrics: dict[str, float]) -> None:
    table = Table("metric", "value")
    for name, value in metrics.items():
        table.add_row(name, f"{value:.4f}" if not float(value).is_integer() else f"{int(value)}")
    console.print(table)


def score_command(
    *,
    since: Annotated[str | None, typer.Option(help="first declaration date to score, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="last declaration date to score, YYYY-MM-DD")] = None,
    model_version: Annotated[
        str | None, typer.Option("--model", help="model version (default: newest)")
    ] = None,
    profiles_path: Annotated[Path | None, typer.Option("--profiles", help=AGENCY_PROFILES_HELP)] = None,
    show: Annotated[int, typer.Option(help="how many of the riskiest to print")] = 10,
    screen: Annotated[bool, typer.Option(help="screen the parties against loaded watchlists")] = False,
) -> None:
    """Scores the stored declarations of a period and stores their scores and reasons."""
    from borderwatch.ingest.store import load_declarations, load_outcomes
    from borderwatch.scoring.registry import load_model, store_scores

    settings = get_settings()
    first, last = parse_date_option(since, "--since"), parse_date_option(until, "--until")
    profiles = load_profiles_option(profiles_path, agency_default=True)
    engine, factory = open_database(settings)
    try:
        with factory() as session:
            model = load_model(session=session, version=model_version, agency=settings.agency)
    except BorderwatchError as error:
        fail(str(error))
    with _progress() as progress:
        progress.add_task("loading declarations, history and outcomes", total=None)
        targets = load_declarations(engine, agency=settings.agency, since=first, until=last)
        history = load_declarations(engine, agency=settings.agency, until=last)
        # Outcomes known now; the features of each declaration use only those recorded before its date.
        outcomes = load_outcomes(engine, agency=settings.agency)
    if targets.height == 0:
        fail("no stored declarations in that period")
    hits = None
    if screen:
        from borderwatch.screening.service import screen_declarations

        with _progress() as progress, factory() as session:
            progress.add_task("screening parties against the watchlists", total=None)
            hits = screen_declarations(
                engine=engine, session=session, declarations=targets, agency=settings.agency
            )
    with _progress() as progress:
        progress.add_task(f"scoring {targets['lrn'].n_unique()} declarations", total=None)
        try:
            scores = model.score(
                declarations=targets,
                history=history,
                outcomes=outcomes,
                profiles=profiles,
                screening_hits=hits,
            )
        except BorderwatchError as error:
            fail(str(error))
    with factory.begin() as session:
        stored = store_scores(
            session=session, scores=scores, model_version=model.version, agency=settings.agency
        )
    console.print(f"stored {stored} scores from model [bold]{model.version}[/]")
    _print_scores(scores.head(show))


def _print_scores(scores: Any) -> None:
    table = Table("LRN", "score", "P(fraud)", "lane", "reasons", show_lines=True)
    for row in scores.iter_rows(named=True):
        table.add_row(
            row["lrn"],
            f"{row['score']:.1f}",
            f"{row['fraud_probability']:.2f}",
            row["forced_lane"] or "",
            "\n".join(row["reasons"][:4]),
        )
    console.print(table)


def explain_command(lrn: Annotated[str, typer.Argument(help="declaration LRN")]) -> None:
    """Prints a declaration's stored score and the reasons behind it."""
    from borderwatch.core.cache import Cache
    from borderwatch.scoring.online import complete_reasons
    from borderwatch.scoring.registry import latest_scores

    settings = get_settings()
    engine, factory = open_database(settings)
    with factory.begin() as session:
        # a score submitted over the API may have left the model's reasons to its first read: this one
        complete_reasons(
            cache=Cache(ttl_seconds=60),
            engine=engine,
            db=session,
            agency=settings.agency,
            lrn=lrn,
            profiles=load_profiles_option(None, agency_default=True),
        )
    with factory() as session:
        found = latest_scores(session=session, agency=settings.agency, lrns=[lrn])
    if found.height == 0:
        fail(f"declaration {lrn} has no stored score; run 'borderwatch score' for its period first")
    row = found.row(0, named=True)
    console.print(
        f"[bold]{lrn}[/]: score {row['score']:.1f} / 100, fraud probability {row['fraud_probability']:.3f}, "
        f"expected duty {row['expected_duty']:,.0f}"
        + (f", lane forced to {row['forced_lane']}" if row["forced_lane"] else "")
        + f" (model {row['model_version']})"
    )
    for number, reason in enumerate(row["reasons"], start=1):
        console.print(f"  {number}. {reason}")
    if not row["reasons"]:
        console.print("  no single factor stands out")


def evaluate_command(
    *,
    train: Annotated[list[Path], typer.Option("--train", help="training file (KCS layout); repeatable")],
    test: Annotated[Path, typer.Option("--test", help="test file (KCS layout); its outcomes only grade")],
    json_path: Annotated[Path, typer.Option("--json", help="where to write the JSON report")],
    plot: Annotated[Path | None, typer.Option(help="precision/recall plot (PNG)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    profiles_path: Annotated[
        Path | None, typer.Option("--profiles", help="also apply these risk profiles (default: none)")
    ] = None,
) -> None:
    """Trains on the train files, scores the test file with none of its outcomes, compares with a baseline."""
    from borderwatch.scoring.evaluate import RATES, evaluate_files, write_plot

    for path in [*train, test]:
        if not path.is_file():
            fail(f"file {path} does not exist")
    profiles = load_profiles_option(profiles_path, agency_default=False)
    with _progress() as progress:
        progress.add_task("training borderwatch and the baseline, scoring the test file", total=None)
        try:
            evaluation = evaluate_files(train=train, test=test, seed=seed, profiles=profiles)
        except (BorderwatchError, OSError, ValueError) as error:
            fail(f"evaluation failed: {error}")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(evaluation.report, indent=2), encoding="utf-8")
    table = Table(title=f"{evaluation.test_rows} test declarations, {evaluation.test_frauds} frauds")
    table.add_column("model")
    table.add_column("AUC", justify="right")
    for rate in RATES:
        table.add_column(f"P@{rate}%", justify="right")
    for rate in RATES:
        table.add_column(f"duty R@{rate}%", justify="right")
    for name, metrics in evaluation.report["models"].items():
        auc = metrics["auc"]
        table.add_row(
            name,
            "n/a" if math.isnan(auc) else f"{auc:.3f}",
            *[f"{metrics['at'][str(r)]['precision']:.3f}" for r in RATES],
            *[f"{metrics['at'][str(r)]['duty_recall']:.3f}" for r in RATES],
        )
    console.print(table)
    if plot is not None:
        write_plot(evaluation, plot)
        console.print(f"precision/recall plot → {plot}")
    console.print(f"report → {json_path}")


@models_app.command("list")
def models_list_command() -> None:
    """Lists the registered model versions, newest first."""
    from borderwatch.scoring.registry import list_models

    settings = get_settings()
    _, factory = open_database(settings)
    with factory() as session:
        rows = list_models(session=session, agency=settings.agency)
    if not rows:
        console.print("no trained models yet; run 'borderwatch train'")
        return
    table = Table("active", "trained from", "until", "seed", "features", "holdout AUC", "P@5%", "file")
    table.columns.insert(0, Column("version", no_wrap=True))
    for row in rows:
        metrics = row.metrics or {}
        table.add_row(
            row.version,
            "yes" if row.active else "",
            str(row.trained_from or ""),
            str(row.trained_until or ""),
            str(row.seed),
            str(len(row.features)),
            f"{metrics['holdout_auc']:.3f}" if "holdout_auc" in metrics else "",
            f"{metrics['holdout_precision_at_5']:.3f}" if "holdout_precision_at_5" in metrics else "",
            row.path,
        )
    console.print(table)


@models_app.command("promote")
def models_promote_command(version: Annotated[str, typer.Argument(help="a registered version")]) -> None:
    """Makes a registered version the agency's active model (it scores every arriving declaration from
    now on); the acting user (``--as``) must be a user of the agency; audited."""
    from borderwatch.scoring.registry import activate_model

    settings = get_settings()
    _, factory = open_database(settings)
    with factory.begin() as session:
        actor = require_user(session, agency=settings.agency)
        try:
            row = activate_model(session=session, version=version, agency=settings.agency, by=actor)
        except BorderwatchError as error:
            fail(str(error))
        audit_cli(session, action="update", resource="model", agency=settings.agency, resource_id=version)
    console.print(f"model [bold]{row.version}[/] is now active (by {actor})")


@models_app.command("rollback")
def models_rollback_command() -> None:
    """Re-activates the version that was active before the current one; audited."""
    from borderwatch.scoring.registry import activate_model, previous_model_row

    settings = get_settings()
    _, factory = open_database(settings)
    with factory.begin() as session:
        actor = require_user(session, agency=settings.agency)
        try:
            previous = previous_model_row(session=session, agency=settings.agency)
        except BorderwatchError as error:
            fail(str(error))
        row = activate_model(session=session, version=previous.version, agency=settings.agency, by=actor)
        audit_cli(
            session,
            action="update",
            resource="model",
            agency=settings.agency,
            resource_id=row.version,
            detail={"rolled_back_to": row.version},
        )
    console.print(f"rolled back: model [bold]{row.version}[/] is active again")


@profiles_app.command("check")
def profiles_check_command(path: Annotated[Path, typer.Argument(help="YAML file or folder")]) -> None:
    """Validates risk profile files; prints the first error naming file, rule and field."""
    profiles = load_profiles_option(path, agency_default=False)
    console.print(f"{path}: {len(profiles)} valid risk profiles")


@profiles_app.command("list")
def profiles_list_command(
    path: Annotated[Path | None, typer.Argument(help="YAML file or folder (default: the agency's)")] = None,
) -> None:
    """Lists risk profiles with their effect and validity."""
    table = Table("name", "effect", "valid", "enabled", "author")
    table.columns.insert(0, Column("id", no_wrap=True))
    for profile in load_profiles_option(path, agency_default=True):
        effect = ", ".join(
            part
            for part in (
                f"{profile.effect.add_points:+g} points" if profile.effect.add_points else "",
                f"lane {profile.effect.force_lane}" if profile.effect.force_lane else "",
            )
            if part
        )
        valid = f"{profile.valid_from or '…'} – {profile.valid_to or '…'}"
        table.add_row(
            profile.id, profile.name, effect, valid, "yes" if profile.enabled else "no", profile.author
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("score")(score_command)
    app.command("explain")(explain_command)
    app.command("evaluate")(evaluate_command)
    app.add_typer(models_app, name="models")
    app.add_typer(profiles_app, name="profiles")
