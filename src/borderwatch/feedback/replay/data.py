"""The replay's data: declarations in date order, their label-free features, and each strategy's state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from borderwatch.features.build import build_features, numeric_feature_names
from borderwatch.features.history import hit_rates, rate_feature_names, rate_tables
from borderwatch.feedback.weights import IPW_CAP
from borderwatch.ingest.frame import DECLARATION_SCHEMA, OUTCOME_SCHEMA, conform
from borderwatch.lanes.policy import CONTROL_RATE
from borderwatch.scoring.anomaly import detect_anomalies
from borderwatch.scoring.model import CATEGORICAL, ModelParams, feature_matrix, fit_vocabulary
from borderwatch.scoring.profiles import RiskProfile, evaluate_profiles
from borderwatch.scoring.scorer import Scorer

# The party ids run to tens of thousands of values: integer codes, not LightGBM categories.
PLAIN_CODES = ["importer_id", "declarant_id", "seller_id", "courier_id"]
PLAIN_CATEGORICAL = [
    "office",
    "process_type",
    "import_type",
    "import_use",
    "payment_type",
    "transport_mode",
    "departure_country",
    "origin_country",
    "origin_indicator",
    "hs_code",
    "tax_type",
]
PLAIN_NUMERIC = ["customs_value", "net_mass", "tax_rate"]
PLAIN_NAMES = [*PLAIN_NUMERIC, *PLAIN_CODES, *PLAIN_CATEGORICAL]  # the plain matrix's columns, in order
PLAIN_ROUNDS = 100  # LightGBM's default number of boosting rounds


class SimulationError(ValueError):
    """Input the replay cannot run on (too little data, unknown strategy)."""


@dataclass(frozen=True)
class SimulationConfig:
    """The replay's knobs; every production parameter (control rate, weight cap, model parameters and
    revenue share) defaults to the production value, read from where production reads it."""

    rate: float = 10.0
    window: int = 7
    history_days: int = 30
    seed: int = 42
    hybrid_share: float = 0.1
    control_rate: float = CONTROL_RATE
    ipw_clip: float = IPW_CAP
    # The production model's hyper-parameters (scoring.model.ModelParams), for every learning strategy.
    params: ModelParams = field(default_factory=ModelParams)
    profiles: tuple[RiskProfile, ...] | None = None  # None: the shipped default profiles


@dataclass
class Replay:
    """Everything shared by the strategies: one row per declaration, in date order."""

    decl: pl.DataFrame  # declarations (first goods item), sorted by date
    frame: pl.DataFrame  # label-free features of every declaration (+ row_id, keys, duty at stake)
    static: np.ndarray[Any, np.dtype[np.float64]]  # its feature matrix; hit-rate columns are per strategy
    rate_columns: list[int]  # positions of the hit-rate features in the matrix
    fraud: np.ndarray[Any, np.dtype[np.int8]]
    duty: np.ndarray[Any, np.dtype[np.float64]]
    days: np.ndarray[Any, np.dtype[np.int64]]
    start: date
    dates: np.ndarray[Any, Any]  # day index -> date (datetime64[D]) for every day of the replay
    history: np.ndarray[Any, np.dtype[np.intp]]
    windows: list[tuple[date, np.ndarray[Any, np.dtype[np.intp]]]]
    vocabulary: dict[str, dict[str, int]]
    names: list[str]  # feature matrix columns: numeric features then categorical codes
    plain: np.ndarray[Any, np.dtype[np.float64]]
    anomaly_points: np.ndarray[Any, np.dtype[np.float64]]  # label-free, as the scorer adds them
    duty_at_stake: np.ndarray[Any, np.dtype[np.float64]]  # the scored goods item's, as the scorer ranks by it


@dataclass
class State:
    """One strategy's view: what it has revealed, its features and rule points, and its current model."""

    name: str
    revealed: np.ndarray[Any, np.dtype[np.bool_]]
    recorded: np.ndarray[Any, np.dtype[np.int64]]  # day index the label was revealed (-1: not)
    weight: np.ndarray[Any, np.dtype[np.float64]]
    features: np.ndarray[Any, np.dtype[np.float64]]  # hit rates filled window by window, then frozen
    points: np.ndarray[Any, np.dtype[np.float64]]  # risk profile points
    forced: list[str | None]  # risk profile forced lane
    windows: list[dict[str, Any]] = field(default_factory=list)
    control: list[int] = field(default_factory=list)
    scorer: Scorer | None = None  # the production scorer (borderwatch, exploit-features)


