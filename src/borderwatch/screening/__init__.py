"""Screening of parties against sanctions and watchlists: import, normalisation, candidate index, matching."""

from borderwatch.screening.compare import compare_names

__all__ = ["compare_names"]
