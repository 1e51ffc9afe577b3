"""Answers on declarations (lane decisions and case results) as CUSRES and JSON, stored on SQLite and
PostgreSQL, and read back from the CUSRES to the same answers."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.ingest.edifact.cusres import Answer, read_cusres, write_cusres
from borderwatch.ingest.edifact.syntax import Message, read_messages
from borderwatch.inspections.answers import answers
from borderwatch.inspections.service import assign_case, open_cases, record_outcome
from borderwatch.lanes.service import assign_lanes
from tests.integration.test_inspections_cases import POLICY, scored


def test_lane_and_case_answers_round_trip_through_cusres(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        decisions = assign_lanes(session=session, scored=scored(), policy=POLICY)
        cases = {c.lrn: c.id for c in open_cases(session=session, decisions=decisions)}
    with session_factory.begin() as session:
        assign_case(session=session, case_id=cases["D000"], officer="kim", actor="chief")
        record_outcome(
            session=session,
            case_id=cases["D000"],
            result="seizure",
            officer="kim",
            recorded_on=date(2024, 5, 7),
            goods="counterfeit trainers",
            duty_recovered=1234.5,
        )
    with session_factory() as session:
        found = answers(session=session, agency="default", lrns=["D000", "D001", "D029", "NOPE"])
    assert [(a.lrn, a.lane, a.case_status, a.case_result) for a in found] == [
        ("D000", "red", "closed", "seizure"),
        ("D001", "red", "open", None),
        ("D029", "green", None, None),
    ]
    assert found[0].duty_recovered == 1234.5 and found[0].reasons == ["reason 0"]
    assert found[1].basis == "expected value within red capacity"
    text = write_cusres(
        found, sender="CUSTOMS", recipient="TRADER", reference="R1", prepared_at=found[0].decided_at
    )
    messages = list(read_messages(io.BytesIO(text.encode("latin-1"))))
    assert all(isinstance(m, Message) and m.error is None for m in messages)
    back = [read_cusres(m) for m in messages if isinstance(m, Message)]
    assert back == [a.model_copy(update={"decided_at": a.decided_at.replace(microsecond=0)}) for a in found]
    # and as JSON
    assert [Answer.model_validate_json(a.model_dump_json()) for a in found] == found
    # another agency sees none of them
    with session_factory() as session:
        assert answers(session=session, agency="other", lrns=["D000"]) == []


def test_cases_answer_command_writes_cusres_and_audits(
    database_url: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from borderwatch.access.audit import search
    from borderwatch.cli.main import app
    from borderwatch.core.settings import get_settings

    with session_factory.begin() as session:
        assign_lanes(session=session, scored=scored(), policy=POLICY)
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "answers.edi"
        result = CliRunner().invoke(app, ["cases", "answer", "D000", "D029", "--out", str(out)])
        assert result.exit_code == 0, result.output
        missing = CliRunner().invoke(app, ["cases", "answer", "NOPE"])
        assert missing.exit_code == 2 and "no lane decision for NOPE" in missing.output
    finally:
        get_settings.cache_clear()
    messages = [m for m in read_messages(io.BytesIO(out.read_bytes())) if isinstance(m, Message)]
    assert [(a.lrn, a.lane) for a in map(read_cusres, messages)] == [("D000", "red"), ("D029", "green")]
    with session_factory() as session:
        entries, total = search(db_session=session, resource="lane")
    assert total == 2 and {e.resource_id for e in entries} == {"D000", "D029"}
