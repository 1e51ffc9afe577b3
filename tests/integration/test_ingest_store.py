"""The agreed loaders return exactly the frame schemas, current versions only, with their filters applied."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.ingest.frame import DECLARATION_SCHEMA, OUTCOME_SCHEMA
from borderwatch.ingest.models import DeclarationRow, GoodsItemRow, OutcomeRow
from borderwatch.ingest.store import load_declarations, load_outcomes, stored_days


def _declaration(
    lrn: str, day: int, *, version: int = 1, current: bool = True, agency: str = "a"
) -> DeclarationRow:
    row = DeclarationRow(
        lrn=lrn,
        version=version,
        is_current=current,
        content_hash=f"{lrn}-{version}".ljust(64, "0"),
        agency=agency,
        declared_on=date(2024, 1, day),
        office="30",
        importer_id="IMP",
    )
    row.items = [
        GoodsItemRow(item_no=1, hs_code="440890", customs_value=10.0 * version, currency="KRW", net_mass=1.0),
        GoodsItemRow(item_no=2, hs_code="690722", customs_value=5.0, currency="KRW"),
    ]
    return row


def _seed(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        session.add_all(
            [
                _declaration("A1", 1, version=1, current=False),
                _declaration("A1", 1, version=2),
                _declaration("B2", 5),
                _declaration("C3", 9, agency="b"),
            ]
        )
        session.add_all(
            [
                OutcomeRow(lrn="A1", agency="a", recorded_on=date(2024, 1, 3), fraud=True, critical_fraud=2),
                OutcomeRow(lrn="B2", agency="a", recorded_on=date(2024, 1, 6), fraud=False, critical_fraud=0),
                OutcomeRow(lrn="C3", agency="b", recorded_on=date(2024, 1, 9), fraud=False, critical_fraud=0),
            ]
        )
        session.commit()


def test_load_declarations_current_versions_items_and_filters(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    frame = load_declarations(engine)
    assert frame.schema == DECLARATION_SCHEMA
    assert frame.height == 6  # three current declarations, two items each
    a1 = frame.filter(lrn="A1", item_no=1)
    assert a1["customs_value"].to_list() == [20.0]  # version 2, not the superseded version 1
    assert set(load_declarations(engine, agency="b")["lrn"]) == {"C3"}
    assert set(load_declarations(engine, since=date(2024, 1, 5))["lrn"]) == {"B2", "C3"}
    assert set(load_declarations(engine, until=date(2024, 1, 5))["lrn"]) == {"A1", "B2"}
    assert set(load_declarations(engine, lrns=["B2", "nope"])["lrn"]) == {"B2"}


def test_load_outcomes_schema_since_and_before(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    frame = load_outcomes(engine)
    assert frame.schema == OUTCOME_SCHEMA
    assert frame.sort("lrn")["fraud"].to_list() == [1, 0, 0]
    assert frame.sort("lrn")["critical_fraud"].to_list() == [2, 0, 0]
    assert load_outcomes(engine, before=date(2024, 1, 6))["lrn"].to_list() == ["A1"]
    assert load_outcomes(engine, since=date(2024, 1, 6))["lrn"].to_list() == ["B2", "C3"]
    assert load_outcomes(engine, agency="b")["lrn"].to_list() == ["C3"]


def test_stored_days_count_every_version_and_tell_what_changed(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    before = stored_days(engine, agency="a", before=date(2024, 1, 9))
    assert before.declarations == {date(2024, 1, 1): (2, 1), date(2024, 1, 5): (1, 1)}
    assert before.outcomes == {date(2024, 1, 3): 1, date(2024, 1, 6): 1}
    assert before.changed_since(before) == set()
    with session_factory() as session:
        # B2 amended to a later day: its old day keeps its row but loses its current declaration
        old = session.query(DeclarationRow).filter_by(lrn="B2").one()
        old.is_current = False
        session.add(_declaration("B2", 7, version=2))
        session.add(OutcomeRow(lrn="A1", agency="a", recorded_on=date(2024, 1, 3), fraud=False))
        session.commit()
    after = stored_days(engine, agency="a", before=date(2024, 1, 9))
    assert after.declarations[date(2024, 1, 5)] == (1, 0)
    assert after.changed_since(before) == {date(2024, 1, 3), date(2024, 1, 5), date(2024, 1, 7)}


def test_loaders_on_empty_database(engine: Engine) -> None:
    assert load_declarations(engine).schema == DECLARATION_SCHEMA
    assert load_outcomes(engine).is_empty()
    assert stored_days(engine).changed_since(stored_days(engine, agency="a")) == set()
