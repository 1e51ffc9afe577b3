"""Entity resolution of trader records and the networks they form."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["models", "network", "records", "resolve", "service"]
