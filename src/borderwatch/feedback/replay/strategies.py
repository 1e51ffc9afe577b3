"""Selection strategies of the replay: one protocol, one registry by name.

A strategy trains on what it has revealed (``train``) and picks k rows of a window (``select``). The
production strategies call the production scorer (``scoring.scorer.Scorer``) and the production lane engine;
nothing of the scorer is rebuilt here. Add a strategy by decorating a class with ``@register``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

import lightgbm as lgb
import numpy as np
import polars as pl

from borderwatch.core.vocabulary import BASIS_CONTROL, BASIS_MANDATORY
from borderwatch.feedback.replay.data import (
    PLAIN_CATEGORICAL,
    PLAIN_NAMES,
    PLAIN_ROUNDS,
    Replay,
    SimulationConfig,
    SimulationError,
    State,
)
from borderwatch.feedback.weights import ipw_weights
from borderwatch.lanes.engine import assign_lanes_frame
from borderwatch.lanes.policy import LanePolicy
from borderwatch.scoring.scorer import Scorer

Rows = np.ndarray[Any, Any]
_FORCED_ORDER = {"red": 3.0, "yellow": 2.0, "green": 0.0}


@dataclass(frozen=True)
class Window:
    """One window to select from: its rows, the budget k, and the strategy's view of the replay."""

    replay: Replay
    state: State
    rows: Rows
    k: int
    config: SimulationConfig
    rng: np.random.Generator


class Strategy(Protocol):
    """How one policy selects: ``uses_features`` asks the replay for the hit-rate features and risk-profile
    points of each window (from the labels this strategy revealed) before ``train`` and ``select``."""

    name: ClassVar[str]
    uses_features: ClassVar[bool]

    def train(self, replay: Replay, state: State, config: SimulationConfig) -> None: ...

    def select(self, window: Window) -> tuple[Rows, Rows]:
        """(selected rows, of which control/exploration rows) of ``window.rows``."""
        ...


_REGISTRY: dict[str, Callable[[], Strategy]] = {}
T = TypeVar("T", bound=type[Strategy])


def register(cls: T) -> T:
    """Class decorator: the strategy becomes available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def get_strategy(name: str) -> Strategy:
    """A new instance of the strategy called ``name``."""
    if name not in _REGISTRY:
        raise SimulationError(f"unknown strategy {name!r}; choose from {', '.join(_REGISTRY)}")
    return _REGISTRY[name]()


def strategy_names() -> tuple[str, ...]:
    """The registered strategies, in registration order."""
    return tuple(_REGISTRY)


def top(rows: Rows, scores: Rows, k: int, rng: np.random.Generator) -> Any:
    """The k rows with the highest score (ties broken at random)."""
    if k <= 0:
        return rows[:0]
    order = np.lexsort((rng.random(rows.size), -scores))
    return rows[order[:k]]


@register
class RandomStrategy:
    """k at random."""

    name: ClassVar[str] = "random"
    uses_features: ClassVar[bool] = False

    def train(self, replay: Replay, state: State, config: SimulationConfig) -> None:
        del replay, state, config

    def select(self, window: Window) -> tuple[Rows, Rows]:
        return window.rng.choice(window.rows, size=window.k, replace=False), window.rows[:0]


@register
class RulesStrategy(RandomStrategy):
    """Risk profiles only: forced lanes first, then points; ties at random."""

    name: ClassVar[str] = "rules"
    uses_features: ClassVar[bool] = True

    def select(self, window: Window) -> tuple[Rows, Rows]:
        rows, state = window.rows, window.state
        forced = np.array([_FORCED_ORDER.get(state.forced[int(r)] or "", 1.0) for r in rows])
        return top(rows, forced * 1e6 + state.points[rows], window.k, window.rng), rows[:0]


@register
class ExploitStrategy:
    """Plain LightGBM on the raw columns with its default settings (what an agency gets from a plain model):
    goods, route and procedure columns as LightGBM categories, party ids as integer codes; top-k."""

    name: ClassVar[str] = "exploit"
    uses_features: ClassVar[bool] = False

    def __init__(self) -> None:
        self.model: lgb.Booster | None = None

    def train(self, replay: Replay, state: State, config: SimulationConfig) -> None:
        """LightGBM's defaults on the revealed rows; only the objective, the seed, determinism, one thread and
        silence are set."""
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
        self.model = lgb.train(params, dataset, PLAIN_ROUNDS)

    def probability(self, replay: Replay, rows: Rows) -> np.ndarray[Any, np.dtype[np.float64]]:
        assert self.model is not None
        return np.asarray(self.model.predict(replay.plain[rows]), dtype=np.float64)

    def select(self, window: Window) -> tuple[Rows, Rows]:
        rows = window.rows
        return top(rows, self.probability(window.replay, rows), window.k, window.rng), rows[:0]


@register
class HybridStrategy(ExploitStrategy):
    """The plain model's top (1 - share) of k plus a random share of exploration (epsilon-greedy)."""

    name: ClassVar[str] = "hybrid"

    def select(self, window: Window) -> tuple[Rows, Rows]:
        rows, k, rng = window.rows, window.k, window.rng
        explore = min(k, math.floor(window.config.hybrid_share * k + 0.5))
        chosen = top(rows, self.probability(window.replay, rows), k - explore, rng)
        rest = np.setdiff1d(rows, chosen)
        extra = rng.choice(rest, size=min(explore, rest.size), replace=False)
        return np.concatenate([chosen, extra]), extra


