"""③ Risk scoring: features → fraud and duty models, risk profiles, anomaly flags, explained scores."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = [
    "anomaly",
    "documents",
    "evaluate",
    "explain",
    "manifest",
    "model",
    "models",
    "online",
    "profile_store",
    "profiles",
    "ranking",
    "registry",
    "risk_model",
    "vehicles",
]
