"""⑥ The replay: selection strategies compared on past declarations, each learning only from what it inspects.

    from borderwatch.feedback.replay import SimulationConfig, simulate
    document = simulate(declarations=d, outcomes=o, strategies=["borderwatch", "exploit"])

Strategies are objects behind one protocol (``Strategy``), chosen by name (``get_strategy``); the production
ones call the production scorer (``scoring.scorer.Scorer``) and lane engine.
"""

from borderwatch.feedback.replay.data import SimulationConfig, SimulationError
from borderwatch.feedback.replay.run import plot_precision, run_strategy, simulate
from borderwatch.feedback.replay.strategies import Strategy, Window, get_strategy, register, strategy_names

STRATEGIES: tuple[str, ...] = strategy_names()

__all__ = [
    "STRATEGIES",
    "SimulationConfig",
    "SimulationError",
    "Strategy",
    "Window",
    "get_strategy",
    "plot_precision",
    "register",
    "run_strategy",
    "simulate",
    "strategy_names",
]
