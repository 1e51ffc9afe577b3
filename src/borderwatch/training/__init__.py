"""Officer training by simulation: scenarios (one YAML file per tactic), exercises built from the synthetic
generator or from closed cases, the trainee's view of each declaration, grading against the ground truth, the
model and a random choice, and the attempts stored per trainee."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["exercise", "grading", "indicators", "models", "scenarios", "service", "view"]