@register
class BorderwatchStrategy:
    """The production policy: the production scorer (fraud and evaded-duty models, revenue share, anomaly and
    profile points) on borderwatch's time-safe features, the lane engine with the default policy and a budget
    of k (mandatory rules, the seeded control sample, red by score), retrained with inverse-propensity
    weights capped as in production."""

    name: ClassVar[str] = "borderwatch"
    uses_features: ClassVar[bool] = True
    weighted: ClassVar[bool] = True

    def __init__(self) -> None:
        self.scorer: Scorer | None = None

    def train(self, replay: Replay, state: State, config: SimulationConfig) -> None:
        rows = np.flatnonzero(state.revealed)
        self.scorer = Scorer.fit(
            state.features[rows],
            fraud=replay.fraud[rows],
            duty_at_stake=replay.duty_at_stake[rows],
            weight=state.weight[rows] if self.weighted else np.ones(rows.size),
            names=replay.names,
            categorical=list(replay.vocabulary),
            params=config.params,
            seed=config.seed,
        )
        state.scorer = self.scorer

    def scores(
        self, replay: Replay, state: State, rows: Rows, probability: np.ndarray[Any, np.dtype[np.float64]]
    ) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The production risk score 0-100 of ``rows`` (no watchlist in the replay)."""
        assert self.scorer is not None
        return self.scorer.score(
            state.features[rows],
            duty_at_stake=replay.duty_at_stake[rows],
            anomaly_points=replay.anomaly_points[rows],
            rule_points=state.points[rows],
            probability=probability,
        )

    def select(self, window: Window) -> tuple[Rows, Rows]:
        assert self.scorer is not None
        replay, state, rows, k, config = window.replay, window.state, window.rows, window.k, window.config
        probability = self.scorer.probability(state.features[rows])
        keys = replay.frame[rows].select("lrn", "declared_on", "office", "importer_id", "duty_at_stake")
        scored = keys.with_columns(
            pl.Series("score", self.scores(replay, state, rows, probability)),
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
        order = {BASIS_MANDATORY: 0, BASIS_CONTROL: 1}
        red = (
            decided.filter(pl.col("lane") == "red")
            .with_columns(pl.col("basis").replace_strict(order, default=2, return_dtype=pl.Int8).alias("_o"))
            .sort(["_o", "priority"], descending=[False, True])
            .head(k)
        )
        selected = red["_row"].to_numpy()
        state.weight[selected] = ipw_weights(red["selection_probability"], clip=config.ipw_clip).to_numpy()
        return selected, red.filter(pl.col("control"))["_row"].to_numpy()


@register
class ExploitFeaturesStrategy(BorderwatchStrategy):
    """Ablation: the same scorer and score, unweighted, top-k, no control sample: what the control sample
    costs in precision."""

    name: ClassVar[str] = "exploit-features"
    weighted: ClassVar[bool] = False

    def select(self, window: Window) -> tuple[Rows, Rows]:
        assert self.scorer is not None
        rows = window.rows
        probability = self.scorer.probability(window.state.features[rows])
        scores = self.scores(window.replay, window.state, rows, probability)
        return top(rows, scores, window.k, window.rng), rows[:0]
