"""``borderwatch training list|check|queue|grade|play``: exercises scripted and graded outside the browser.

Scenario exercises are built from the synthetic generator (no database, no live records). The scenario id
``closed-cases`` builds the exercise from real closed cases instead: a clean KCS-layout CSV (``--cases``) or
the agency's stored declarations and outcomes (``--from-database``, audited), parties and declaration numbers
pseudonymised with ``--salt`` (keep it secret: with it, a pseudonym can be checked against a real id).
The workspace stores attempts per trainee (``/training``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from borderwatch.cli.common import audit_cli, console, fail, open_database
from borderwatch.core.errors import ConfigError
from borderwatch.core.settings import get_settings
from borderwatch.db.session import session_scope
from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.ingest.store import load_declarations, load_outcomes
from borderwatch.training import service
from borderwatch.training.exercise import (
    CLOSED_CASES,
    Exercise,
    ExerciseError,
    exercise_from_cases,
)
from borderwatch.training.grading import Choice, GradingError, grade, read_choices_csv
from borderwatch.training.indicators import INDICATORS
from borderwatch.training.scenarios import SHIPPED_DIR, get_scenario, load_scenarios

training_app = typer.Typer(
    help="Officer training: scenarios, exercise queues, grading, play.", no_args_is_help=True
)

ScenariosOption = Annotated[
    Path, typer.Option("--scenarios", help="scenario YAML file or folder (default: the shipped ones)")
]
SeedOption = Annotated[int, typer.Option("--seed", help="the same scenario and seed give the same queue")]


@dataclass(frozen=True)
class Cases:
    """Where a ``closed-cases`` exercise comes from, and how it is pseudonymised and sized."""

    path: Path | None = None
    from_database: bool = False
    salt: str | None = None
    size: int = 60
    budget: int = 6


CasesOption = Annotated[Path | None, typer.Option("--cases", help="closed-cases: a clean KCS-layout CSV")]
DatabaseOption = Annotated[
    bool, typer.Option("--from-database", help="closed-cases: the agency's stored declarations and outcomes")
]
SaltOption = Annotated[
    str | None, typer.Option("--salt", envvar="BORDERWATCH_TRAINING_SALT", help="closed-cases: secret salt")
]
SizeOption = Annotated[int, typer.Option("--size", min=5, max=500, help="closed-cases: declarations")]
BudgetOption = Annotated[int, typer.Option("--budget", min=1, help="closed-cases: inspections allowed")]


def _closed_cases(cases: Cases, seed: int) -> Exercise:
    if not cases.salt:
        fail("closed-cases needs --salt (or BORDERWATCH_TRAINING_SALT): the pseudonyms' secret")
    if cases.path is not None:
        if not cases.path.exists():
            fail(f"cases file {cases.path} does not exist")
        declarations, outcomes = read_kcs_frames(cases.path)
    elif cases.from_database:
        settings = get_settings()
        engine, factory = open_database(settings)
        declarations = load_declarations(engine, agency=settings.agency)
        outcomes = load_outcomes(engine, agency=settings.agency)
        with session_scope(factory) as session:
            audit_cli(
                session,
                agency=settings.agency,
                action="read",
                resource="outcome",
                resource_id="training closed-cases",
                detail={"declarations": declarations.height, "outcomes": outcomes.height, "seed": seed},
            )
        engine.dispose()
    else:
        fail("closed-cases needs --cases FILE.csv or --from-database")
    try:
        with console.status("building the closed-cases queue and the model's choice"):
            return exercise_from_cases(
                declarations=declarations,
                outcomes=outcomes,
                seed=seed,
                salt=cases.salt.encode(),
                queue_size=cases.size,
                budget=cases.budget,
            )
    except ExerciseError as error:
        fail(str(error))


def _exercise(
    scenario_id: str, seed: int, scenarios: Path, *, timed: bool = True, cases: Cases | None = None
) -> Exercise:
    if scenario_id == CLOSED_CASES:
        return _closed_cases(cases or Cases(), seed)
    try:
        scenario = get_scenario(scenario_id, scenarios)
    except ConfigError as error:
        fail(str(error))
    with console.status(f"building the {scenario_id} queue (seed {seed}) and the model's choice"):
        return service.exercise_for(scenario, seed=seed, timed=timed)


def _write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@training_app.command("list")
def list_scenarios(scenarios: ScenariosOption = SHIPPED_DIR) -> None:
    """One scenario a line: its id, a space, its title."""
    try:
        found = load_scenarios(scenarios)
    except ConfigError as error:
        fail(str(error))
    for scenario in found:
        typer.echo(f"{scenario.id} {scenario.title}")


@training_app.command("check")
def check(path: Annotated[Path, typer.Argument(help="a scenario YAML file or a folder of them")]) -> None:
    """Validate scenario files an instructor wrote; an error names the file, the scenario and the field."""
    if not path.exists():
        fail(f"{path} does not exist")
    try:
        found = load_scenarios(path)
    except ConfigError as error:
        fail(str(error))
    for scenario in found:
        planted = ", ".join(f"{count} {tactic}" for tactic, count in scenario.plant.items())
        size, budget = scenario.queue.size, scenario.queue.budget
        typer.echo(f"{scenario.id}: valid ({size} declarations, budget {budget}; {planted})")


@training_app.command("queue")
def queue(
    *,
    scenario: Annotated[str, typer.Argument(help="scenario id (borderwatch training list)")],
    seed: SeedOption = 1,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the queue here")] = None,
    scenarios: ScenariosOption = SHIPPED_DIR,
    cases: CasesOption = None,
    from_database: DatabaseOption = False,
    salt: SaltOption = None,
    size: SizeOption = 60,
    budget: BudgetOption = 6,
) -> None:
    """Write the exercise's queue (what the trainee sees, no truth) as JSON."""
    exercise = _exercise(scenario, seed, scenarios, cases=Cases(cases, from_database, salt, size, budget))
    document = exercise.queue_document()
    if json_out is None:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    _write(json_out, document)
    console.print(f"{exercise.size} declarations, budget {exercise.budget}: {json_out}")


