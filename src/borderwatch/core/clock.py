"""Time as borderwatch stores and shows it: every timestamp in UTC, with its offset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(moment: datetime) -> datetime:
    """``moment`` with its time zone: SQLite returns stored timestamps without one, and they are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
"""A timestamp field of a response: always written with its offset (RFC 3339, as OpenAPI's date-time)."""
