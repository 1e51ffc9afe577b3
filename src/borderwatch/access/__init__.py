"""Who may do what: users, API tokens, roles, agencies, the one authorisation policy, and the audit log."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["audit", "models", "policy", "schemas", "service"]