def _figures_table(result: dict[str, Any]) -> Table:
    table = Table(title="Scores on the same queue and budget")
    for column in ("", "hit rate", "duty recovered", "frauds missed", "needless inspections", "Brier"):
        table.add_column(column, justify="left" if not column else "right")

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f} %"

    def row(name: str, figures: dict[str, Any] | None, brier: float | None) -> None:
        if figures is None:
            return
        table.add_row(
            name,
            pct(figures["hit_rate"]),
            pct(figures["duty_recovered_share"]),
            f"{figures['frauds_missed']:g}",
            f"{figures['needless_inspections']:g}",
            "—" if brier is None else f"{brier:.3f}",
        )

    row("you", result, result["brier"])
    row("model", result["model"], (result["model"] or {}).get("brier"))
    row("random", result["random"], None)
    return table


@training_app.command("grade")
def grade_command(
    *,
    scenario: Annotated[str, typer.Argument(help="scenario id")],
    choices: Annotated[
        Path, typer.Option("--choices", help="CSV: lrn, lane, confidence (others count as green)")
    ],
    seed: SeedOption = 1,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the grade here")] = None,
    scenarios: ScenariosOption = SHIPPED_DIR,
    cases: CasesOption = None,
    from_database: DatabaseOption = False,
    salt: SaltOption = None,
    size: SizeOption = 60,
    budget: BudgetOption = 6,
) -> None:
    """Grade a trainee's choices against the truth, beside the model and a random choice."""
    if not choices.exists():
        fail(f"choices file {choices} does not exist")
    exercise = _exercise(scenario, seed, scenarios, cases=Cases(cases, from_database, salt, size, budget))
    try:
        result = grade(exercise, read_choices_csv(choices.read_text(encoding="utf-8"))).as_dict()
    except GradingError as error:
        fail(f"{choices}: {error}")
    result |= {"scenario": exercise.scenario_id, "seed": seed, "budget": exercise.budget}
    if json_out is not None:
        _write(json_out, result)
    console.print(_figures_table(result))


