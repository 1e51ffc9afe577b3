"""Plate reads stored in SQLite and PostgreSQL: cameras, bad input quarantined, hotlist alerts, the CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from borderwatch.access.models import AuditRow
from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.db.session import session_scope
from borderwatch.vehicles import service
from borderwatch.vehicles.models import PlateReadRow, VehicleAlertRow, VehicleQuarantineRow

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
CAMERAS = """camera_id,crossing,lane,direction,latitude,longitude,name
C1,DOVER,1,in,51.127,1.313,Dover east dock
C2,DOVER,2,out,51.127,1.314,Dover east dock out
C3,FOLKESTONE,1,in,51.094,1.141,Eurotunnel
"""
READS = """read_id,camera_id,read_at,plate,country,confidence,direction
r1,C1,2026-12-03T10:00:00Z,AB12 CDE,GB,0.97,
r2,C2,2026-12-03T10:05:00+00:00,A812 C0E,GB,0.90,out
r3,C9,2026-12-03T10:06:00Z,XY99ZZZ,GB,0.9,
r4,C1,2026-12-04T10:06:00Z,XY99ZZZ,GB,0.9,
r5,C1,yesterday,XY99ZZZ,GB,0.9,
r6,C1,2026-12-03T10:07:00Z,,GB,0.9,
r7,C1,2026-12-03T10:08:00Z,XY99ZZZ,QQ,0.9,
r8,C1,2026-12-03T10:09:00Z,XY99ZZZ,GB,1.7,
r9,C3,2026-12-03T10:10:00,GH-123-JK,FR,0.8,in
r10,C1,"2026-12-03T10:11:00Z
"""
HOTLIST = (
    "plate,country,reason,reference\nAB12CDE,GB,stolen vehicle,PNC-1\nGH124JK,FR,partner report,OLAF-7\n"
)


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    cameras, reads, hotlist = tmp_path / "cameras.csv", tmp_path / "reads.csv", tmp_path / "hot.csv"
    cameras.write_text(CAMERAS)
    reads.write_text(READS)
    hotlist.write_text(HOTLIST)
    return cameras, reads, hotlist


@pytest.mark.parametrize("path", ["stream", "bulk"])
def test_reads_stored_bad_ones_quarantined_and_hotlist_hits_alerted(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    if path == "bulk":  # a file's batch above the stream size: key look-up and the bulk writer
        monkeypatch.setattr(service, "STREAM_READS", 0)
    cameras, reads, hotlist = _files(tmp_path)
    with session_scope(session_factory) as session:
        assert service.load_cameras(session=session, agency="a1", path=cameras) == 3
        assert service.load_hotlist(session=session, agency="a1", list_name="national", path=hotlist) == 2
    with session_scope(session_factory) as session:
        summary = service.ingest_reads(session=session, agency="a1", path=reads, now=NOW)
    assert (summary.reads, summary.quarantined) == (3, 7)
    reasons = "\n".join(summary.problems)
    for expected in (
        "line 4, camera_id: 'C9' is not a known camera",
        "line 5, read_at: '2026-12-04T10:06:00Z' is in the future",
        "line 6, read_at: 'yesterday' is not an ISO 8601 time",
        "line 7, plate: is missing",
        "line 8, country: 'QQ' is not an ISO 3166",
        "line 9, confidence: '1.7' is not between 0 and 1",
        "line 11, record: is not CSV",
    ):
        assert expected in reasons
    # r1 exact, r2 a look-alike misread of the same plate, r9 one character off a partner's plate
    assert summary.alerts == 3
    with session_factory() as session:
        stored = {r.source_id: r for r in session.scalars(select(PlateReadRow))}
        assert stored["r2"].plate == "AB12COE" and stored["r2"].original == "A812 C0E"
        assert stored["r2"].direction == "out" and stored["r9"].direction == "in"
        assert stored["r9"].read_at.replace(tzinfo=dt.UTC) == dt.datetime(2026, 12, 3, 10, 10, tzinfo=dt.UTC)
        alerts = {a.evidence["read_plate"]: a for a in session.scalars(select(VehicleAlertRow))}
        assert alerts["AB12CDE"].evidence["match"] == "exact"
        assert alerts["AB12COE"].evidence["match"] == "lookalike"
        assert alerts["GH123JK"].evidence["match"] == "one_edit"
        assert all(a.read_id is not None and (a.latency_ms or 0) < 1000 for a in alerts.values())
        # one audit entry per plate alerted in the batch, naming the alerts and the reads that raised them
        audited = {
            row.resource_id: row.detail or {}
            for row in session.scalars(select(AuditRow).where(AuditRow.action == "alert"))
        }
        assert set(audited) == {"AB12CDE", "AB12COE", "GH123JK"}
        named = audited["AB12COE"]["alerts"]
        assert [(a["alert_id"], a["read_id"]) for a in named] == [(alerts["AB12COE"].id, stored["r2"].id)]
    with session_scope(session_factory) as session:
        again = service.ingest_reads(session=session, agency="a1", path=reads, now=NOW)
    assert (again.reads, again.duplicates, again.quarantined, again.already_quarantined) == (0, 3, 0, 7)
    assert again.alerts == 0
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(VehicleQuarantineRow)) == 7


def test_process_reads_takes_records_as_a_worker_gets_them(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    cameras, _, hotlist = _files(tmp_path)
    with session_scope(session_factory) as session:
        service.load_cameras(session=session, agency="a1", path=cameras)
        service.load_hotlist(session=session, agency="a1", list_name="seizure", path=hotlist)
    records: list[dict[str, object]] = [
        {"camera_id": "C1", "read_at": "2026-12-03T11:00:00Z", "plate": "AB12CDE", "country": "GB"},
        {"camera_id": "C1", "read_at": "2026-12-03T11:00:00Z", "plate": ["not", "text"]},
        {"camera_id": "C3", "read_at": "2026-12-03T11:01:00Z", "plate": "ZZ99ZZZ", "country": "GB"},
    ]
    with session_scope(session_factory) as session:
        summary = service.process_reads(session=session, agency="a1", records=records, source="http", now=NOW)
    assert (summary.reads, summary.quarantined, summary.alerts) == (2, 1, 1)
    assert "record 2, plate: is a list, not text" in summary.problems[0]
    # another agency's cameras and hotlists are its own
    with session_scope(session_factory) as session:
        other = service.process_reads(
            session=session, agency="a2", records=records[:1], source="http", now=NOW
        )
    assert (other.reads, other.quarantined, other.alerts) == (0, 1, 0)


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_loads_ingests_and_lists_alerts(cli: CliRunner, tmp_path: Path) -> None:
    cameras, reads, hotlist = _files(tmp_path)
    assert cli.invoke(app, ["vehicles", "cameras", str(cameras)]).exit_code == 0
    result = cli.invoke(app, ["vehicles", "hotlist", "load", "nationl", str(hotlist)])
    assert result.exit_code == 2 and "unknown hotlist 'nationl'" in result.output
    assert cli.invoke(app, ["vehicles", "hotlist", "load", "national", str(hotlist)]).exit_code == 0
    out = tmp_path / "summary.json"
    result = cli.invoke(app, ["vehicles", "ingest", str(reads), "--json", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())[0]
    # judged against today's clock: the read of 2026-12-04 is in the future only before that day
    assert summary["alerts"] == 3 and summary["quarantined"] in (6, 7)
    result = cli.invoke(app, ["vehicles", "alerts"])
    assert result.exit_code == 0 and "hotlist_national" in result.output
    result = cli.invoke(app, ["vehicles", "quarantine", "list"])
    assert result.exit_code == 0 and "not a known camera" in result.output


def test_generated_crossings_through_the_store_find_the_planted_patterns(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    from borderwatch.synthetic import CrossingConfig, generate_crossings, write_crossings

    world = generate_crossings(
        CrossingConfig(reads=15_000, seed=3, clones=5, convoys=5, shuttles=5, undeclared=5, mismatches=5)
    )
    paths = write_crossings(world, tmp_path / "world")
    with session_scope(session_factory) as session:
        service.load_cameras(session=session, agency="a1", path=paths["cameras.csv"])
        service.load_declared_vehicles(session=session, agency="a1", path=paths["declared.csv"])
        summary = service.ingest_reads(
            session=session, agency="a1", path=paths["reads.csv"], now=NOW.replace(year=2027)
        )
    assert summary.reads == world.reads.height and summary.quarantined == 0
    with session_scope(session_factory) as session:
        analysis = service.analyse(session=session, agency="a1")
    assert analysis.reads == world.reads.height
    with session_scope(session_factory) as session:
        again = service.analyse(session=session, agency="a1")
    assert again.stored == 0  # the same findings are not stored twice
    with session_factory() as session:
        alerts = service.list_alerts(session=session, agency="a1", limit=1000)
    clones = {a.plate for a in alerts if a.code == "cloned_plate"}
    assert clones == {c["plate"] for c in world.truth["clones"]}
    mismatched = {a.evidence["lrn"] for a in alerts if a.code == "transport_mismatch"}
    assert {m["lrn"] for m in world.truth["mismatches"]} <= mismatched
    convoy_plates = {a.plate for a in alerts if a.code == "convoy"}
    assert {p for c in world.truth["convoys"] for p in c["plates"]} <= convoy_plates
    # a declaration naming a vehicle with alerts gets them as reasons
    lrns = [m["lrn"] for m in world.truth["mismatches"]]
    with session_factory() as session:
        reasons = service.declaration_reasons(session=session, agency="a1", lrns=[*lrns, "NO-SUCH-LRN"])
    assert set(reasons) == set(lrns)
    assert all(r["family"] == "vehicle" and r["points"] > 0 for rs in reasons.values() for r in rs)
    assert {r["code"] for rs in reasons.values() for r in rs} == {"vehicle_transport_mismatch"}


def test_a_worker_holding_an_old_hotlist_index_sees_another_process_change_it(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cameras, _, _ = _files(tmp_path)
    with session_scope(session_factory) as session:
        service.load_cameras(session=session, agency="a1", path=cameras)
        entry = service.add_to_hotlist(
            session=session, agency="a1", list_name="partner", plate="XY99ZZZ", country="GB", reason="intel"
        )
        entry_id = entry.id

    def read(minute: int) -> int:
        record = {"camera_id": "C1", "read_at": f"2026-12-03T11:{minute:02d}:00Z", "plate": "XY99ZZZ"}
        with session_scope(session_factory) as session:
            return service.process_reads(
                session=session, agency="a1", records=[record], source="w", now=NOW
            ).alerts

    assert read(1) == 1
    held = dict(service.INDEX_CACHE)  # this worker's index, as another process removing the entry leaves it
    with session_scope(session_factory) as session:
        service.remove_from_hotlist(session=session, agency="a1", entry_id=entry_id)
    service.INDEX_CACHE.update(held)
    monkeypatch.setattr(service, "RECHECK_SECONDS", 0.0)
    assert read(2) == 0  # the version moved on: the index is rebuilt without the entry
