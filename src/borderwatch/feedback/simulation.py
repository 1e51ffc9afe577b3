"""Replay simulation: how selection strategies fare when they only learn from what they inspect.

Declarations are replayed in date order. The first ``history_days`` are fully labelled history.
Then, window by window, each strategy selects ``k = round(rate % x n)`` of the window's n declarations using
only the labels it has revealed so far (its own selections, including its exploration/control draws), the
outcomes of its selections are revealed (recorded on the window's last day) and model strategies retrain.

Strategies:

- ``random``: k at random;
- ``rules``: risk profiles only (points, forced lanes first; ties at random);
- ``exploit``: plain LightGBM on the raw columns with its default settings (what an agency gets from a plain
  model): goods, route and procedure columns as LightGBM categories, party ids as integer codes; top-k;
- ``hybrid``: the same plain model, top (1 - share) of k plus a random share of exploration (epsilon-greedy);
- ``borderwatch``: the production policy: borderwatch's time-safe features (scoring's feature builder), the
  scorer's fraud and evaded-duty models and its score (ranking by fraud probability and revenue at risk,
  anomaly and risk-profile points), the lane engine with its default policy and a budget of k (mandatory
  rules, the seeded control sample, red by score), retrained with inverse-propensity weights;
- ``exploit-features`` (ablation): the same models and score, unweighted, top-k, no control sample: what the
  control sample costs in precision.

Features come from scoring's feature builder: counts, recency and unit-value positions (label-free) once for
all declarations; hit rates from each strategy's revealed labels once per window for that window's rows
(``rate_tables``/``hit_rates``). A row's features use nothing recorded on or after its date, so they never
change afterwards and are reused for training (incremental).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from borderwatch.features.build import build_features, numeric_feature_names
from borderwatch.features.history import hit_rates, rate_feature_names, rate_tables
from borderwatch.feedback.stats import wilson_interval
from borderwatch.feedback.weights import ipw_weights
from borderwatch.ingest.frame import DECLARATION_SCHEMA, OUTCOME_SCHEMA, conform
from borderwatch.lanes.engine import assign_lanes_frame
from borderwatch.lanes.policy import LanePolicy
from borderwatch.scoring.anomaly import detect_anomalies
from borderwatch.scoring.model import (
    CATEGORICAL,
    ModelParams,
    feature_matrix,
    fit_vocabulary,
    train_boosters,
)
from borderwatch.scoring.profiles import RiskProfile, default_profiles, evaluate_profiles
from borderwatch.scoring.ranking import RankingReference
from borderwatch.scoring.service import risk_score

_FORCED_ORDER = {"red": 3.0, "yellow": 2.0, "green": 0.0}
STRATEGIES: tuple[str, ...] = ("random", "rules", "exploit", "hybrid", "borderwatch", "exploit-features")
PLAIN_MODEL = frozenset({"exploit", "hybrid"})
PRODUCTION_RANKING = frozenset({"borderwatch", "exploit-features"})  # the scorer's score, not the probability
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
    rate: float = 10.0
    window: int = 7
    history_days: int = 30
    seed: int = 42
    hybrid_share: float = 0.1
    control_rate: float = 0.01
    ipw_clip: float = 10.0
    # The production model's hyper-parameters (scoring.model.ModelParams), for every learning strategy.
    params: ModelParams = field(default_factory=ModelParams)
    profiles: tuple[RiskProfile, ...] | None = None  # None: the shipped default profiles


@dataclass
class _Replay:
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


@dataclass(frozen=True)
class _Ranker:
    """What the scorer ranks with besides the fraud model (``scoring.ranking``)."""

    duty: lgb.Booster
    reference: RankingReference


@dataclass
class _State:
    name: str
    revealed: np.ndarray[Any, np.dtype[np.bool_]]
    recorded: np.ndarray[Any, np.dtype[np.int64]]  # day index the label was revealed (-1: not)
    weight: np.ndarray[Any, np.dtype[np.float64]]
    features: np.ndarray[Any, np.dtype[np.float64]]  # hit rates filled window by window, then frozen
    points: np.ndarray[Any, np.dtype[np.float64]]  # risk profile points
    forced: list[str | None]  # risk profile forced lane
    windows: list[dict[str, Any]] = field(default_factory=list)
    control: list[int] = field(default_factory=list)
    model: lgb.Booster | None = None
    ranker: _Ranker | None = None  # borderwatch: the evaded-duty model and ranking reference beside ``model``


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
    return _Replay(
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


def _fill_features(
    replay: _Replay, state: _State, rows: np.ndarray[Any, Any], profiles: Sequence[RiskProfile]
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


def _train_plain(replay: _Replay, state: _State, config: SimulationConfig) -> lgb.Booster:
    """The plain model of ``exploit`` and ``hybrid`` on the revealed rows: LightGBM's defaults, only the
    objective, the seed, determinism, one thread and silence are set."""
    rows = np.flatnonzero(state.revealed)
    dataset = lgb.Dataset(
        replay.plain[rows],
        label=replay.fraud[rows],
        feature_name=PLAIN_NAMES,
        categorical_feature=PLAIN_CATEGORICAL,
    )
    params = {
        "objective": "binary",
        "seed": config.seed,
        "deterministic": True,
        "num_threads": 1,
        "verbose": -1,
    }
    return lgb.train(params, dataset, PLAIN_ROUNDS)


def _train_production(
    replay: _Replay, state: _State, config: SimulationConfig, *, weighted: bool
) -> tuple[lgb.Booster, _Ranker]:
    """The scorer's fraud and evaded-duty models on the revealed rows, and its ranking reference (their
    in-sample predictions), as ``train_risk_model`` fits them."""
    rows = np.flatnonzero(state.revealed)
    matrix = state.features[rows]
    duty = replay.duty_at_stake[rows]
    fraud, evaded = train_boosters(
        matrix,
        fraud=replay.fraud[rows],
        duty=np.nan_to_num(duty, nan=0.0),
        weight=state.weight[rows] if weighted else np.ones(rows.size),
        names=replay.names,
        categorical=list(replay.vocabulary),
        params=config.params,
        seed=config.seed,
    )
    reference = RankingReference.fit(
        probability=np.asarray(fraud.predict(matrix), dtype=np.float64),
        duty_at_stake=duty,
        evaded_duty=np.asarray(evaded.predict(matrix), dtype=np.float64),
    )
    return fraud, _Ranker(duty=evaded, reference=reference)


def _scores(
    replay: _Replay,
    state: _State,
    rows: np.ndarray[Any, Any],
    probability: np.ndarray[Any, Any],
    *,
    share: float,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The scorer's risk score 0-100 of ``rows``: its ranking (fraud probability and revenue at risk), plus
    anomaly points and risk-profile points (no watchlist in the replay)."""
    assert state.ranker is not None
    ranking = state.ranker.reference.positions(
        probability=probability,
        duty_at_stake=replay.duty_at_stake[rows],
        evaded_duty=np.asarray(state.ranker.duty.predict(state.features[rows]), dtype=np.float64),
        revenue_share=share,
    ).ranking
    frame = pl.DataFrame(
        {"ranking": ranking, "anomaly": replay.anomaly_points[rows], "points": state.points[rows]}
    )
    score = frame.select(risk_score(pl.col("ranking"), pl.col("anomaly"), pl.col("points")))
    return score.to_series().to_numpy().astype(np.float64)


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
        forced = np.array([_FORCED_ORDER.get(state.forced[int(r)] or "", 1.0) for r in rows])
        return _top(rows, forced * 1e6 + state.points[rows], k, rng), empty
    assert state.model is not None
    matrix = replay.plain[rows] if name in PLAIN_MODEL else state.features[rows]
    probability = np.asarray(state.model.predict(matrix), dtype=np.float64)
    if name == "exploit":
        return _top(rows, probability, k, rng), empty
    if name == "exploit-features":
        return _top(
            rows, _scores(replay, state, rows, probability, share=config.params.revenue_share), k, rng
        ), empty
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
        pl.Series("score", _scores(replay, state, rows, probability, share=config.params.revenue_share)),
        pl.Series("fraud_probability", probability),
        (pl.Series("fraud_probability", probability) * pl.col("duty_at_stake")).alias("expected_duty"),
        pl.Series("forced_lane", [state.forced[int(r)] for r in rows], dtype=pl.String),
        pl.Series("_row", rows),
    )
    policy = LanePolicy(version="simulation", control_rate=config.control_rate, seed=config.seed)
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


