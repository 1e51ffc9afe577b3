"""Replay simulation: how selection strategies fare when they only learn from what they inspect.

Declarations are replayed in date order. The first ``history_days`` are fully labelled history.
Then, window by window, each strategy selects ``k = round(rate % x n)`` of the window's n declarations using
only the labels it has revealed so far (its own selections, including its exploration/control draws), the
outcomes of its selections are revealed (recorded on the window's last day) and model strategies retrain.

Strategies:

- ``random``: k at random;
- ``rules``: risk profiles only (points, forced lanes first; ties at random);
- ``exploit``: plain LightGBM on the raw columns, label-encoded (the issue's reference model), top-k;
- ``exploit-features``: borderwatch's time-safe features (scoring's feature builder), top-k, no exploration;
- ``hybrid``: the feature model, top (1 - share) of k plus a random share of exploration, unweighted;
- ``borderwatch``: the production policy: the feature model, the lane engine with a budget of k (mandatory
  rules, the seeded control sample, red by expected value), retrained with inverse-propensity weights.

Label-free features (counts, recency, unit value) are computed once for all declarations; hit-rate features
depend on each strategy's revealed labels and are computed once per window for that window's rows only: a
row's features use only outcomes recorded before its date, so they never change afterwards (incremental).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import polars as pl

from borderwatch.features.build import build_features, numeric_feature_names
from borderwatch.features.history import hit_rates, rate_feature_names
from borderwatch.feedback.stats import wilson_interval
from borderwatch.feedback.weights import ipw_weights
from borderwatch.ingest.frame import DECLARATION_SCHEMA, OUTCOME_SCHEMA, conform
from borderwatch.lanes.engine import assign_lanes_frame
from borderwatch.lanes.policy import LanePolicy
from borderwatch.scoring.model import CATEGORICAL, ModelParams, feature_matrix, fit_vocabulary, lgb_params
from borderwatch.scoring.profiles import RiskProfile, evaluate_profiles

STRATEGIES: tuple[str, ...] = ("random", "rules", "exploit", "exploit-features", "hybrid", "borderwatch")
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
    "importer_id",
    "declarant_id",
    "seller_id",
    "courier_id",
    "hs_code",
    "tax_type",
]
PLAIN_NUMERIC = ["customs_value", "net_mass", "tax_rate"]


class SimulationError(ValueError):
    """Input the replay cannot run on (too little data, unknown strategy)."""


@dataclass(frozen=True)
class SimulationConfig:
    rate: float = 10.0
    window: int = 7
    history_days: int = 30
    seed: int = 42
    hybrid_share: float = 0.1
    control_rate: float = 0.01
    ipw_clip: float = 5.0
    rounds: int = 150
    params: ModelParams = field(
        default_factory=lambda: ModelParams(learning_rate=0.06, num_leaves=15, min_data_in_leaf=20)
    )
    profiles: tuple[RiskProfile, ...] = ()


@dataclass
class _Replay:
    """Everything shared by the strategies: one row per declaration, in date order."""

    frame: pl.DataFrame  # label-free features (+ row_id, key columns) for every declaration
    fraud: np.ndarray[Any, np.dtype[np.int8]]
    duty: np.ndarray[Any, np.dtype[np.float64]]
    days: np.ndarray[Any, np.dtype[np.int64]]
    start: date
    history: np.ndarray[Any, np.dtype[np.intp]]
    windows: list[tuple[date, np.ndarray[Any, np.dtype[np.intp]]]]
    static: np.ndarray[Any, np.dtype[np.float64]]  # numeric label-free + categorical codes
    static_names: list[str]
    plain: np.ndarray[Any, np.dtype[np.float64]]
    rules: pl.DataFrame | None  # rule_points, forced_lane per row (profiles given)


@dataclass
class _State:
    name: str
    revealed: np.ndarray[Any, np.dtype[np.bool_]]
    recorded: np.ndarray[Any, np.dtype[np.int64]]  # day index the label was revealed (-1: not)
    weight: np.ndarray[Any, np.dtype[np.float64]]
    rates: np.ndarray[Any, np.dtype[np.float64]]  # hit-rate features, filled window by window
    windows: list[dict[str, Any]] = field(default_factory=list)
    control: list[int] = field(default_factory=list)
    model: lgb.Booster | None = None


def _prepare(declarations: pl.DataFrame, outcomes: pl.DataFrame, config: SimulationConfig) -> _Replay:
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
        .join(labels, on="lrn", how="inner")
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
    features = build_features(
        declarations=decl.drop("_duty", "_fraud"),
        history=decl.head(0).drop("_duty", "_fraud"),
        outcomes=pl.DataFrame(schema=OUTCOME_SCHEMA),
    )
    rate_names = set(rate_feature_names())
    static_numeric = [n for n in numeric_feature_names() if n not in rate_names]
    vocabulary = fit_vocabulary(features, CATEGORICAL)
    static = feature_matrix(features, vocabulary, static_numeric)
    plain_vocab = fit_vocabulary(features, PLAIN_CATEGORICAL)
    plain = feature_matrix(features, plain_vocab, PLAIN_NUMERIC)
    rules = None
    if config.profiles:
        rules = evaluate_profiles(features, config.profiles).select("rule_points", "forced_lane")
    history = np.flatnonzero(days < config.history_days)
    windows = []
    for first in range(config.history_days, last + 1, config.window):
        rows = np.flatnonzero((days >= first) & (days < first + config.window))
        if rows.size:
            windows.append((start + timedelta(days=first), rows))
    return _Replay(
        frame=features,
        fraud=decl["_fraud"].to_numpy().astype(np.int8),
        duty=decl["_duty"].fill_null(0.0).to_numpy().astype(np.float64),
        days=days,
        start=start,
        history=history,
        windows=windows,
        static=static,
        static_names=[*static_numeric, *vocabulary],
        plain=plain,
        rules=rules,
    )


def _fill_rates(replay: _Replay, state: _State, rows: np.ndarray[Any, Any]) -> None:
    """Hit-rate features of ``rows`` from the labels ``state`` revealed (recorded before each row's day)."""
    known = np.flatnonzero(state.revealed)
    labelled = (
        replay.frame[known]
        .with_columns(
            pl.Series("recorded_on", [replay.start + timedelta(days=int(d)) for d in state.recorded[known]]),
            pl.Series("fraud", replay.fraud[known]),
        )
        .with_columns(pl.col("recorded_on").cast(pl.Date))
    )
    targets = replay.frame[rows]
    # hit_rates returns rows in its own order: align them back by row_id.
    rates = targets.select("row_id").join(hit_rates(targets, labelled), on="row_id", how="left")
    state.rates[rows] = rates.select(rate_feature_names()).to_numpy().astype(np.float64)


def _matrix(replay: _Replay, state: _State, rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.column_stack([replay.static[rows], state.rates[rows]])


def _train(
    replay: _Replay, state: _State, config: SimulationConfig, *, plain: bool, weighted: bool
) -> lgb.Booster:
    rows = np.flatnonzero(state.revealed)
    names: list[str] | None = None
    categorical: list[str] | Literal["auto"] = "auto"
    if plain:
        matrix = replay.plain[rows]
    else:
        matrix = _matrix(replay, state, rows)
        names = [*replay.static_names, *rate_feature_names()]
        categorical = [n for n in names if n in CATEGORICAL]
    dataset = lgb.Dataset(
        matrix,
        label=replay.fraud[rows],
        weight=state.weight[rows] if weighted else None,
        feature_name=names if names else "auto",
        categorical_feature=categorical,
    )
    return lgb.train(lgb_params(config.params, config.seed, "binary"), dataset, config.rounds)


def _top(rows: np.ndarray[Any, Any], scores: np.ndarray[Any, Any], k: int, rng: np.random.Generator) -> Any:
    """The k rows with the highest score (ties broken at random)."""
    if k <= 0:
        return rows[:0]
    order = np.lexsort((rng.random(rows.size), -scores))
    return rows[order[:k]]


def _select(
    name: str,
    replay: _Replay,
    state: _State,
    *,
    rows: np.ndarray[Any, Any],
    k: int,
    config: SimulationConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(selected rows, of which control/exploration rows) for one window."""
    empty = rows[:0]
    if name == "random":
        return rng.choice(rows, size=k, replace=False), empty
    if name == "rules":
        if replay.rules is None:
            return rng.choice(rows, size=k, replace=False), empty
        window = replay.rules[rows]
        forced = (
            window["forced_lane"]
            .fill_null("")
            .replace_strict({"red": 3.0, "yellow": 2.0, "green": 0.0, "": 1.0}, return_dtype=pl.Float64)
        )
        key = forced.to_numpy() * 1e6 + window["rule_points"].fill_null(0.0).to_numpy()
        return _top(rows, key, k, rng), empty
    assert state.model is not None
    matrix = replay.plain[rows] if name == "exploit" else _matrix(replay, state, rows)
    probability = np.asarray(state.model.predict(matrix), dtype=np.float64)
    if name in {"exploit", "exploit-features"}:
        return _top(rows, probability, k, rng), empty
    if name == "hybrid":
        explore = min(k, math.floor(config.hybrid_share * k + 0.5))
        chosen = _top(rows, probability, k - explore, rng)
        rest = np.setdiff1d(rows, chosen)
        extra = rng.choice(rest, size=min(explore, rest.size), replace=False)
        return np.concatenate([chosen, extra]), extra
    return _borderwatch(replay, state, rows=rows, probability=probability, k=k, config=config)


def _borderwatch(
    replay: _Replay,
    state: _State,
    *,
    rows: np.ndarray[Any, Any],
    probability: np.ndarray[Any, Any],
    k: int,
    config: SimulationConfig,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    window = replay.frame[rows].select("lrn", "declared_on", "office", "importer_id", "duty_at_stake")
    scored = window.with_columns(
        pl.Series("fraud_probability", probability),
        (pl.Series("fraud_probability", probability) * pl.col("duty_at_stake")).alias("expected_duty"),
        (
            replay.rules[rows]["forced_lane"]
            if replay.rules is not None
            else pl.Series("forced_lane", [None] * rows.size, dtype=pl.String)
        ),
        pl.Series("_row", rows),
    )
    policy = LanePolicy(
        version="simulation", control_rate=config.control_rate, objective="probability", seed=config.seed
    )
    decided = assign_lanes_frame(scored, policy=policy, red_budget=k, yellow_budget=0).join(
        scored.select("lrn", "_row"), on="lrn"
    )
    # Mandatory and control inspections come first; a budget is a budget, so trim to k.
    order = {"mandatory rule": 0, "control sample": 1}
    red = (
        decided.filter(pl.col("lane") == "red")
        .with_columns(pl.col("basis").replace_strict(order, default=2, return_dtype=pl.Int8).alias("_o"))
        .sort(["_o", "priority"], descending=[False, True])
        .head(k)
    )
    weights = ipw_weights(red["selection_probability"], clip=config.ipw_clip).to_numpy()
    selected = red["_row"].to_numpy()
    state.weight[selected] = weights
    return selected, red.filter(pl.col("control"))["_row"].to_numpy()


def simulate(
    *,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    strategies: Sequence[str],
    config: SimulationConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Runs the replay for each strategy and returns the result document (see module docstring).

    ``{"strategies": {NAME: {"windows": [...], "summary": {...}}}, "true_fraud_rate": ..., "config": ...}``;
    the ``borderwatch`` and ``hybrid`` summaries add ``control_estimate`` (fraud rate among their random
    draws, with a 95 % Wilson interval).
    """
    config = config or SimulationConfig()
    unknown = [name for name in strategies if name not in STRATEGIES]
    if unknown:
        raise SimulationError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    replay = _prepare(declarations, outcomes, config)
    n_total = replay.fraud.size
    rate_width = len(rate_feature_names())
    document: dict[str, Any] = {"strategies": {}}
    replayed = np.concatenate([rows for _, rows in replay.windows])
    for name in strategies:
        rng = np.random.default_rng(config.seed)
        state = _State(
            name=name,
            revealed=np.zeros(n_total, dtype=bool),
            recorded=np.full(n_total, -1, dtype=np.int64),
            weight=np.ones(n_total, dtype=np.float64),
            rates=np.full((n_total, rate_width), np.nan, dtype=np.float64),
        )
        state.revealed[replay.history] = True
        state.recorded[replay.history] = replay.days[replay.history]
        uses_model = name not in {"random", "rules"}
        if uses_model and name != "exploit":
            # History rows see history outcomes day by day, exactly like later rows.
            _fill_rates(replay, state, replay.history)
        for index, (first, rows) in enumerate(replay.windows):
            if progress:
                progress(name, index, len(replay.windows))
            n = int(rows.size)
            k = min(n, math.floor(config.rate / 100 * n + 0.5))
            if uses_model:
                if name != "exploit":
                    _fill_rates(replay, state, rows)
                state.model = _train(
                    replay, state, config, plain=name == "exploit", weighted=name == "borderwatch"
                )
            selected, control = _select(name, replay, state, rows=rows, k=k, config=config, rng=rng)
            state.revealed[selected] = True
            state.recorded[selected] = int(replay.days[rows].max())
            state.control.extend(int(r) for r in control)
            state.windows.append(_window_metrics(replay, first, rows, selected))
        document["strategies"][name] = {
            "windows": state.windows,
            "summary": _summary(replay, state, name),
        }
    document["true_fraud_rate"] = float(replay.fraud[replayed].mean())
    document["config"] = {
        "rate": config.rate,
        "window": config.window,
        "history_days": config.history_days,
        "seed": config.seed,
        "control_rate": config.control_rate,
        "hybrid_share": config.hybrid_share,
        "declarations": int(n_total),
        "replayed": int(replayed.size),
    }
    return document


def _window_metrics(
    replay: _Replay, first: date, rows: np.ndarray[Any, Any], selected: np.ndarray[Any, Any]
) -> dict[str, Any]:
    found = int(replay.fraud[selected].sum())
    frauds = int(replay.fraud[rows].sum())
    fraud_duty = float(replay.duty[rows][replay.fraud[rows] == 1].sum())
    found_duty = float(replay.duty[selected][replay.fraud[selected] == 1].sum())
    return {
        "start": first.isoformat(),
        "n": int(rows.size),
        "k": int(selected.size),
        "frauds_found": found,
        "precision": found / selected.size if selected.size else 0.0,
        "recall": found / frauds if frauds else 0.0,
        "duty_recall": found_duty / fraud_duty if fraud_duty > 0 else 0.0,
        "_frauds": frauds,
        "_fraud_duty": fraud_duty,
        "_found_duty": found_duty,
    }


def _summary(replay: _Replay, state: _State, name: str) -> dict[str, Any]:
    windows = state.windows
    precisions = [w["precision"] for w in windows if w["k"]]
    frauds = sum(w.pop("_frauds") for w in windows)
    fraud_duty = sum(w.pop("_fraud_duty") for w in windows)
    found_duty = sum(w.pop("_found_duty") for w in windows)
    found = sum(w["frauds_found"] for w in windows)
    selected = sum(w["k"] for w in windows)
    summary: dict[str, Any] = {
        "precision": float(np.mean(precisions)) if precisions else 0.0,
        "recall": found / frauds if frauds else 0.0,
        "duty_recall": found_duty / fraud_duty if fraud_duty > 0 else 0.0,
        "precision_last13": float(np.mean(precisions[-13:])) if precisions else 0.0,
        "pooled_precision": found / selected if selected else 0.0,
    }
    if state.control:
        hits = int(replay.fraud[state.control].sum())
        low, high = wilson_interval(hits, len(state.control))
        summary["control_estimate"] = {
            "rate": hits / len(state.control),
            "low": low,
            "high": high,
            "n": len(state.control),
        }
    del name
    return summary


def plot_precision(document: dict[str, Any], path: Path) -> None:
    """Windows' precision per strategy, one line each, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 5))
    for name, result in document["strategies"].items():
        axis.plot(
            [np.datetime64(w["start"]) for w in result["windows"]],
            [w["precision"] for w in result["windows"]],
            label=f"{name} (mean {result['summary']['precision']:.2f})",
        )
    axis.set_ylabel("precision of the window's selections")
    axis.set_xlabel("window start")
    axis.set_ylim(0, 1)
    axis.set_title("Replay: precision per window")
    axis.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
