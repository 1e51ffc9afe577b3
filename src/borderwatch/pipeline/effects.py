"""Exactly-once effects under at-least-once delivery: a stage claims a declaration's key in the transaction
that writes its effect. A second delivery of the same content (a redelivery after a worker died, a
republished file past JetStream's de-duplication window) finds the key claimed and writes nothing.

The claim is an ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: on PostgreSQL a concurrent claim of the same
key waits for the first transaction and then returns nothing if it committed (or claims the key if it rolled
back); on SQLite the single write lock orders them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from borderwatch.pipeline.models import PipelineEffectRow

_CHUNK = 500


def claim(*, session: Session, stage: str, agency: str, keys: Mapping[str, str]) -> set[str]:
    """Claims ``keys`` (key → LRN) for ``stage``; returns those this transaction now owns. The claim holds
    only if the session's transaction commits (with the effect)."""
    items = sorted(keys.items())  # one order for every worker: two batches never wait on each other
    if session.get_bind().dialect.name == "postgresql":
        # Two arrays instead of a VALUES row per key: one statement text whatever the batch size, so the
        # driver prepares it once (a 100-row VALUES costs it more to parse than the insert takes).
        return set(
            session.scalars(
                text(
                    "INSERT INTO pipeline_effects (stage, agency, key, lrn) "
                    "SELECT :stage, :agency, k, l FROM unnest(CAST(:keys AS text[]), CAST(:lrns AS text[])) "
                    "AS t(k, l) ON CONFLICT DO NOTHING RETURNING key"
                ),
                {
                    "stage": stage,
                    "agency": agency,
                    "keys": [k for k, _ in items],
                    "lrns": [v for _, v in items],
                },
            )
        )
    table = PipelineEffectRow.__table__
    assert isinstance(table, Table)
    owned: set[str] = set()
    for start in range(0, len(items), _CHUNK):
        rows = [
            {"stage": stage, "agency": agency, "key": key, "lrn": lrn}
            for key, lrn in items[start : start + _CHUNK]
        ]
        statement = sqlite_insert(table).values(rows).on_conflict_do_nothing().returning(table.c.key)
        owned.update(session.scalars(statement))
    return owned


def done(*, session: Session, agency: str, keys: Sequence[str]) -> dict[str, set[str]]:
    """key → the stages that have had their effect for it."""
    found: dict[str, set[str]] = {key: set() for key in keys}
    e = PipelineEffectRow
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        for key, stage in session.execute(select(e.key, e.stage).where(e.agency == agency, e.key.in_(chunk))):
            found[key].add(stage)
    return found


def done_for_lrn(*, session: Session, agency: str, lrn: str) -> dict[str, set[str]]:
    """key → stages done, for every content of ``lrn`` the pipeline has processed."""
    e = PipelineEffectRow
    found: dict[str, set[str]] = {}
    for key, stage in session.execute(select(e.key, e.stage).where(e.agency == agency, e.lrn == lrn)):
        found.setdefault(key, set()).add(stage)
    return found


# What the pipeline has done with a declaration, in order; the last one ends its way through it.
STAGES = ("ingest", "score", "lanes")
Status = Literal["queued", "stored", "scored", "done"]
STATUS: dict[str, Status] = {"ingest": "stored", "score": "scored", "lanes": "done"}


def progress(*, session: Session, agency: str, key: str) -> tuple[Status, str | None]:
    """(status, lrn) of the declaration keyed ``key``: queued (nothing done yet, or not a key the agency
    published), stored, scored, done."""
    e = PipelineEffectRow
    rows = session.execute(select(e.stage, e.lrn).where(e.agency == agency, e.key == key)).all()
    stages = {stage for stage, _lrn in rows}
    lrn = rows[0][1] if rows else None
    reached = [stage for stage in STAGES if stage in stages]
    return (STATUS[reached[-1]] if reached else "queued"), lrn