def _initial_state(name: str, replay: _Replay, profiles: Sequence[RiskProfile]) -> _State:
    """A strategy's state before the first window: the history revealed, and its features filled in."""
    n_total = replay.fraud.size
    uses_features = name not in {"random", *PLAIN_MODEL}
    state = _State(
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
        _fill_features(replay, state, replay.history, profiles)
    return state


def _run_strategy(
    name: str,
    replay: _Replay,
    *,
    profiles: Sequence[RiskProfile],
    config: SimulationConfig,
    watched: np.ndarray[Any, Any] | None,
    progress: Callable[[str, int, int], None] | None,
) -> dict[str, Any]:
    rng = np.random.default_rng(config.seed)
    state = _initial_state(name, replay, profiles)
    uses_model = name not in {"random", "rules"}
    uses_features = name not in {"random", *PLAIN_MODEL}
    for index, (first, rows) in enumerate(replay.windows):
        if progress:
            progress(name, index, len(replay.windows))
        n = int(rows.size)
        k = min(n, math.floor(config.rate / 100 * n + 0.5))
        if uses_features:
            _fill_features(replay, state, rows, profiles)
        if name in PRODUCTION_RANKING:
            state.model, state.ranker = _train_production(
                replay, state, config, weighted=name == "borderwatch"
            )
        elif uses_model:
            state.model = _train_plain(replay, state, config)
        selected, control = _select(name, replay, state, rows=rows, k=k, config=config, rng=rng)
        state.revealed[selected] = True
        state.recorded[selected] = int(replay.days[rows].max())
        state.control.extend(int(r) for r in control)
        metrics = _window_metrics(replay, first, rows, selected)
        if watched is not None:
            metrics["watched_frauds"] = int((replay.fraud[rows] * watched[rows]).sum())
            metrics["watched_found"] = int((replay.fraud[selected] * watched[selected]).sum())
        state.windows.append(metrics)
    return {"windows": state.windows, "summary": _summary(replay, state, name)}


def _worker(
    name: str,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: SimulationConfig,
    watch: Collection[str],
) -> dict[str, Any]:
    """One strategy in a worker process (each prepares its own replay: cheap next to the retraining)."""
    replay = _prepare(declarations, outcomes, config)
    profiles = default_profiles() if config.profiles is None else list(config.profiles)
    watched = replay.decl["lrn"].is_in(list(watch)).to_numpy() if watch else None
    return _run_strategy(name, replay, profiles=profiles, config=config, watched=watched, progress=None)


def simulate(
    *,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    strategies: Sequence[str],
    config: SimulationConfig | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    watch: Collection[str] = (),
    workers: int = 1,
) -> dict[str, Any]:
    """Runs the replay for each strategy and returns the result document (see module docstring).

    ``{"strategies": {NAME: {"windows": [...], "summary": {...}}}, "true_fraud_rate": ..., "config": ...}``;
    the ``borderwatch`` and ``hybrid`` summaries add ``control_estimate`` (fraud rate among their random
    draws, with a 95 % Wilson interval) and ``model_picks`` (the pooled precision of the rest of the budget,
    and the share of the budget the random draws took). With ``watch`` (LRNs of a pattern of interest), every
    window also reports ``watched_frauds`` and ``watched_found``: how many of its frauds are watched, and
    found.
    ``workers`` > 1 replays strategies in parallel processes (same results: each strategy has its own seeded
    random generator); ``progress`` then reports each strategy once, when it finishes.
    """
    config = config or SimulationConfig()
    unknown = [name for name in strategies if name not in STRATEGIES]
    if unknown:
        raise SimulationError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    replay = _prepare(declarations, outcomes, config)
    profiles = default_profiles() if config.profiles is None else list(config.profiles)
    document: dict[str, Any] = {"strategies": {}}
    replayed = np.concatenate([rows for _, rows in replay.windows])
    watched = replay.decl["lrn"].is_in(list(watch)).to_numpy() if watch else None
    results: dict[str, dict[str, Any]] = {}
    if workers > 1 and len(strategies) > 1:
        # Spawned, not forked: Polars' thread pool does not survive a fork.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {
                pool.submit(_worker, name, declarations, outcomes, config, watch): name for name in strategies
            }
            for done, future in enumerate(as_completed(futures)):
                results[futures[future]] = future.result()
                if progress:
                    progress(futures[future], done, len(strategies))
    else:
        for name in strategies:
            results[name] = _run_strategy(
                name, replay, profiles=profiles, config=config, watched=watched, progress=progress
            )
    for name in strategies:
        document["strategies"][name] = results[name]
    document["true_fraud_rate"] = float(replay.fraud[replayed].mean())
    document["config"] = {
        "rate": config.rate,
        "window": config.window,
        "history_days": config.history_days,
        "seed": config.seed,
        "control_rate": config.control_rate,
        "hybrid_share": config.hybrid_share,
        "declarations": int(replay.fraud.size),
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
        # What the budget's random draws cost: the precision of the picks the model made, and the share of
        # the budget the draws took (their own precision is the control estimate).
        summary["model_picks"] = {
            "precision": (found - hits) / (selected - len(state.control))
            if selected > len(state.control)
            else 0.0,
            "random_share": len(state.control) / selected if selected else 0.0,
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
