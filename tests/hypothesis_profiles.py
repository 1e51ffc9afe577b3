"""Hypothesis example counts: the full count in ``make test``, a tenth of it in ``make unit``.

``make unit`` (the fast inner loop) sets ``BORDERWATCH_TEST_PROFILE=unit``; ``tests/conftest.py`` then loads
the ``unit`` profile for property tests without a count of their own, and :func:`examples` scales the ones
that state theirs (a test's own ``@settings(max_examples=...)`` wins over any profile, hence the function).
Same strategies, same assertions; ``make test`` keeps every example.
"""

from __future__ import annotations

import os

from hypothesis import settings

UNIT = os.environ.get("BORDERWATCH_TEST_PROFILE") == "unit"
# At least this many examples per property test in the unit profile, so each still explores beyond its edges.
UNIT_FLOOR = 10

settings.register_profile("unit", max_examples=UNIT_FLOOR)


def examples(full: int) -> int:
    """The number of examples for a property test whose full run takes ``full``."""
    if not UNIT:
        return full
    return min(full, max(UNIT_FLOOR, full // 10))


def load() -> None:
    """Load the unit profile when ``make unit`` asked for it (called from ``tests/conftest.py``)."""
    if UNIT:
        settings.load_profile("unit")
