"""Typed errors that reach a person as one clear sentence."""

from __future__ import annotations


class BorderwatchError(Exception):
    """Base of every error borderwatch raises on purpose."""


class IngestError(BorderwatchError):
    """A record that cannot be accepted, naming the record, the field and why."""

    def __init__(self, *, record: str | None, field: str | None, reason: str) -> None:
        self.record = record
        self.field = field
        self.reason = reason
        where = f"record {record}" if record else "a record"
        what = f", field {field!r}" if field else ""
        super().__init__(f"{where}{what}: {reason}")


class ConfigError(BorderwatchError):
    """A configuration file (risk profile, column mapping, list file) that cannot be used."""

    def __init__(self, *, path: str, reason: str, item: str | None = None, field: str | None = None) -> None:
        self.path = path
        self.item = item
        self.field = field
        self.reason = reason
        parts = [path]
        if item:
            parts.append(f"entry {item!r}")
        if field:
            parts.append(f"field {field!r}")
        super().__init__(f"{', '.join(p for p in parts if p)}: {reason}")


class NotFoundError(BorderwatchError):
    """A record asked for by id that does not exist (or that the caller may not see)."""
