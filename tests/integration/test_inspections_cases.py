"""Lane decisions, overrides, the AEO registry and the case lifecycle, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.errors import NotFoundError
from borderwatch.ingest.models import OutcomeRow
from borderwatch.ingest.store import load_outcomes
from borderwatch.inspections.flows import override_lane_flow
from borderwatch.inspections.models import EvidenceRow
from borderwatch.inspections.service import (
    CaseError,
    CaseStateError,
    Evidence,
    assign_case,
    fingerprint,
    follow_decisions,
    get_case,
    list_cases,
    open_cases,
    record_outcome,
)
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.lanes.policy import Capacity, LanePolicy
from borderwatch.lanes.service import (
    LaneError,
    add_aeo,
    assign_lanes,
    current_decision,
    decisions_frame,
    list_aeo,
    override_lane,
)

DAY = date(2024, 5, 6)


def scored(n: int = 30) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "lrn": [f"D{i:03d}" for i in range(n)],
            "declared_on": [DAY] * n,
            "office": ["030"] * n,
            "importer_id": [f"I{i % 5}" for i in range(n)],
            "score": [float(100 - i) for i in range(n)],
            "fraud_probability": [1 - i / n for i in range(n)],
            "expected_duty": [1000.0] * n,
            "forced_lane": [None] * n,
            "reasons": [[f"reason {i}"] for i in range(n)],
        },
        schema_overrides={"forced_lane": pl.String},
    )


POLICY = LanePolicy(
    version="test-1",
    red=Capacity(default=3),
    yellow=Capacity(default=4),
    control_rate=0.0,
    objective="probability",
)


def test_decisions_are_stored_with_score_reasons_policy_and_model(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        decisions = assign_lanes(session=session, scored=scored(), policy=POLICY, model_version="rm-7")
    assert decisions.filter(pl.col("lane") == "red")["lrn"].to_list() == ["D000", "D001", "D002"]
    with session_factory() as session:
        row = current_decision(session=session, lrn="D001", agency="default")
        assert (row.lane, row.policy_version, row.model_version) == ("red", "test-1", "rm-7")
        assert row.reasons == ["reason 1"] and row.score == 99.0
        assert row.basis == "expected value within red capacity"
        stored = decisions_frame(session=session)
    assert stored.height == 30
    assert stored.group_by("lane").len().sort("lane").to_dict(as_series=False) == {
        "lane": ["green", "red", "yellow"],
        "len": [23, 3, 4],
    }


def test_reassigning_supersedes_and_override_keeps_the_reason(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        assign_lanes(session=session, scored=scored(), policy=POLICY)
        assign_lanes(session=session, scored=scored(), policy=POLICY)
    with session_factory.begin() as session:
        row = override_lane(
            session=session,
            lrn="D020",
            agency="default",
            lane="red",
            reason="tip-off from port police",
            supervisor="chief",
        )
        override_id = row.id
    with session_factory() as session:
        current = current_decision(session=session, lrn="D020", agency="default")
        assert current.id == override_id
        assert (current.lane, current.basis, current.decided_by) == ("red", "supervisor override", "chief")
        assert current.override_reason == "tip-off from port police"
        history = session.scalars(select(LaneDecisionRow).where(LaneDecisionRow.lrn == "D020")).all()
        assert len(history) == 3
        assert sum(r.is_current for r in history) == 1
        assert current.supersedes_id is not None
        assert session.get(LaneDecisionRow, current.supersedes_id).lane == "green"  # type: ignore[union-attr]
    with session_factory() as session:
        with pytest.raises(LaneError, match="reason"):
            override_lane(
                session=session, lrn="D020", agency="default", lane="green", reason=" ", supervisor="chief"
            )
        with pytest.raises(LaneError, match="unknown lane"):
            override_lane(
                session=session, lrn="D020", agency="default", lane="blue", reason="x", supervisor="chief"
            )
        with pytest.raises(NotFoundError):
            override_lane(
                session=session, lrn="nope", agency="default", lane="red", reason="x", supervisor="chief"
            )


def test_aeo_registry_lowers_selection(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        add_aeo(session=session, trader_id="I0", valid_from=date(2024, 1, 1), certificate_no="KR-AEO-1")
        add_aeo(session=session, trader_id="I1", valid_from=date(2023, 1, 1), valid_to=date(2023, 12, 31))
        with pytest.raises(LaneError, match="before it starts"):
            add_aeo(session=session, trader_id="I2", valid_from=date(2024, 2, 1), valid_to=date(2024, 1, 1))
    with session_factory.begin() as session:
        assert [r.trader_id for r in list_aeo(session=session, valid_on=DAY)] == ["I0"]
        decisions = assign_lanes(session=session, scored=scored(), policy=POLICY)
    aeo = decisions.filter(pl.col("aeo"))
    assert set(aeo["importer_id"]) == {"I0"}
    # D000 (I0) has the best probability but is an AEO trader: it drops out of red.
    assert "D000" not in decisions.filter(pl.col("lane") == "red")["lrn"].to_list()


def test_case_lifecycle_and_the_outcome_becomes_a_label(
    session_factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"container 7 interior")
    with session_factory.begin() as session:
        decisions = assign_lanes(session=session, scored=scored(), policy=POLICY)
        cases = open_cases(session=session, decisions=decisions)
        again = open_cases(session=session, decisions=decisions)
        case_ids = [c.id for c in cases]
    assert len(case_ids) == 7 and again == []
    with session_factory.begin() as session:
        assign_case(session=session, case_id=case_ids[0], officer="kim", actor="chief")
        outcome = record_outcome(
            session=session,
            case_id=case_ids[0],
            result="seizure",
            officer="kim",
            recorded_on=date(2024, 5, 7),
            goods="counterfeit trainers",
            quantity=240,
            quantity_unit="pairs",
            concealment="behind declared cotton shirts",
            duty_recovered=1_250_000,
            notes="brand holder notified",
            evidence=[fingerprint(photo)],
        )
        outcome_id = outcome.id
        record_outcome(
            session=session,
            case_id=case_ids[1],
            result="no_finding",
            officer="lee",
            recorded_on=date(2024, 5, 7),
        )
    with session_factory() as session:
        case = get_case(session=session, case_id=case_ids[0])
        assert case.status == "closed" and case.outcome_id == outcome_id and case.officer == "kim"
        assert [h.status for h in case.history] == ["open", "assigned", "closed"]
        finding = case.findings[0]
        assert (finding.result, finding.goods, finding.quantity) == ("seizure", "counterfeit trainers", 240)
        evidence = session.scalars(select(EvidenceRow)).one()
        assert evidence.sha256 == hashlib.sha256(b"container 7 interior").hexdigest()
        stored = session.get(OutcomeRow, outcome_id)
        assert stored is not None and stored.source == f"case:{case_ids[0]}"
        assert stored.findings is not None and "counterfeit trainers" in stored.findings
        assert [c.id for c in list_cases(session=session, status="open")] == case_ids[2:]
    labels = load_outcomes(engine).sort("lrn")
    assert labels.select("lrn", "fraud", "critical_fraud").to_dicts() == [
        {"lrn": "D000", "fraud": 1, "critical_fraud": 2},
        {"lrn": "D001", "fraud": 0, "critical_fraud": 0},
    ]
    with session_factory() as session:
        with pytest.raises(CaseError, match="already closed"):
            record_outcome(
                session=session, case_id=case_ids[0], result="no_finding", officer="kim", recorded_on=DAY
            )
        with pytest.raises(CaseError, match="closed"):
            assign_case(session=session, case_id=case_ids[0], officer="park", actor="chief")
        with pytest.raises(CaseError, match="unknown result"):
            record_outcome(
                session=session, case_id=case_ids[2], result="maybe", officer="kim", recorded_on=DAY
            )
        with pytest.raises(CaseError, match="name the goods"):
            record_outcome(
                session=session, case_id=case_ids[2], result="seizure", officer="kim", recorded_on=DAY
            )
        with pytest.raises(CaseError, match="SHA-256"):
            record_outcome(
                session=session,
                case_id=case_ids[2],
                result="irregularity",
                officer="kim",
                recorded_on=DAY,
                evidence=[Evidence(name="x.pdf", sha256="not-a-hash")],
            )
        with pytest.raises(NotFoundError):
            get_case(session=session, case_id=99_999)


def test_a_case_closed_since_it_was_read_is_neither_closed_again_nor_reassigned(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        decisions = assign_lanes(session=session, scored=scored(), policy=POLICY)
        case_id = open_cases(session=session, decisions=decisions)[0].id
    with session_factory() as late:
        # Read while open and kept, as the web keeps it from its access check to the recording.
        read = get_case(session=late, case_id=case_id)
        with session_factory.begin() as other:
            record_outcome(
                session=other,
                case_id=case_id,
                result="seizure",
                goods="cigarettes",
                officer="kim",
                recorded_on=DAY,
            )
        with pytest.raises(CaseError, match="already closed"):
            record_outcome(session=late, case_id=case_id, result="no_finding", officer="lee", recorded_on=DAY)
        with pytest.raises(CaseError, match="closed"):
            assign_case(session=late, case_id=case_id, officer="park", actor="chief")
        assert read.status == "open"  # what the late request still holds
        late.commit()
    with session_factory() as session:
        case = get_case(session=session, case_id=case_id)
        assert (case.status, case.officer, [f.result for f in case.findings]) == (
            "closed",
            "kim",
            ["seizure"],
        )
        assert [h.status for h in case.history] == ["open", "closed"]
        assert len(session.scalars(select(OutcomeRow)).all()) == 1


def test_a_case_follows_its_declarations_new_decision_and_is_withdrawn_when_released(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        first = assign_lanes(session=session, scored=scored(), policy=POLICY, model_version="rm-1")
        open_cases(session=session, decisions=first)
        cases = {c.lrn: c.id for c in list_cases(session=session)}
    assert set(cases) == {f"D{i:03d}" for i in range(7)}  # 3 red, 4 yellow
    with session_factory.begin() as session:
        assign_case(session=session, case_id=cases["D001"], officer="kim", actor="sup")
    # The scores change: D001 drops to yellow, D000 to green; a re-run replaces their decisions.
    lowered = {"D000": 0.0, "D001": 0.85}  # red capacity 3: D001 now ranks 4th (yellow), D000 last (green)
    rescored = scored().with_columns(
        pl.col("lrn").replace_strict(lowered, default=pl.col("fraud_probability")).alias("fraud_probability")
    )
    with session_factory.begin() as session:
        second = assign_lanes(session=session, scored=rescored, policy=POLICY, model_version="rm-2")
        lanes = dict(zip(second["lrn"].to_list(), second["lane"].to_list(), strict=True))
        assert (lanes["D000"], lanes["D001"]) == ("green", "yellow")
        changed = follow_decisions(session=session, decisions=second, actor="system")
        assert {c.lrn for c in changed} == set(cases)  # every case had its decision replaced
    ids = dict(zip(second["lrn"].to_list(), second["decision_id"].to_list(), strict=True))
    with session_factory() as session:
        released = get_case(session=session, case_id=cases["D000"])
        assert released.status == "withdrawn" and released.decision_id == ids["D000"]
        assert released.history[-1].note == f"withdrawn by decision {ids['D000']}: lane green"
        moved = get_case(session=session, case_id=cases["D001"])
        assert (moved.status, moved.lane, moved.officer) == ("assigned", "yellow", "kim")
        assert moved.decision_id == ids["D001"]
        assert moved.history[-1].note == f"follows decision {ids['D001']}: lane yellow"
        # Withdrawn is final: no finding (it would become a label of an inspection that never happened).
        with pytest.raises(CaseStateError, match="withdrawn"):
            record_outcome(
                session=session, case_id=cases["D000"], result="no_finding", officer="kim", recorded_on=DAY
            )
        with pytest.raises(CaseStateError, match="withdrawn"):
            assign_case(session=session, case_id=cases["D000"], officer="kim", actor="sup")
    with session_factory.begin() as session:  # following the same decisions again changes nothing
        assert follow_decisions(session=session, decisions=second, actor="system") == []


def test_an_override_moves_withdraws_or_opens_the_case(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        decisions = assign_lanes(session=session, scored=scored(), policy=POLICY, model_version="rm-1")
        open_cases(session=session, decisions=decisions)
    with session_factory.begin() as session:
        override_lane_flow(
            session=session,
            lrn="D000",
            agency="default",
            lane="green",
            reason="AEO audit done",
            supervisor="sup",
        )
        override_lane_flow(
            session=session, lrn="D003", agency="default", lane="red", reason="intelligence", supervisor="sup"
        )
        override_lane_flow(
            session=session, lrn="D020", agency="default", lane="red", reason="tip-off", supervisor="sup"
        )
    with session_factory() as session:
        by_lrn = {c.lrn: c for c in list_cases(session=session)}
        assert by_lrn["D000"].status == "withdrawn"
        assert (by_lrn["D003"].status, by_lrn["D003"].lane) == ("open", "red")
        assert by_lrn["D003"].history[-1].actor == "sup"
        assert (by_lrn["D020"].status, by_lrn["D020"].lane) == ("open", "red")  # had no case: now has one
        assert (
            by_lrn["D020"].decision_id == current_decision(session=session, lrn="D020", agency="default").id
        )
        assert {c.lrn for c in list_cases(session=session, status="open")} >= {"D003", "D020"}
