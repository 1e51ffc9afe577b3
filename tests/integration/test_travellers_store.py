"""Traveller lists stored in SQLite and PostgreSQL: counts, no double storage, quarantine, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.core.errors import NotFoundError
from borderwatch.core.settings import get_settings
from borderwatch.db.session import session_scope
from borderwatch.screening.service import load_watchlist
from borderwatch.travellers import compose_mrz, service
from borderwatch.travellers.models import (
    MovementRow,
    TravelDocumentRow,
    TravellerAssessmentRow,
    TravellerCheckRow,
    TravellerQuarantineRow,
    TravellerRow,
)
from borderwatch.travellers.risk import TravellerPolicy

SAMPLES = {
    "ediclean_original_C.txt": (3, 3),
    "ediclean_original_F.txt": (1, 2),
    "smooks_unedifact_d03b_message_01.edi": (1, 2),
}


def _count(session: Session, model: type[object]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_samples_store_once_with_their_counts(
    session_factory: sessionmaker[Session], shared_data: Path
) -> None:
    folder = shared_data / "edifact" / "paxlst"
    for name, (travellers, documents) in SAMPLES.items():
        with session_scope(session_factory) as session:
            summary = service.ingest_travellers(session=session, path=folder / name, agency="a1")
        assert (summary.travellers, summary.documents) == (travellers, documents), name
    with session_scope(session_factory) as session:
        again = service.ingest_travellers(
            session=session, path=folder / "ediclean_reference_C.edi", agency="a1"
        )
    assert (again.travellers, again.duplicates) == (0, 3)
    assert any("UNT count is 152 but there are 50 segments" in issue for issue in again.issues)
    with session_factory() as session:
        assert _count(session, TravellerRow) == 5
        assert _count(session, TravelDocumentRow) == 7
        assert _count(session, MovementRow) == 3
        crew = session.scalars(select(TravellerRow).where(TravellerRow.role == "crew")).one()
        assert crew.surname == "KETI"


def test_bad_people_and_unreadable_files_are_quarantined_once(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(
        "flight,surname,birth_date,doc_number\nXX1,DOE,1980-01-01,A1\nXX1,ROE,1980-02-30,A2\nXX1,,1990-01-01,A3\n"
    )
    broken = tmp_path / "broken.edi"
    broken.write_text("UNB+UNOA:4+A+B+240101:1200+R'UNH+M1+PAXLST:D:05B:UN:IATA'BGM+745'")
    for _ in range(2):
        with session_scope(session_factory) as session:
            first = service.ingest_travellers(session=session, path=listing, agency="a1")
            second = service.ingest_travellers(session=session, path=broken, agency="a1")
    assert (first.travellers, first.already_quarantined) == (0, 2)
    assert second.already_quarantined == 1
    with session_factory() as session:
        rows = service.list_quarantine(session=session, agency="a1")
        assert [(r.record, r.field) for r in rows] == [
            ("list.csv line 3", "birth_date"),
            ("list.csv line 4", "surname"),
            ("interchange broken.edi", "segment BGM #2"),
        ]
        assert "no UNT" in rows[2].reason
        assert _count(session, TravellerQuarantineRow) == 3
        assert service.list_quarantine(session=session, agency="other") == []


def test_lost_stolen_list_replaces_and_indexes(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "sltd.csv"
    path.write_text("number,issuing_state,reported_on,status\nl898902c3,UTO,2020-01-01,stolen\nX1,FR,,lost\n")
    with session_scope(session_factory) as session:
        assert service.load_lost_stolen(session=session, agency="a1", path=path) == 2
        assert service.load_lost_stolen(session=session, agency="a1", path=path) == 2
    with session_factory() as session:
        index = service.lost_stolen_index(session=session, agency="a1")
    assert set(index) == {"L898902C3", "X1"}
    assert index["X1"][0]["issuing_state"] == "FRA"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_ingest_reports_counts_and_the_wrong_unt(cli: CliRunner, shared_data: Path) -> None:
    path = shared_data / "edifact" / "paxlst" / "ediclean_original_E.txt"
    result = cli.invoke(app, ["travellers", "ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "ediclean_original_E.txt" in result.output
    assert "UNT count is 2100 but there are 46 segments" in result.output


def test_cli_lost_stolen_and_quarantine_list(cli: CliRunner, tmp_path: Path) -> None:
    lost = tmp_path / "lost.csv"
    lost.write_text("number,issuing_state,reported_on,status\nX1234567,NLD,2026-11-01,stolen\n")
    result = cli.invoke(app, ["travellers", "lost-stolen", str(lost)])
    assert result.exit_code == 0, result.output
    assert "1 lost or stolen documents" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("nope\n")
    assert cli.invoke(app, ["travellers", "lost-stolen", str(bad)]).exit_code == 2
    result = cli.invoke(app, ["travellers", "quarantine", "list", "--all"])
    assert result.exit_code == 0, result.output
    assert "0 quarantined traveller record(s)" in result.output


def _mrz(number: str, surname: str, given: str, born: str, *, break_digit: bool = False) -> str:
    text = compose_mrz(
        fmt="TD3",
        document_number=number,
        issuing_state="NLD",
        nationality="NLD",
        surname=surname,
        given_names=given,
        birth_date=born,
        sex="M",
        expiry_date="300101",
    )
    if break_digit:
        first, second = text.split("\n")
        text = f"{first}\n{second[:19]}{(int(second[19]) + 1) % 10}{second[20:]}"
    return text.replace("\n", "\\n")


def test_check_movement_finds_stores_and_refers(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_text(
        '{"flight": "KL1", "departure_at": "2026-10-01T08:00", "departure_place": "AMS", '
        '"surname": "BAKKER", "given_names": "PIET", "birth_date": "1960-01-01", "doc_number": "NX0000001"}\n'
    )
    today = tmp_path / "today.jsonl"
    rows = [
        ("JANSEN", "JAN", "700101", "NX1111111", False, "B1"),
        ("DE VRIES", "KEES", "710101", "NX2222222", True, "B2"),
        ("VISSER", "ANNA", "720101", "NX3333333", False, "B3"),
        ("SMIT", "ERIK", "730101", "NX0000001", False, "B4"),  # Piet Bakker's document number
        ("PETROV", "IVAN", "700203", "NX5555555", False, "B5"),  # listed
        ("PETROVA", "OLGA", "720304", "NX6666666", False, "B5"),  # on the listed person's booking
    ]
    today.write_text(
        "".join(
            '{"flight": "KL2", "departure_at": "2026-11-20T08:00", "departure_place": "IST", '
            f'"booking_ref": "{booking}", "nationality": "NLD", '
            f'"mrz": "{_mrz(number, surname, given, born, break_digit=broken)}"}}\n'
            for surname, given, born, number, broken, booking in rows
        )
    )
    stolen = tmp_path / "sltd.csv"
    stolen.write_text("number,issuing_state,reported_on,status\nNX3333333,NLD,2025-01-01,stolen\n")
    watchlist = tmp_path / "national.csv"
    watchlist.write_text(
        "id,name,kind,aliases,date_of_birth,nationality\n1,Ivan Petrov,person,,1970-02-03,NL\n"
    )
    with session_scope(session_factory) as session:
        service.ingest_travellers(session=session, path=earlier, agency="a1")
        assert service.ingest_travellers(session=session, path=today, agency="a1").travellers == 6
        service.load_lost_stolen(session=session, agency="a1", path=stolen)
        load_watchlist(session=session, path=watchlist, fmt="csv", list_name="national")
    policy = TravellerPolicy(control_rate=0.0, referral_capacity=5)
    with session_scope(session_factory) as session:
        movement, assessments = service.check_movement(session=session, agency="a1", key="KL2", policy=policy)
        names = service.traveller_names(session=session, movement_id=movement.id)
    found = {names[a.key]: ([r.code for r in a.reasons], a.referred) for a in assessments}
    assert found["JAN JANSEN"] == ([], False)
    assert found["KEES DE VRIES"] == (["mrz_check_digit"], True)
    assert found["ANNA VISSER"] == (["document_lost_stolen"], True)
    assert found["ERIK SMIT"] == (["document_two_holders"], True)
    assert found["IVAN PETROV"] == (["watchlist_hit"], True)
    assert found["OLGA PETROVA"] == (["co_traveller_flagged"], True)
    with session_factory() as session:
        checks = session.scalars(select(TravellerCheckRow).order_by(TravellerCheckRow.id)).all()
        assert sorted(c.code for c in checks) == sorted(
            [
                "mrz_check_digit",
                "document_lost_stolen",
                "document_two_holders",
                "watchlist_hit",
                "co_traveller_flagged",
            ]
        )
        two = next(c for c in checks if c.code == "document_two_holders")
        assert two.evidence["other_holders"] == ["BAKKER|PIET|1960-01-01"]
        assert two.document_id is not None
    with session_scope(session_factory) as session:  # checking again replaces, not adds
        service.check_movement(session=session, agency="a1", key="KL2", policy=policy)
    with session_factory() as session:
        assert _count(session, TravellerCheckRow) == 5
        assert _count(session, TravellerAssessmentRow) == 6


def test_a_traveller_named_like_a_trader_with_an_open_case_is_linked(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    import datetime as dt

    import polars as pl

    from borderwatch.db.session import make_engine
    from borderwatch.ingest.service import ingest_file
    from borderwatch.inspections.service import open_cases
    from borderwatch.lanes.policy import Capacity, LanePolicy
    from borderwatch.lanes.service import assign_lanes
    from tests.integration.api_support import declaration_json

    declaration = declaration_json("L-1")
    declaration["parties"]["seller"]["name"] = "Jan Visser"  # type: ignore[index]
    path = tmp_path / "declarations.jsonl"
    path.write_text(json.dumps(declaration) + "\n")
    engine = make_engine(database_url)
    ingest_file(engine=engine, path=path, fmt="jsonl", agency="a1")
    engine.dispose()
    scored = pl.DataFrame(
        {
            "lrn": ["L-1"],
            "declared_on": [dt.date(2026, 3, 1)],
            "office": ["30"],
            "score": [90.0],
            "fraud_probability": [0.9],
            "forced_lane": pl.Series([None], dtype=pl.String),
        }
    )
    policy = LanePolicy(red=Capacity(default=1), control_rate=0.0)
    with session_scope(session_factory) as session:
        open_cases(
            session=session,
            decisions=assign_lanes(session=session, scored=scored, policy=policy, agency="a1"),
            agency="a1",
        )
    listing = tmp_path / "list.csv"
    listing.write_text("flight,surname,given_names,doc_number\nKL5,VISSER,JAN,NX9\nKL5,BAKKER,PIET,NX8\n")
    with session_scope(session_factory) as session:
        service.ingest_travellers(session=session, path=listing, agency="a1")
        traders = service.traders_under_investigation(session=session, agency="a1")
        assert sorted(t.names for t in traders) == [("Importer IMP1",), ("Jan Visser",)]
        movement, assessments = service.check_movement(
            session=session, agency="a1", key="KL5", policy=TravellerPolicy(control_rate=0.0)
        )
        names = service.traveller_names(session=session, movement_id=movement.id)
    found = {
        names[a.key]: [r.evidence.get("via") for r in a.reasons if r.code == "trader_link"]
        for a in assessments
    }
    assert found == {"JAN VISSER": ["name"], "PIET BAKKER": []}


def test_a_corrected_quarantined_row_is_released_once(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    from borderwatch.core.errors import IngestError

    listing = tmp_path / "list.csv"
    listing.write_text("flight,surname,birth_date,doc_number\nXX1,DOE,1980-01-01,A1\nXX1,ROE,1980-02-30,A2\n")
    with session_scope(session_factory) as session:
        service.ingest_travellers(session=session, path=listing, agency="a1")
        (row,) = service.list_quarantine(session=session, agency="a1")
        record_id, raw = row.id, row.raw
    assert raw == "flight,surname,birth_date,doc_number\nXX1,ROE,1980-02-30,A2"
    with session_scope(session_factory) as session, pytest.raises(IngestError, match="birth_date"):
        service.release_quarantined(session=session, agency="a1", record_id=record_id)
    with pytest.raises(NotFoundError), session_scope(session_factory) as session:
        service.release_quarantined(session=session, agency="other", record_id=record_id)
    with session_scope(session_factory) as session:
        summary = service.release_quarantined(
            session=session, agency="a1", record_id=record_id, raw=raw.replace("02-30", "02-28")
        )
    assert (summary.travellers, summary.documents) == (1, 1)
    with session_scope(session_factory) as session, pytest.raises(IngestError, match="already released"):
        service.release_quarantined(session=session, agency="a1", record_id=record_id)
    with session_factory() as session:
        assert _count(session, TravellerRow) == 2
        assert service.list_quarantine(session=session, agency="a1") == []
