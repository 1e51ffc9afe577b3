"""Re-screening on a list update: exactly the new hits become alerts, once, audited; decisions hold."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from borderwatch.access.models import AuditRow
from borderwatch.db.session import session_scope
from borderwatch.ingest.models import DeclarationRow
from borderwatch.screening import service
from borderwatch.screening.models import ScreeningAlertRow, ScreeningHitRow
from borderwatch.screening.rescreen import list_alerts, rescreen_changes

SDN_ROW = '{n},"{name}",{kind},"{programme}",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n'


def _sdn(folder: Path, rows: list[tuple[int, str, str]], programme: str = "SDGT") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sdn.csv"
    path.write_text(
        "".join(SDN_ROW.format(n=n, name=name, kind=kind, programme=programme) for n, name, kind in rows)
    )
    return path


V1 = [(1, "PETROV, Ivan", '"individual"'), (2, "OCEAN STAR SHIPPING LLC", "-0- ")]


def _declare(factory: sessionmaker[Session], lrn: str, seller: str, *, days_ago: int, agency: str) -> None:
    with session_scope(factory) as session:
        session.add(
            DeclarationRow(
                lrn=lrn,
                content_hash=lrn,
                agency=agency,
                declared_on=date.today() - timedelta(days=days_ago),
                office="020",
                importer_id="IMP1",
                seller_id=f"S-{lrn}",
                parties={"importer": {"id": "IMP1", "name": "Busan Foods Co."}, "seller": {"name": seller}},
            )
        )


def _load(factory: sessionmaker[Session], engine: Engine, path: Path, agency: str = "kcs") -> list[str]:
    with session_scope(factory) as session:
        reports = service.load_watchlist(session=session, path=path)
        report = rescreen_changes(
            engine=engine, session=session, reports=reports, agency=agency, actor="loader", days=30
        )
        return sorted(f"{a.party_name}->{a.entity_id}" for a in report.alerts)


def test_a_list_update_alerts_exactly_the_new_hits_once(
    session_factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    assert _load(session_factory, engine, _sdn(tmp_path / "v1", V1)) == []  # no parties known yet
    _declare(session_factory, "L-1", "Tarding House Andromeda LLC", days_ago=3, agency="kcs")
    _declare(session_factory, "L-2", "Ivan Petrov", days_ago=2, agency="kcs")
    _declare(session_factory, "L-3", "Zebulon Quartermaine", days_ago=90, agency="kcs")  # too old
    _declare(session_factory, "L-4", "Zebulon Quartermaine", days_ago=1, agency="other")  # not ours
    v2 = [*V1, (3, "TRADING HOUSE ANDROMEDA LLC", "-0- "), (4, "QUARTERMAINE, Zebulon", '"individual"')]
    # Ivan Petrov matches an unchanged entry: not re-screened, no alert; the new entries' hits are alerted.
    assert _load(session_factory, engine, _sdn(tmp_path / "v2", v2)) == [
        "Tarding House Andromeda LLC->ofac:3"
    ]
    # The same list again, and a change to entry 3 that keeps its names: no second alert.
    assert _load(session_factory, engine, _sdn(tmp_path / "v2", v2)) == []
    v3 = [*V1, (3, "TRADING HOUSE ANDROMEDA LLC", "-0- "), (4, "QUARTERMAINE, Zebulon", "-0- ")]
    assert _load(session_factory, engine, _sdn(tmp_path / "v3", v3)) == []
    with session_scope(session_factory) as session:
        (alert,) = list_alerts(session=session, agency="kcs")
        assert alert.lrn == "L-1" and alert.role == "seller" and alert.score >= 0.75
        assert "letter" in alert.explanation or "tarding~trading" in alert.explanation
        audited = session.scalar(
            select(func.count()).select_from(AuditRow).where(AuditRow.resource_id.like("alert:%"))
        )
        assert audited == 1
        assert list_alerts(session=session, agency="other") == []
        # in the review queue, open, once
        (queued,) = session.scalars(select(ScreeningHitRow).where(ScreeningHitRow.agency == "kcs")).all()
        assert (queued.lrn, queued.entity_id, queued.status) == ("L-1", "ofac:3", "open")


def test_a_ruled_out_hit_raises_no_alert_on_reload(
    session_factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    _load(session_factory, engine, _sdn(tmp_path / "v1", V1))
    _declare(session_factory, "L-9", "Ocean Star Shiping", days_ago=1, agency="kcs")
    with session_scope(session_factory) as session:
        service.record_decision(
            session=session,
            agency="kcs",
            query_name="Ocean Star Shiping",
            entity_id="ofac:2",
            decision=service.NOT_MATCH,
            analyst="ana",
        )
    # Every entry changed (another programme): all re-screened, the ruled-out hit stays suppressed, and
    # another agency, whose analysts did not rule it out, is alerted.
    assert _load(session_factory, engine, _sdn(tmp_path / "v2", V1, programme="IRAN")) == []
    _declare(session_factory, "L-10", "Ocean Star Shiping", days_ago=1, agency="other")
    with session_scope(session_factory) as session:
        reports = service.load_watchlist(session=session, path=_sdn(tmp_path / "v3", V1, programme="SDNT"))
        report = rescreen_changes(
            engine=engine, session=session, reports=reports, agency="other", actor="loader"
        )
        assert [(a.party_name, a.entity_id) for a in report.alerts] == [("Ocean Star Shiping", "ofac:2")]
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(ScreeningAlertRow)) == 1
