"""A realistic volume of stored work, written fast with bulk inserts: declarations with their goods item,
scores, lane decisions (some superseded by a later assignment or an override) and inspection cases (the
closed ones of earlier decisions too), and outcomes, for two agencies.

Rows go straight into the tables (no scoring, no lane engine): what matters here is their number and their
distribution, as the workspace's queries meet them in service, not how they were decided.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, insert, select, text

from borderwatch.db.session import refresh_statistics
from borderwatch.ingest.models import DeclarationRow, GoodsItemRow, OutcomeRow
from borderwatch.inspections.models import CaseRow
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.scoring.models import RiskScoreRow

CHUNK = 5000


@dataclass(frozen=True)
class Volume:
    declarations: int
    decisions: int
    cases: int
    agency: str
    lrn: str
    """A declaration of ``agency`` with a current red decision, an open case and an outcome."""


def _insert(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert ``rows`` (dicts with the same keys): COPY on PostgreSQL (psycopg's executemany sends a
    statement per row: 20 s instead of 2 for this volume), executemany on SQLite."""
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    from psycopg.types.json import Json

    columns = list(rows[0])
    raw: Any = connection.connection.driver_connection
    with raw.cursor().copy(f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([Json(v) if isinstance(v, dict | list) else v for v in row.values()])


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def build_volume(engine: Engine, *, declarations: int = 30_000, seed: int = 22) -> Volume:
    """``declarations`` declarations (80 % of agency ``a``, the rest ``b``) over 180 days and 12 offices;
    every one scored and decided (red 20 %, yellow 25 %), a fifth of them decided twice (the first decision
    superseded, its case closed); a case for every red or yellow decision; outcomes for a tenth."""
    rng = np.random.default_rng(seed)
    n = declarations
    start = date(2026, 1, 1)
    days = rng.integers(0, 180, n)
    agencies = np.where(rng.random(n) < 0.8, "a", "b")
    offices = rng.integers(10, 22, n)
    lanes = rng.choice(["red", "yellow", "green"], n, p=[0.2, 0.25, 0.55])
    scores = rng.random(n) * 100
    twice = rng.random(n) < 0.2
    lrns = [f"V{i:07d}" for i in range(n)]
    declared = [start + timedelta(days=int(d)) for d in days]
    now = datetime(2026, 7, 1, tzinfo=UTC)
    declaration_rows = [
        {
            "lrn": lrns[i],
            "version": 1,
            "is_current": True,
            "content_hash": hashlib.sha256(lrns[i].encode()).hexdigest(),
            "agency": str(agencies[i]),
            "declared_on": declared[i],
            "office": str(offices[i]),
            "importer_id": f"IMP{i % 2000}",
            "declarant_id": f"DEC{i % 300}",
            "seller_id": f"SEL{i % 1500}",
            "parties": {"importer": {"id": f"IMP{i % 2000}"}},
            "documents": [],
            "source": "volume",
        }
        for i in range(n)
    ]
    with engine.begin() as connection:
        for chunk in _chunks(declaration_rows):
            _insert(connection, DeclarationRow, chunk)
        stored = select(DeclarationRow.lrn, DeclarationRow.id).where(DeclarationRow.source == "volume")
        ids: dict[str, int] = {row[0]: row[1] for row in connection.execute(stored)}
        items = [
            {
                "declaration_id": ids[lrns[i]],
                "item_no": 1,
                "hs_code": f"61{i % 100:02d}10",
                "customs_value": float(100 + i % 5000),
                "currency": "KRW",
            }
            for i in range(n)
        ]
        for chunk in _chunks(items):
            _insert(connection, GoodsItemRow, chunk)
        score_rows = [
            {
                "lrn": lrns[i],
                "agency": str(agencies[i]),
                "model_version": "volume-1",
                "score": float(scores[i]),
                "fraud_probability": float(scores[i]) / 100,
                "expected_duty": 10.0,
                "reasons": ["r1", "r2"],
                "explained": True,
            }
            for i in range(n)
        ]
        for chunk in _chunks(score_rows):
            _insert(connection, RiskScoreRow, chunk)

        def decision(i: int, lane: str, current: bool) -> dict[str, Any]:
            return {
                "lrn": lrns[i],
                "agency": str(agencies[i]),
                "declared_on": declared[i],
                "office": str(offices[i]),
                "lane": lane,
                "basis": "risk",
                "score": float(scores[i]),
                "fraud_probability": float(scores[i]) / 100,
                "expected_duty": 10.0,
                "reasons": ["r1", "r2", "r3"],
                "control": False,
                "aeo": False,
                "selection_probability": 1.0,
                "policy_version": "volume",
                "model_version": "volume-1",
                "is_current": current,
                "decided_by": "system",
                "decided_at": now,
            }

        earlier = [decision(i, "red" if i % 2 else "yellow", False) for i in range(n) if twice[i]]
        latest = [decision(i, str(lanes[i]), True) for i in range(n)]
        for chunk in _chunks(earlier + latest):
            _insert(connection, LaneDecisionRow, chunk)
        decided = connection.execute(
            select(
                LaneDecisionRow.id, LaneDecisionRow.lrn, LaneDecisionRow.lane, LaneDecisionRow.is_current
            ).where(LaneDecisionRow.policy_version == "volume")
        ).all()
        agency_of = dict(zip(lrns, (str(a) for a in agencies), strict=True))
        case_rows = [
            {
                "agency": agency_of[lrn],
                "lrn": lrn,
                "decision_id": decision_id,
                "lane": lane,
                "status": ("open", "assigned", "closed")[decision_id % 3] if current else "closed",
                "officer": f"officer{decision_id % 40}" if decision_id % 3 else None,
                "opened_at": now,
                "closed_at": None if current else now,
            }
            for decision_id, lrn, lane, current in decided
            if lane in ("red", "yellow")
        ]
        for chunk in _chunks(case_rows):
            _insert(connection, CaseRow, chunk)
        outcome_rows = [
            {
                "lrn": lrns[i],
                "agency": str(agencies[i]),
                "recorded_on": declared[i] + timedelta(days=3),
                "fraud": bool(i % 3 == 0),
                "critical_fraud": 0,
                "duty_recovered": 50.0 if i % 3 == 0 else None,
                "source": "inspection",
            }
            for i in range(0, n, 10)
        ]
        for chunk in _chunks(outcome_rows):
            _insert(connection, OutcomeRow, chunk)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # only these tables: a bare ANALYZE would visit every schema of the database
            tables = [m.__tablename__ for m in (DeclarationRow, GoodsItemRow, RiskScoreRow, OutcomeRow)]
            tables += [LaneDecisionRow.__tablename__, CaseRow.__tablename__]
            connection.execute(text(f"ANALYZE {', '.join(tables)}"))
    else:
        refresh_statistics(engine)
    chosen = next(
        lrns[i] for i in range(0, n, 10) if agencies[i] == "a" and lanes[i] == "red" and not twice[i]
    )
    return Volume(
        declarations=n,
        decisions=len(earlier) + len(latest),
        cases=len(case_rows),
        agency="a",
        lrn=chosen,
    )
