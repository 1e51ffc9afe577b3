"""Two lane assignments of the same period at once, on SQLite and PostgreSQL: the later one waits and
supersedes the earlier one's decisions, so each declaration keeps one current decision and one open case.

``score_and_assign_flow`` scores, reads the current decisions of the period's declarations, then writes new
ones that supersede them and opens cases. Should another run commit in between, both runs' decisions would
stay current and the red queue would hold every red declaration twice. The test pins that interleaving: the
first run is held just after its first statement on ``lane_decisions`` until the second has finished, or for
``HOLD_SECONDS`` when the second cannot finish because the first holds what it must (SQLite's write lock,
PostgreSQL's advisory locks on the LRNs, or on all lane decisions for a batch of more than
``ADVISORY_KEYS_MAX``).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, event, select

from borderwatch.db.session import ADVISORY_KEYS_MAX, make_engine, session_factory, session_scope
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import ingest_declarations
from borderwatch.inspections.flows import score_and_assign_flow
from borderwatch.inspections.models import CaseRow
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.lanes.policy import Capacity, LanePolicy
from borderwatch.scoring.service import RiskModel
from tests.integration.api_support import declaration_json, train_model

HOLD_SECONDS = 1.0
DAY = date(2026, 3, 3)
POLICY = LanePolicy(version="race-1", red=Capacity(default=3), yellow=Capacity(default=4), control_rate=0.0)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> RiskModel:
    return RiskModel.load(train_model(tmp_path_factory.mktemp("model")))


def _assign(engine: Engine, model: RiskModel) -> pl.DataFrame:
    with session_scope(session_factory(engine)) as session:
        return score_and_assign_flow(
            engine=engine, session=session, model=model, since=DAY, until=DAY, policy=POLICY
        )


def _race(url: str, model: RiskModel) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The decisions of two runs on two engines, the second started while the first is held just after its
    first statement on ``lane_decisions``, until the second has finished or for ``HOLD_SECONDS``."""
    first_engine, second_engine = make_engine(url), make_engine(url)
    second: list[pl.DataFrame | Exception] = []
    second_started, second_done = threading.Event(), threading.Event()

    def run_second() -> None:
        try:
            second.append(_assign(second_engine, model))
        except Exception as error:  # returned to the test, which fails with it
            second.append(error)
        finally:
            second_done.set()

    thread = threading.Thread(target=run_second)

    def after_read(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not second_started.is_set() and "lane_decisions" in statement:
            second_started.set()
            thread.start()
            second_done.wait(HOLD_SECONDS)

    event.listen(first_engine, "after_cursor_execute", after_read)
    try:
        first = _assign(first_engine, model)
    finally:
        if second_started.is_set():
            thread.join()
        first_engine.dispose()
        second_engine.dispose()
    assert second_started.is_set(), "the first run never touched lane_decisions"
    assert isinstance(second[0], pl.DataFrame), second[0]
    return first, second[0]


@pytest.mark.parametrize("size", [20, ADVISORY_KEYS_MAX + 6], ids=["locks-per-lrn", "lock-all"])
def test_two_assignments_of_a_period_at_once_leave_one_current_decision_and_case_per_declaration(
    database_url: str, model: RiskModel, size: int
) -> None:
    engine = make_engine(database_url)
    declarations = [
        Declaration.model_validate(declaration_json(f"R-{i:03d}", day=DAY.day, value=50.0 * (i + 1)))
        for i in range(size)
    ]
    ingest_declarations(engine=engine, declarations=declarations)

    first, second = _race(database_url, model)

    with session_scope(session_factory(engine)) as session:
        current = session.execute(
            select(
                LaneDecisionRow.lrn, LaneDecisionRow.id, LaneDecisionRow.lane, LaneDecisionRow.supersedes_id
            )
            .where(LaneDecisionRow.is_current)
            .order_by(LaneDecisionRow.lrn)
        ).all()
        cases = Counter(session.scalars(select(CaseRow.lrn).where(CaseRow.status == "open")))
    engine.dispose()
    # The later run superseded the earlier one's decisions, as if it had started after the first committed.
    assert [row.lrn for row in current] == sorted(d.lrn for d in declarations)
    assert {row.id for row in current} == set(second["decision_id"])
    assert {row.supersedes_id for row in current} == set(first["decision_id"])
    assert Counter(row.lane for row in current)["red"] == POLICY.red.default
    selected = first.filter(pl.col("lane").is_in(["red", "yellow"]))["lrn"]
    assert cases == dict.fromkeys(selected, 1)
