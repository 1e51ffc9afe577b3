"""Stage ④: scores → red / yellow / green lanes under an inspection budget.

For callers (demo, web): ``borderwatch.lanes.service.assign_lanes(session=..., scored=..., policy=...,
model_version=...)`` decides and stores the lanes of scored declarations (``RiskModel.score``
output joined with declared_on, office, importer_id) and returns them as a frame (or, for work stored in
slices, ``decide_lanes`` then ``store_decisions`` per slice); the pure engine is
``borderwatch.lanes.engine.assign_lanes_frame``; the policy (capacities, control rate, AEO factor) is
``borderwatch.lanes.policy.LanePolicy`` / ``load_policy(path)``.
"""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["archive", "engine", "models", "policy", "service"]