def _show(view: dict[str, Any], position: int, total: int) -> None:
    goods, route, parties = view["goods"], view["route"], view["parties"]
    importer, broker, seller = parties["importer"], parties["declarant"], parties["seller"]
    certificate = view["documents"]["certificate"]
    lines = [
        f"[bold]{view['lrn']}[/]  {view['declared_on']}  office {view['office']}  "
        f"mode {view['transport_mode']}",
        f"HS {goods['hs_code']}: {goods['hs_heading'] or '—'}",
        f"goods: {goods['description'] or '—'}",
        f"value {goods['customs_value']:,} {goods['currency']}  mass {goods['net_mass']} kg  unit value "
        f"{goods['unit_value']} (reference {goods['reference_unit_value']}, "
        f"ratio {goods['unit_value_ratio']})",
        f"tax {goods['tax_type']} {goods['tax_rate']} %  "
        f"preferential: {'yes' if goods['preferential'] else 'no'}",
        f"route: origin {route['origin']}, departure {route['departure']}, transit {route['transit'] or '—'}"
        f" (seen {route['seen_before']} times for these goods)",
        f"importer {importer['id']} {importer['name'] or ''} — {importer['declarations_before']} earlier, "
        f"{importer['findings_before']} with findings, "
        f"{importer['importers_at_address']} importer ids at its address",
        f"broker {broker['id']} {broker['name'] or ''} — serves {broker['importers_served']} importers at "
        f"{broker['addresses_served']} addresses",
        f"seller {seller['id'] or '—'} {seller['name'] or ''} {seller['address'] or ''}",
    ]
    if certificate:
        lines.append(
            f"certificate {certificate['number']} issued by {certificate['issuer']} "
            f"on {certificate['issued_on']}"
            f" (presented {certificate['presented_before']} times before)"
        )
    for hit in view["screening"]:
        lines.append(
            f"[red]screening: {hit['role']} {hit['field']} ≈ {hit['listed_name']} ({hit['list']})[/]"
        )
    if view["model"]:
        lines.append(f"model score {view['model']['score']}: {'; '.join(view['model']['reasons'])}")
    console.print(Panel("\n".join(lines), title=f"{position}/{total}"))


@training_app.command("play")
def play(
    scenario: Annotated[str, typer.Argument(help="scenario id")],
    seed: SeedOption = 1,
    timed: Annotated[bool, typer.Option(help="stop when the scenario's time limit is up")] = True,
    scenarios: ScenariosOption = SHIPPED_DIR,
) -> None:
    """Work the queue in the terminal: a lane (r/y/g), a confidence and the indicators seen for each
    declaration, then the debrief. Declarations left when time is up count as green."""
    exercise = _exercise(scenario, seed, scenarios, timed=timed)
    numbered = list(INDICATORS)
    console.print(
        f"[bold]{exercise.title}[/]: {exercise.size} declarations, inspect at most {exercise.budget}."
    )
    if exercise.time_limit_seconds:
        console.print(f"Time limit: {exercise.time_limit_seconds // 60} min.")
    console.print("Indicators: " + ", ".join(f"{n + 1}={i}" for n, i in enumerate(numbered)))
    started = time.monotonic()
    choices: list[Choice] = []
    for position, view in enumerate(exercise.declarations, start=1):
        if exercise.time_limit_seconds and time.monotonic() - started > exercise.time_limit_seconds:
            console.print("[bold red]time is up[/]: the rest count as green")
            break
        _show(view, position, exercise.size)
        shown = time.monotonic()
        lane = typer.prompt("lane r/y/g", default="g").strip().lower()[:1]
        lane = {"r": "red", "y": "yellow"}.get(lane, "green")
        confidence = typer.prompt("confidence 0-1", default=0.7, type=float)
        ticked = typer.prompt("indicators seen (numbers, comma separated)", default="", show_default=False)
        picked = tuple(
            numbered[int(n) - 1]
            for n in ticked.replace(" ", "").split(",")
            if n.isdigit() and 0 < int(n) <= len(numbered)
        )
        choices.append(
            Choice(
                view["lrn"], lane, min(max(confidence, 0.0), 1.0), picked, round(time.monotonic() - shown, 1)
            )
        )
    result = grade(exercise, choices).as_dict()
    console.print(_figures_table(result))
    debrief = result["debrief"]
    console.print(Panel(debrief["text"], title="Debrief"))
    for row in debrief["details"]:
        console.print(
            f"{row['lrn']}: {row['tactic'] or 'fraud'} — you {row['lane']}, model "
            f"{'red' if row['model_selected'] else 'not red'}; "
            f"indicators {', '.join(row['indicators']) or '—'}"
            f"; duty {row['evaded_duty']:,.0f}"
        )
    console.print(f"Duty left uncollected: {debrief['duty_uncollected']:,.0f}")


def register(app: typer.Typer) -> None:
    app.add_typer(training_app, name="training")
