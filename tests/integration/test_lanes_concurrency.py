"""Lane assignments and supervisor overrides of the same declarations at once, on SQLite and PostgreSQL: the
later one waits and supersedes the earlier one's decisions (or, for an override on SQLite, is refused), so
each declaration keeps one current decision and one open case.

``score_and_assign_flow`` scores, reads the current decisions of the period's declarations, then writes new
ones that supersede them and opens cases; ``override_lane`` does the same for one declaration. Should another
commit in between, both decisions would stay current and the red queue would hold a declaration twice. The
tests pin that interleaving: the first is held just after a statement on ``lane_decisions`` until the second
has finished, or for ``HOLD_SECONDS`` when the second cannot finish because the first holds what it must
(SQLite's write lock, PostgreSQL's advisory locks on the LRNs, or on all lane decisions for a batch of more
than ``ADVISORY_KEYS_MAX``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import polars as pl
import pytest
from sqlalchemy import Engine, Row, event, select

from borderwatch.db.session import ADVISORY_KEYS_MAX, make_engine, session_factory, session_scope
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import ingest_declarations
from borderwatch.inspections.flows import score_and_assign_flow
from borderwatch.inspections.models import CaseRow
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.lanes.policy import Capacity, LanePolicy
from borderwatch.lanes.service import LaneChangedError, override_lane
from borderwatch.scoring.risk_model import RiskModel
from tests.integration.api_support import declaration_json, train_model

HOLD_SECONDS = 1.0
JOIN_SECONDS = 30.0
DAY = date(2026, 3, 3)
POLICY = LanePolicy(version="race-1", red=Capacity(default=3), yellow=Capacity(default=4), control_rate=0.0)
LRN = "R-000"  # the declaration the overrides are about
First = TypeVar("First")
Second = TypeVar("Second")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> RiskModel:
    return RiskModel.load(train_model(tmp_path_factory.mktemp("model")))


def _assign(engine: Engine, model: RiskModel) -> pl.DataFrame:
    with session_scope(session_factory(engine)) as session:
        return score_and_assign_flow(
            engine=engine, session=session, model=model, since=DAY, until=DAY, policy=POLICY
        )


def _override(engine: Engine, lane: str, supervisor: str) -> LaneDecisionRow | LaneChangedError:
    try:
        with session_scope(session_factory(engine)) as session:
            return override_lane(
                session=session, lrn=LRN, agency="default", lane=lane, reason="tip-off", supervisor=supervisor
            )
    except LaneChangedError as error:
        return error


def _race(
    url: str, first: Callable[[Engine], First], second: Callable[[Engine], Second], *, hold_at: str
) -> tuple[First, Second]:
    """What ``first`` and ``second`` return, each given an engine of its own; ``second`` is started in a
    thread while ``first`` is held just after its first statement that contains ``hold_at``, until ``second``
    has finished or for ``HOLD_SECONDS``."""
    first_engine, second_engine = make_engine(url), make_engine(url)
    second_result: list[Second | Exception] = []
    second_started, second_done = threading.Event(), threading.Event()

    def run_second() -> None:
        try:
            second_result.append(second(second_engine))
        except Exception as error:  # returned to the test, which fails with it
            second_result.append(error)
        finally:
            second_done.set()

    thread = threading.Thread(target=run_second, daemon=True)

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not second_started.is_set() and hold_at in statement:
            second_started.set()
            thread.start()
            second_done.wait(HOLD_SECONDS)

    event.listen(first_engine, "after_cursor_execute", hold)
    try:
        first_result = first(first_engine)
    finally:
        if second_started.is_set():
            thread.join(JOIN_SECONDS)
        first_engine.dispose()
        second_engine.dispose()
    assert second_started.is_set(), f"the first never ran a statement with {hold_at!r}"
    assert not thread.is_alive(), f"the second still waits {JOIN_SECONDS} s after the first has ended"
    assert not isinstance(second_result[0], Exception), second_result[0]
    return first_result, second_result[0]


def _ingest(engine: Engine, size: int) -> list[str]:
    declarations = [
        Declaration.model_validate(declaration_json(f"R-{i:03d}", day=DAY.day, value=50.0 * (i + 1)))
        for i in range(size)
    ]
    ingest_declarations(engine=engine, declarations=declarations)
    return sorted(d.lrn for d in declarations)


def _current(engine: Engine) -> list[Row[tuple[str, int, str, int | None]]]:
    with session_scope(session_factory(engine)) as session:
        return list(
            session.execute(
                select(
                    LaneDecisionRow.lrn,
                    LaneDecisionRow.id,
                    LaneDecisionRow.lane,
                    LaneDecisionRow.supersedes_id,
                )
                .where(LaneDecisionRow.is_current)
                .order_by(LaneDecisionRow.lrn)
            )
        )


@pytest.mark.parametrize("size", [20, ADVISORY_KEYS_MAX + 6], ids=["locks-per-lrn", "lock-all"])
def test_two_assignments_of_a_period_at_once_leave_one_current_decision_and_case_per_declaration(
    database_url: str, model: RiskModel, size: int
) -> None:
    engine = make_engine(database_url)
    lrns = _ingest(engine, size)

    first, second = _race(
        database_url, lambda e: _assign(e, model), lambda e: _assign(e, model), hold_at="lane_decisions"
    )

    current = _current(engine)
    with session_scope(session_factory(engine)) as session:
        cases = Counter(session.scalars(select(CaseRow.lrn).where(CaseRow.status == "open")))
    engine.dispose()
    # The later run superseded the earlier one's decisions, as if it had started after the first committed.
    assert [row.lrn for row in current] == lrns
    assert {row.id for row in current} == set(second["decision_id"])
    assert {row.supersedes_id for row in current} == set(first["decision_id"])
    assert Counter(row.lane for row in current)["red"] == POLICY.red.default
    selected = first.filter(pl.col("lane").is_in(["red", "yellow"]))["lrn"]
    assert cases == dict.fromkeys(selected, 1)


@pytest.mark.parametrize("size", [20, ADVISORY_KEYS_MAX + 6], ids=["locks-per-lrn", "lock-all"])
def test_an_assignment_during_an_uncommitted_override_supersedes_it(
    database_url: str, model: RiskModel, size: int
) -> None:
    engine = make_engine(database_url)
    lrns = _ingest(engine, size)
    _assign(engine, model)

    # The override is held after writing its decision, before committing, while the assignment runs.
    override, decisions = _race(
        database_url,
        lambda e: _override(e, "red", "chief"),
        lambda e: _assign(e, model),
        hold_at="INSERT INTO lane_decisions",
    )

    current = _current(engine)
    engine.dispose()
    assert isinstance(override, LaneDecisionRow), override
    # The assignment waited for the override to commit and superseded it, as if it had started afterwards.
    assert [row.lrn for row in current] == lrns
    assert {row.id for row in current} == set(decisions["decision_id"])
    assert [row.supersedes_id for row in current if row.lrn == LRN] == [override.id]


def test_two_overrides_at_once_leave_one_current_decision(database_url: str, model: RiskModel) -> None:
    engine = make_engine(database_url)
    lrns = _ingest(engine, 20)
    assigned = _assign(engine, model).filter(pl.col("lrn") == LRN)["decision_id"].item()

    # The first override is held just after it has read the current decision, while another supervisor's runs.
    first, second = _race(
        database_url,
        lambda e: _override(e, "red", "chief"),
        lambda e: _override(e, "yellow", "lee"),
        hold_at="lane_decisions",
    )

    current = _current(engine)
    engine.dispose()
    assert isinstance(second, LaneDecisionRow), second
    assert [row.lrn for row in current] == lrns
    assert [(row.id, row.lane) for row in current if row.lrn == LRN] == [(second.id, "yellow")]
    if engine.dialect.name == "postgresql":
        # The second waited for the first's lock on the LRN, then superseded the first's decision.
        assert isinstance(first, LaneDecisionRow), first
        assert (first.supersedes_id, second.supersedes_id) == (assigned, first.id)
    else:
        # SQLite reads outside its write lock: the first read a decision the second superseded meanwhile,
        # and is refused (a 409 on the API) rather than leave two current decisions.
        assert isinstance(first, LaneChangedError), first
        assert "changed meanwhile" in str(first)
        assert second.supersedes_id == assigned
