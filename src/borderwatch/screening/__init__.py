"""Screening of parties against sanctions and watchlists: import, normalisation, candidate index, matching."""

from borderwatch.screening.compare import compare_names
from borderwatch.screening.entries import WatchEntry
from borderwatch.screening.matcher import DEFAULT_THRESHOLD, Match, Matcher, Query
from borderwatch.screening.service import build_matcher

# The stage's public surface: these names and the modules other stages import; the rest are its own.
__all__ = [
    "DEFAULT_THRESHOLD",
    "Match",
    "Matcher",
    "Query",
    "WatchEntry",
    "build_matcher",
    "compare",
    "compare_names",
    "matcher",
    "models",
    "normalize",
    "service",
]
