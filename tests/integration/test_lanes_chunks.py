"""A long lane assignment stores its decisions and cases slice by slice, each slice in a transaction of its
own, so other writers get in between (issue #22: one assignment held SQLite's write lock for minutes and
every other writer failed with "database is locked"). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select

from borderwatch.db.session import make_engine, session_factory
from borderwatch.inspections.flows import score_and_assign_flow
from borderwatch.inspections.models import CaseRow
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.lanes.service import override_lane
from borderwatch.scoring.risk_model import RiskModel
from tests.integration.api_support import train_model
from tests.integration.test_lanes_concurrency import DAY, POLICY, _ingest


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> RiskModel:
    return RiskModel.load(train_model(tmp_path_factory.mktemp("model")))


def _impatient_engine(url: str) -> Any:
    """An engine whose writers give up after 2 s instead of queueing for the lock."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 2})
    return create_engine(url, connect_args={"options": "-c lock_timeout=2000"} | _search_path(url))


def _search_path(url: str) -> dict[str, str]:
    # the test schema travels in the URL's options; lock_timeout is added beside it
    if "options=" not in url:
        return {}
    from urllib.parse import parse_qs, urlsplit

    options = parse_qs(urlsplit(url).query)["options"][0]
    return {"options": f"{options} -c lock_timeout=2000"}


def test_an_assignment_commits_slice_by_slice_and_lets_other_writers_in(
    database_url: str, model: RiskModel
) -> None:
    engine = make_engine(database_url)
    lrns = _ingest(engine, 12)
    other = _impatient_engine(database_url)
    overridden: list[str] = []
    commits = [0]
    session = session_factory(engine)()

    def between_slices(_session: Any) -> None:
        commits[0] += 1
        if commits[0] != 1:
            return
        # the assignment is between its first and second slice: another writer gets the lock at once
        with session_factory(other)() as writer:
            lrn = writer.scalars(select(LaneDecisionRow.lrn).where(LaneDecisionRow.is_current)).first()
            assert lrn is not None
            override_lane(
                session=writer, lrn=lrn, agency="default", lane="red", reason="tip-off", supervisor="sup"
            )
            writer.commit()
            overridden.append(lrn)

    event.listen(session, "after_commit", between_slices)
    try:
        decisions = score_and_assign_flow(
            engine=engine, session=session, model=model, since=DAY, until=DAY, policy=POLICY, chunk=5
        )
    finally:
        session.close()
    with session_factory(engine)() as check:
        current = Counter(check.scalars(select(LaneDecisionRow.lrn).where(LaneDecisionRow.is_current)))
        open_cases = Counter(check.scalars(select(CaseRow.lrn).where(CaseRow.status != "closed")))
    engine.dispose()
    other.dispose()
    assert commits[0] == 3  # 12 declarations in slices of 5
    assert overridden and decisions.height == 12
    assert current == dict.fromkeys(lrns, 1)  # one current decision each, the override's included
    assert all(count == 1 for count in open_cases.values())
