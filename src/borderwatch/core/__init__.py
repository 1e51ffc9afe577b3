"""Settings, errors and other plumbing shared by every stage; no domain logic lives here."""

# The stage's public surface: other stages import these modules (and only these); the rest are its own.
__all__ = ["cache", "clock", "containers", "errors", "ocr", "reasons", "settings", "vocabulary"]
