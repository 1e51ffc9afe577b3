"""⑥ Feedback: outcomes → labels, retraining, per-profile monitoring, and the replay of past periods."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["monitor", "replay", "retrain", "stats", "weights"]
