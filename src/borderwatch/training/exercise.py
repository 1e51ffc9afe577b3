"""An exercise: a queue of declarations as an officer sees them, an inspection budget, and the truth.

    exercise = build_exercise(get_scenario("undervaluation"), seed=7)          # from the synthetic generator
    exercise = exercise_from_cases(declarations=d, outcomes=o, seed=7, ...)    # closed cases, pseudonymised

The same scenario and seed give the same exercise. ``truth`` holds, per declaration, whether it was a fraud,
the tactic planted (if any), the indicators a trainee should notice, the duty it left uncollected and the
model's score and choice (the model is trained on the history only, as it would have been that day).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from borderwatch.core.errors import BorderwatchError
from borderwatch.ingest.frame import DECLARATION_SCHEMA, KCS_COLUMNS, OUTCOME_SCHEMA, conform
from borderwatch.ingest.mapping import KCS_EXTRA_COLUMNS
from borderwatch.scoring.risk_model import ScoringError, train_risk_model
from borderwatch.synthetic import WATCHLIST, TrainingTraffic, training_traffic
from borderwatch.training import indicators as signs
from borderwatch.training.scenarios import Scenario
from borderwatch.training.view import OPTIONAL_COLUMNS, build_views

CLOSED_CASES = "closed-cases"
AGENCY = "training"
QUEUE_DAYS = 7
VIEW_SCHEMA: dict[str, pl.DataType] = {**DECLARATION_SCHEMA, **OPTIONAL_COLUMNS}
_RENAME = {
    **KCS_COLUMNS,
    **KCS_EXTRA_COLUMNS,
    "Certificate No": "certificate_no",
    "Certificate Issuer": "certificate_issuer",
    "Certificate Date": "certificate_date",
}


class ExerciseError(BorderwatchError):
    """An exercise that cannot be built from what was given."""


@dataclass(frozen=True)
class Exercise:
    """A queue to work and its truth; JSON-able (``to_dict``/``from_dict``), so an attempt stores it whole."""

    scenario_id: str
    title: str
    seed: int
    budget: int
    time_limit_seconds: int | None
    aids: bool
    source: str
    declarations: list[dict[str, Any]]
    truth: list[dict[str, Any]]
    debrief: str = ""
    indicators: list[str] = field(default_factory=list)
    model_version: str | None = None

    @property
    def size(self) -> int:
        return len(self.declarations)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Exercise:
        return cls(**data)

    def queue_document(self) -> dict[str, Any]:
        """What a trainee gets: the queue without the truth (``borderwatch training queue``)."""
        return {
            "scenario": self.scenario_id,
            "seed": self.seed,
            "budget": self.budget,
            "time_limit_seconds": self.time_limit_seconds,
            "aids": self.aids,
            "declarations": self.declarations,
        }


def canonical(frame: pl.DataFrame, *, agency: str = AGENCY) -> pl.DataFrame:
    """A KCS-layout frame (as the generator writes it) in the ingest schema plus the view's optional
    columns."""
    renamed = frame.rename({k: v for k, v in _RENAME.items() if k in frame.columns}).with_columns(
        pl.lit(agency).alias("agency"), pl.lit(1).alias("item_no")
    )
    return conform(renamed, VIEW_SCHEMA)


def _outcomes(frame: pl.DataFrame) -> pl.DataFrame:
    renamed = frame.rename({k: v for k, v in KCS_COLUMNS.items() if k in frame.columns})
    return conform(renamed.with_columns(pl.col("declared_on").alias("recorded_on")), OUTCOME_SCHEMA)


def _model_choice(
    *, history: pl.DataFrame, outcomes: pl.DataFrame, queue: pl.DataFrame, budget: int, seed: int
) -> tuple[pl.DataFrame, str | None]:
    """The production model trained on the history, its scores on the queue and its top-``budget`` choice."""
    try:
        model = train_risk_model(
            declarations=conform(history, DECLARATION_SCHEMA), outcomes=outcomes, seed=seed
        )
    except ScoringError:
        empty = queue.select("lrn").with_columns(
            pl.lit(None, dtype=pl.Float64).alias("score"),
            pl.lit(None, dtype=pl.Float64).alias("fraud_probability"),
            pl.lit([], dtype=pl.List(pl.String)).alias("reasons"),
            pl.lit(None, dtype=pl.Boolean).alias("model_selected"),
        )
        return empty, None
    scored = model.score(
        declarations=conform(queue, DECLARATION_SCHEMA),
        history=conform(pl.concat([history, queue]), DECLARATION_SCHEMA),
        outcomes=outcomes,
    )
    ranked = scored.sort(["score", "lrn"], descending=[True, False]).with_row_index("rank")
    chosen = ranked.select(
        "lrn", "score", "fraud_probability", "reasons", (pl.col("rank") < budget).alias("model_selected")
    )
    return chosen, model.version


def _assemble(
    *,
    scenario_id: str,
    title: str,
    seed: int,
    budget: int,
    time_limit_seconds: int | None,
    aids: bool,
    source: str,
    debrief: str,
    indicators: list[str],
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    queue: pl.DataFrame,
    truth: pl.DataFrame,
    with_model: bool,
) -> Exercise:
    views = build_views(queue=queue, history=history, outcomes=outcomes, watchlist=WATCHLIST)
    version: str | None = None
    if with_model:
        model, version = _model_choice(
            history=history, outcomes=outcomes, queue=queue, budget=budget, seed=seed
        )
        truth = truth.join(model, on="lrn", how="left")
        if aids:
            by_lrn = {row["lrn"]: row for row in model.iter_rows(named=True)}
            for view in views:
                found = by_lrn.get(view["lrn"])
                if found and found["score"] is not None:
                    view["model"] = {
                        "score": round(found["score"], 1),
                        "reasons": list(found["reasons"] or []),
                    }
    else:
        truth = truth.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("score"),
            pl.lit(None, dtype=pl.Float64).alias("fraud_probability"),
            pl.lit(None, dtype=pl.Boolean).alias("model_selected"),
        )
    rows = {row["lrn"]: row for row in truth.iter_rows(named=True)}
    ordered = []
    for view in views:
        row = rows[view["lrn"]]
        named = list(row["indicators"] or [])
        if not named and row["fraud"]:
            # No planted tactic (background fraud, or a closed case): what the page showed that pointed to it.
            named = [i for i in signs.seen(view) if i != "preferential_rate_claimed"]
        ordered.append(
            {
                "lrn": view["lrn"],
                "fraud": int(row["fraud"] or 0),
                "critical": int(row["critical"] or 0),
                "tactic": row["tactic"],
                "indicators": named,
                "evaded_duty": float(row["evaded_duty"] or 0.0),
                "model_score": row["score"],
                "model_probability": row["fraud_probability"],
                "model_selected": row["model_selected"],
            }
        )
    return Exercise(
        scenario_id=scenario_id,
        title=title,
        seed=seed,
        budget=budget,
        time_limit_seconds=time_limit_seconds,
        aids=aids,
        source=source,
        declarations=views,
        truth=ordered,
        debrief=debrief,
        indicators=indicators,
        model_version=version,
    )


def build_exercise(
    scenario: Scenario, *, seed: int, aids: bool | None = None, with_model: bool = True, timed: bool = True
) -> Exercise:
    """The scenario's queue from the synthetic generator with its tactics planted (same seed, same queue).

    ``aids`` overrides the scenario's setting; ``timed=False`` drops its time limit; ``with_model=False``
    skips training the model (its figures are then absent), for quick checks of the queue itself."""
    traffic: TrainingTraffic = training_traffic(
        seed=seed, queue_size=scenario.queue.size, plant=scenario.plant
    )
    history, queue = canonical(traffic.history), canonical(traffic.queue)
    truth = traffic.planted.join(
        traffic.queue.select(
            pl.col("Declaration ID").alias("lrn"),
            pl.col("Fraud").alias("fraud"),
            pl.col("Critical Fraud").alias("critical"),
        ),
        on="lrn",
    )
    return _assemble(
        scenario_id=scenario.id,
        title=scenario.title,
        seed=seed,
        budget=scenario.queue.budget,
        time_limit_seconds=scenario.queue.time_limit_seconds if timed else None,
        aids=scenario.aids if aids is None else aids,
        source="synthetic",
        debrief=scenario.debrief,
        indicators=list(scenario.indicators),
        history=history,
        outcomes=_outcomes(traffic.history),
        queue=queue,
        truth=truth,
        with_model=with_model,
    )


def pseudonym(value: str | None, *, salt: bytes, prefix: str) -> str | None:
    """A stable pseudonym of ``value`` within one exercise (keyed hash): the same party keeps one name, yet
    nothing in the exercise leads back to the real id without the salt."""
    if value is None:
        return None
    digest = hmac.new(salt, value.encode(), hashlib.sha256).hexdigest()[:10].upper()
    return f"{prefix}-{digest}"


_PSEUDONYMISED = {
    "lrn": "D",
    "importer_id": "IMP",
    "declarant_id": "BRK",
    "seller_id": "SEL",
    "courier_id": "CUR",
}
_NAMES = (
    "importer_name",
    "importer_address",
    "declarant_name",
    "seller_name",
    "seller_address",
    "courier_name",
)


def _pseudonymise(frame: pl.DataFrame, salt: bytes) -> pl.DataFrame:
    columns = []
    for column, prefix in _PSEUDONYMISED.items():
        if column not in frame.columns:
            continue
        names = {v: pseudonym(v, salt=salt, prefix=prefix) for v in frame[column].drop_nulls().unique()}
        columns.append(pl.col(column).replace_strict(names, default=None, return_dtype=pl.String))
    blanked = [pl.lit(None, dtype=pl.String).alias(c) for c in _NAMES if c in frame.columns]
    return frame.with_columns(*columns, *blanked)


def exercise_from_cases(
    *,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    seed: int,
    salt: bytes,
    queue_size: int = 60,
    budget: int = 6,
    aids: bool = True,
    with_model: bool = True,
) -> Exercise:
    """An exercise from an agency's closed cases: the queue is drawn from the last ``QUEUE_DAYS`` days of
    declarations that have an outcome, the history is everything before; parties and declaration numbers are
    pseudonymised with ``salt`` and names and addresses dropped; outcomes are hidden from the view and used
    only to grade."""
    with_outcome = declarations.join(outcomes.select("lrn").unique(), on="lrn", how="semi").unique(
        "lrn", keep="first", maintain_order=True
    )
    if with_outcome.height == 0:
        raise ExerciseError("no declaration has an outcome: closed cases are needed")
    last = with_outcome["declared_on"].max()
    cut = last - pl.duration(days=QUEUE_DAYS - 1) if last is not None else None
    recent = with_outcome.filter(pl.col("declared_on") >= cut)
    if recent.height < queue_size:
        raise ExerciseError(f"only {recent.height} closed cases in the last {QUEUE_DAYS} days")
    queue = recent.sample(queue_size, seed=seed, shuffle=True)
    history = declarations.filter(pl.col("declared_on") < cut).unique(
        "lrn", keep="first", maintain_order=True
    )
    past_outcomes = outcomes.join(history.select("lrn"), on="lrn", how="semi")
    truth = (
        queue.select("lrn")
        .join(outcomes.unique("lrn", keep="last"), on="lrn", how="left")
        .join(queue.select("lrn", "customs_value", "tax_rate"), on="lrn")
        .select(
            "lrn",
            pl.lit(None, dtype=pl.String).alias("tactic"),
            pl.lit([], dtype=pl.List(pl.String)).alias("indicators"),
            pl.when(pl.col("fraud") == 1)
            .then((pl.col("customs_value") * pl.col("tax_rate").fill_null(0) / 100).round(2))
            .otherwise(0.0)
            .alias("evaded_duty"),
            pl.col("fraud").fill_null(0),
            pl.col("critical_fraud").fill_null(0).alias("critical"),
        )
    )
    history, queue = with_optional_schema(history), with_optional_schema(queue)
    truth = _pseudonymise(truth, salt)
    outcomes_view = _pseudonymise(past_outcomes, salt)
    return _assemble(
        scenario_id=CLOSED_CASES,
        title="Closed cases of the agency (pseudonymised)",
        seed=seed,
        budget=budget,
        time_limit_seconds=None,
        aids=aids,
        source="cases",
        debrief="Real declarations whose outcomes were recorded; parties are pseudonymised.",
        indicators=[],
        history=_pseudonymise(history, salt),
        outcomes=outcomes_view,
        queue=_pseudonymise(queue, salt),
        truth=truth,
        with_model=with_model,
    )


def with_optional_schema(frame: pl.DataFrame) -> pl.DataFrame:
    return conform(frame, VIEW_SCHEMA)
