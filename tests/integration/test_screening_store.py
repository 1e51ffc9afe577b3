"""Versioned watchlists in the database, analysts' decisions, and screening of declaration parties."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.core.errors import ConfigError
from borderwatch.db.session import session_scope
from borderwatch.ingest.frame import DECLARATION_SCHEMA, conform
from borderwatch.ingest.models import DeclarationRow
from borderwatch.screening import service
from borderwatch.screening.matcher import Query
from borderwatch.screening.models import WatchlistAliasRow, WatchlistEntryRow

SDN_ROW = '{n},"{name}",{kind},"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,{remarks}\n'


def _write_ofac(folder: Path, rows: list[tuple[int, str, str, str]], aliases: list[tuple[int, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sdn = folder / "sdn.csv"
    sdn.write_text(
        "".join(SDN_ROW.format(n=n, name=name, kind=kind, remarks=remarks) for n, name, kind, remarks in rows)
    )
    (folder / "alt.csv").write_text(
        "".join(f'{n},{i},"aka","{alias}",-0- \n' for i, (n, alias) in enumerate(aliases, start=1))
    )
    return sdn


BASE_ROWS = [
    (1, "PETROV, Ivan", '"individual"', '"DOB 03 Feb 1970; nationality Russia."'),
    (2, "OCEAN STAR SHIPPING LLC", "-0- ", "-0- "),
    (3, "GARCIA LOPEZ, Maria", '"individual"', "-0- "),
]


@pytest.fixture
def loaded(session_factory: sessionmaker[Session], tmp_path: Path) -> sessionmaker[Session]:
    sdn = _write_ofac(tmp_path / "v1", BASE_ROWS, [(1, "PETROFF, Ivan")])
    with session_scope(session_factory) as session:
        (report,) = service.load_watchlist(session=session, path=sdn)
    assert (report.entries, len(report.added), report.changed, report.removed) == (3, 3, [], [])
    return session_factory


def test_reload_reports_added_changed_removed(loaded: sessionmaker[Session], tmp_path: Path) -> None:
    rows = [
        BASE_ROWS[0],
        (2, "OCEAN STAR SHIPPING CO LLC", "-0- ", "-0- "),
        (4, "NEW PERSON, Ana", '"individual"', "-0- "),
    ]
    sdn = _write_ofac(tmp_path / "v2", rows, [(1, "PETROFF, Ivan")])
    with session_scope(loaded) as session:
        (report,) = service.load_watchlist(session=session, path=sdn)
    assert report.added == ["ofac:4"]
    assert report.changed == ["ofac:2"]
    assert report.removed == ["ofac:3"]
    with session_scope(loaded) as session:
        versions = service.list_versions(session=session)
        assert [(v.is_active, v.entry_count) for v in versions] == [(False, 3), (True, 3)]
        entries = {e.entity_id: e for e in service.active_entries(session=session)}
    assert set(entries) == {"ofac:1", "ofac:2", "ofac:4"}
    assert entries["ofac:1"].dobs == ("1970-02-03",) and entries["ofac:1"].nationalities == ("RU",)
    assert [a.name for a in entries["ofac:1"].aliases] == ["PETROFF, Ivan"]


def test_malformed_reload_keeps_the_previous_version_active(
    loaded: sessionmaker[Session], tmp_path: Path
) -> None:
    broken = tmp_path / "broken" / "sdn.csv"
    broken.parent.mkdir()
    broken.write_text('9,"HALF A ROW"\n')
    with pytest.raises(ConfigError, match="line 1 has 2 columns"), session_scope(loaded) as session:
        service.load_watchlist(session=session, path=broken)
    with session_scope(loaded) as session:
        (active,) = service.list_versions(session=session, active_only=True)
        assert active.entry_count == 3
        assert {e.entity_id for e in service.active_entries(session=session)} == {
            "ofac:1",
            "ofac:2",
            "ofac:3",
        }
        assert service.get_entry(session=session, entity_id="ofac:3").name == "GARCIA LOPEZ, Maria"


def test_not_a_match_decision_suppresses_the_same_false_positive(loaded: sessionmaker[Session]) -> None:
    with session_scope(loaded) as session:
        matcher = service.build_matcher(session=session)
    query = Query(name="Maria Garcia Lopez")
    (before,) = service.screen_queries(matcher=matcher, queries=[query])
    assert [m.entity_id for m in before] == ["ofac:3"]
    with session_scope(loaded) as session:
        service.record_decision(
            session=session,
            agency="a",
            query_name="MARIA GARCIA-LOPEZ",
            entity_id="ofac:3",
            decision="not_match",
            analyst="ana",
        )
        suppressed = service.suppressed_pairs(session=session, agency="a")
        # Agency a's verdict binds agency a only: agency b still sees the hit.
        assert service.suppressed_pairs(session=session, agency="b") == set()
    (after,) = service.screen_queries(matcher=matcher, queries=[query], suppressed=suppressed)
    assert after == []
    # The decision is about this name and this entry only.
    (other,) = service.screen_queries(
        matcher=matcher, queries=[Query(name="Ivan Petrov")], suppressed=suppressed
    )
    assert [m.entity_id for m in other] == ["ofac:1"]
    with session_scope(loaded) as session:
        service.record_decision(
            session=session,
            agency="a",
            query_name="Maria Garcia Lopez",
            entity_id="ofac:3",
            decision="match",
            analyst="bo",
        )
        assert service.suppressed_pairs(session=session, agency="a") == set()


def test_screen_declarations_reads_party_names_from_stored_declarations(
    loaded: sessionmaker[Session], engine: Engine
) -> None:
    with session_scope(loaded) as session:
        for lrn, seller in (("L-1", "Ocean Star Shipping L.L.C."), ("L-2", "Harmless Textiles Ltd")):
            session.add(
                DeclarationRow(
                    lrn=lrn,
                    content_hash=lrn,
                    declared_on=date(2024, 3, 1),
                    office="020",
                    importer_id="IMP0001",
                    seller_id=f"S-{lrn}",
                    parties={
                        "importer": {"id": "IMP0001", "name": "Busan Foods Co."},
                        "seller": {"id": f"S-{lrn}", "name": seller, "country": "AE"},
                    },
                )
            )
    declarations = conform(pl.DataFrame({"lrn": ["L-1", "L-2"]}), DECLARATION_SCHEMA)
    with session_scope(loaded) as session:
        hits = service.screen_declarations(
            engine=engine, session=session, declarations=declarations, agency="default"
        )
    assert hits.columns == list(service.HIT_SCHEMA)
    assert hits.select("lrn", "role", "party_id", "entity_id").rows() == [
        ("L-1", "seller", "S-L-1", "ofac:2")
    ]
    assert hits["score"][0] >= 0.7 and "ocean" in hits["explanation"][0]


def test_real_un_list_is_stored_and_screened(
    session_factory: sessionmaker[Session], shared_data: Path
) -> None:
    with session_scope(session_factory) as session:
        (report,) = service.load_watchlist(
            session=session, path=shared_data / "watchlists" / "un_consolidated.xml"
        )
    assert (report.list_name, report.entries, len(report.added)) == ("un_sc", 1003, 1003)
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(WatchlistEntryRow)) == 1003
        aliases = session.scalar(select(func.count()).select_from(WatchlistAliasRow))
        assert aliases is not None and aliases > 2000
        matcher = service.build_matcher(session=session)
    (matches,) = service.screen_queries(
        matcher=matcher, queries=[Query(name="Eric Badege", date_of_birth="1971")]
    )
    assert [m.entity_id for m in matches] == ["un:6907993"]
