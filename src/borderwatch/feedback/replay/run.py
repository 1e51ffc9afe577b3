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
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from borderwatch.feedback.replay.data import (
    Replay,
    SimulationConfig,
    State,
    fill_features,
    initial_state,
    prepare_replay,
)
from borderwatch.feedback.replay.strategies import Window, get_strategy
from borderwatch.feedback.stats import wilson_interval
from borderwatch.scoring.profiles import RiskProfile, default_profiles


def run_strategy(
    name: str,
    replay: Replay,
    *,
    profiles: Sequence[RiskProfile],
    config: SimulationConfig,
    watched: np.ndarray[Any, Any] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """One strategy replayed window by window: ``{"windows": [...], "summary": {...}}``."""
    strategy = get_strategy(name)
    rng = np.random.default_rng(config.seed)
    state = initial_state(name, replay, profiles, uses_features=strategy.uses_features)
    for index, (first, rows) in enumerate(replay.windows):
        if progress:
            progress(name, index, len(replay.windows))
        n = int(rows.size)
        k = min(n, math.floor(config.rate / 100 * n + 0.5))
        if strategy.uses_features:
            fill_features(replay, state, rows, profiles)
        strategy.train(replay, state, config)
        selected, control = strategy.select(
            Window(replay=replay, state=state, rows=rows, k=k, config=config, rng=rng)
        )
        state.revealed[selected] = True
        state.recorded[selected] = int(replay.days[rows].max())
        state.control.extend(int(r) for r in control)
        metrics = _window_metrics(replay, first, rows, selected)
        if watched is not None:
            metrics["watched_frauds"] = int((replay.fraud[rows] * watched[rows]).sum())
            metrics["watched_found"] = int((replay.fraud[selected] * watched[selected]).sum())
        state.windows.append(metrics)
    return {"windows": state.windows, "summary": _summary(replay, state)}


def _worker(
    name: str,
    declarations: pl.DataFrame,
    outcomes: pl.DataFrame,
    config: SimulationConfig,
    watch: Collection[str],
) -> dict[str, Any]:
    """One strategy in a worker process (each prepares its own replay: cheap next to the retraining)."""
    replay = prepare_replay(declarations, outcomes, config)
    profiles = default_profiles() if config.profiles is None else list(config.profiles)
    watched = replay.decl["lrn"].is_in(list(watch)).to_numpy() if watch else None
    return run_strategy(name, replay, profiles=profiles, config=config, watched=watched, progress=None)


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
    for name in strategies:
        get_strategy(name)  # an unknown name fails here, before any work
    replay = prepare_replay(declarations, outcomes, config)
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
            results[name] = run_strategy(
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
    replay: Replay, first: date, rows: np.ndarray[Any, Any], selected: np.ndarray[Any, Any]
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


def _summary(replay: Replay, state: State) -> dict[str, Any]:
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