def prepare_replay(declarations: pl.DataFrame, outcomes: pl.DataFrame, config: SimulationConfig) -> Replay:
    decl = conform(declarations, DECLARATION_SCHEMA)
    labels = (
        conform(outcomes, OUTCOME_SCHEMA)
        .group_by("lrn")
        .agg(pl.col("fraud").max().cast(pl.Int8).alias("_fraud"))
    )
    # One row per declaration (the first goods item carries it; duty at stake sums the items).
    decl = (
        decl.with_columns((pl.col("customs_value") * pl.col("tax_rate").fill_null(0) / 100).alias("_duty"))
        .sort("declared_on", "lrn", "item_no")
        .with_columns(pl.col("_duty").sum().over("lrn"))
        .unique("lrn", keep="first", maintain_order=True)
        .join(labels, on="lrn", how="inner", maintain_order="left")
    )
    if decl.height == 0:
        raise SimulationError("no declaration has an outcome to replay")
    start = decl["declared_on"].min()
    assert isinstance(start, date)
    offsets = decl.select((pl.col("declared_on") - pl.lit(start)).dt.total_days()).to_series()
    days = offsets.to_numpy().astype(np.int64)
    last = int(days.max())
    if last < config.history_days + 1:
        raise SimulationError(
            f"the data cover {last + 1} days; the replay needs more than {config.history_days} days"
        )
    # Counts, recency and unit-value positions use earlier declarations only, never labels: compute them
    # once for everything; hit rates depend on each strategy's labels and are filled in window by window.
    frame = build_features(
        declarations=decl.select(list(DECLARATION_SCHEMA)),
        history=decl.head(0).select(list(DECLARATION_SCHEMA)),
        outcomes=pl.DataFrame(schema=OUTCOME_SCHEMA),
    )
    # Category codes carry no label information, so one vocabulary serves the whole replay.
    vocabulary = fit_vocabulary(frame, CATEGORICAL)
    plain = feature_matrix(frame, fit_vocabulary(frame, [*PLAIN_CODES, *PLAIN_CATEGORICAL]), PLAIN_NUMERIC)
    numeric = numeric_feature_names()
    history = np.flatnonzero(days < config.history_days)
    windows = []
    for first in range(config.history_days, last + 1, config.window):
        rows = np.flatnonzero((days >= first) & (days < first + config.window))
        if rows.size:
            windows.append((start + timedelta(days=first), rows))
    return Replay(
        decl=decl.select(list(DECLARATION_SCHEMA)),
        frame=frame,
        static=feature_matrix(frame, vocabulary, numeric),
        rate_columns=[numeric.index(name) for name in rate_feature_names()],
        fraud=decl["_fraud"].to_numpy().astype(np.int8),
        duty=decl["_duty"].fill_null(0.0).to_numpy().astype(np.float64),
        days=days,
        start=start,
        dates=np.arange(np.datetime64(start, "D"), np.datetime64(start, "D") + last + 1),
        history=history,
        windows=windows,
        vocabulary=vocabulary,
        names=[*numeric, *vocabulary],
        plain=plain,
        anomaly_points=detect_anomalies(frame)["anomaly_points"].to_numpy().astype(np.float64),
        duty_at_stake=frame["duty_at_stake"].cast(pl.Float64).to_numpy(),
    )


def fill_features(
    replay: Replay, state: State, rows: np.ndarray[Any, Any], profiles: Sequence[RiskProfile]
) -> None:
    """Hit-rate features of ``rows`` from the labels ``state`` revealed, recorded before each row's date
    (scoring's own ``rate_tables``/``hit_rates``); they never change afterwards, so they are kept."""
    known = np.flatnonzero(state.revealed)
    labelled = replay.frame[known].with_columns(
        pl.Series("recorded_on", replay.dates[state.recorded[known]]),
        pl.Series("fraud", replay.fraud[known]),
    )
    targets = replay.frame[rows]
    overall, tables = rate_tables(labelled, targets)
    rates = targets.select("row_id").join(
        hit_rates(targets, overall, tables), on="row_id", how="left", maintain_order="left"
    )
    state.features[np.ix_(rows, np.asarray(replay.rate_columns, dtype=np.intp))] = (
        rates.select(rate_feature_names()).to_numpy().astype(np.float64)
    )
    if profiles:
        current = targets.with_columns(rates.select(rate_feature_names()))
        rules = evaluate_profiles(current, profiles)
        state.points[rows] = rules["rule_points"].fill_null(0.0).to_numpy()
        for row, lane in zip(rows, rules["forced_lane"].to_list(), strict=True):
            state.forced[int(row)] = lane


def initial_state(
    name: str, replay: Replay, profiles: Sequence[RiskProfile], *, uses_features: bool
) -> State:
    """A strategy's state before the first window: the history revealed, and (for a strategy that uses
    them) its hit-rate features and rule points filled in."""
    n_total = replay.fraud.size
    state = State(
        name=name,
        revealed=np.zeros(n_total, dtype=bool),
        recorded=np.full(n_total, -1, dtype=np.int64),
        weight=np.ones(n_total, dtype=np.float64),
        features=replay.static.copy() if uses_features else replay.static[:0],
        points=np.zeros(n_total, dtype=np.float64),
        forced=[None] * n_total,
    )
    state.revealed[replay.history] = True
    state.recorded[replay.history] = replay.days[replay.history]
    if uses_features:
        # History rows see history outcomes day by day, exactly like later rows.
        fill_features(replay, state, replay.history, profiles)
    return state
