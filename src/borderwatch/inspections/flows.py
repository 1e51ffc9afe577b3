"""Selection to inspection in one flow: score stored declarations, decide and store lanes, open cases; and a
supervisor's override, which the declaration's case follows.

It lives in ⑤ inspections because it ends with cases; ④ lanes stays unaware of cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from borderwatch.core.errors import BorderwatchError
from borderwatch.ingest.store import load_declarations, load_outcomes
from borderwatch.inspections.service import follow_decisions, open_cases
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.lanes.policy import LanePolicy
from borderwatch.lanes.service import decide_lanes, override_lane, store_decisions
from borderwatch.scoring.profiles import RiskProfile
from borderwatch.scoring.service import RiskModel

ASSIGN_CHUNK = 5000
"""Declarations whose lanes and cases are stored in one transaction (about a second of write lock)."""


def score_and_assign_flow(
    *,
    engine: Engine,
    session: Session,
    model: RiskModel,
    since: date | None = None,
    until: date | None = None,
    profiles: Sequence[RiskProfile] = (),
    policy: LanePolicy | None = None,
    agency: str = "default",
    open_inspection_cases: bool = True,
    chunk: int = ASSIGN_CHUNK,
) -> pl.DataFrame:
    """Scores the stored declarations dated in [since, until], stores their lanes and (by default) opens an
    inspection case for every red and yellow one; a case opened by an earlier run follows the new decision
    (``follow_decisions``: relinked, or withdrawn when the lane is now green). Returns the decisions, best
    priority first.

    Lanes are decided over the whole period at once (capacities apply to it), then stored ``chunk``
    declarations at a time, each slice with its cases in a transaction of its own: the flow commits the
    caller's ``session`` after each, so the write lock (SQLite) or the LRNs' locks (PostgreSQL) are held for
    a slice, never for the whole assignment, and other writers (uploads, outcomes, overrides) get in between.

    Run twice at once over the same declarations (a double click, two supervisors, the CLI beside the web),
    each slice of the later run waits for the earlier run's transaction on those declarations to end, then
    supersedes its decisions and opens no case a declaration already has: each declaration keeps one current
    decision and one open case, never a doubled queue."""
    declarations = load_declarations(engine, agency=agency, since=since, until=until)
    if declarations.height == 0:
        raise BorderwatchError("no stored declarations in that period to assign lanes to")
    history = load_declarations(engine, agency=agency, until=until)
    outcomes = load_outcomes(engine, agency=agency)
    scored = model.score(declarations=declarations, history=history, outcomes=outcomes, profiles=profiles)
    keys = declarations.select("lrn", "declared_on", "office", "importer_id").unique("lrn", keep="first")
    policy = policy or LanePolicy()
    decided = decide_lanes(
        session=session, scored=scored.join(keys, on="lrn", how="inner"), policy=policy, agency=agency
    )
    stored: list[pl.DataFrame] = []
    for part in decided.iter_slices(chunk):
        decisions = store_decisions(
            session=session, decisions=part, policy=policy, model_version=model.version, agency=agency
        )
        if open_inspection_cases:
            follow_decisions(session=session, decisions=decisions, actor="system", agency=agency)
            open_cases(session=session, decisions=decisions, agency=agency)
        session.commit()
        stored.append(decisions)
    return pl.concat(stored).sort(["lane", "priority"], descending=[False, True])


def override_lane_flow(
    *, session: Session, lrn: str, lane: str, reason: str, supervisor: str
) -> LaneDecisionRow:
    """A supervisor's lane for ``lrn`` (``lanes.service.override_lane``); the declaration's open case follows
    it: red ↔ yellow keeps the case, green withdraws it, and red or yellow for a declaration without a case
    opens one."""
    row = override_lane(session=session, lrn=lrn, lane=lane, reason=reason, supervisor=supervisor)
    decision = pl.DataFrame({"lrn": [row.lrn], "lane": [row.lane], "decision_id": [row.id]})
    follow_decisions(session=session, decisions=decision, actor=supervisor, agency=row.agency)
    open_cases(session=session, decisions=decision, agency=row.agency)
    return row
