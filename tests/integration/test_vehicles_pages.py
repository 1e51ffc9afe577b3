"""Vehicle pages and the HTTP read endpoint: authenticated, per agency, audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from borderwatch.access.models import AuditRow
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.vehicles import service
from tests.integration.api_support import World, build_world, client_for

CAMERAS = (
    "camera_id,crossing,direction,latitude,longitude\nC1,DOVER,in,51.12,1.31\nC2,CALAIS,out,50.96,1.85\n"
)


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings)
    cameras = tmp_path / "cameras.csv"
    cameras.write_text(CAMERAS)
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        for agency in ("a", "b"):
            service.load_cameras(session=session, agency=agency, path=cameras)
        service.add_to_hotlist(
            session=session, agency="a", list_name="seizure", plate="AB12CDE", country="GB", reason="case 7"
        )
    engine.dispose()
    return world


def test_reads_over_http_raise_alerts_seen_on_the_queue_and_the_vehicle_page(world: World) -> None:
    reads = [
        {"camera_id": "C1", "read_at": "2026-11-20T08:00:00Z", "plate": "A812 CDE", "country": "GB"},
        {"camera_id": "C2", "read_at": "2026-11-20T09:00:00Z", "plate": "AB12CDE", "country": "GB"},
        {"camera_id": "C9", "read_at": "2026-11-20T09:00:00Z", "plate": "AB12CDE", "country": "GB"},
    ]
    with client_for(world.settings) as client:
        refused = client.post("/api/vehicles/reads", json={"reads": reads}, headers=world.auth("inspector_a"))
        assert refused.status_code == 403  # inspectors read vehicles; analysts and supervisors send reads
        answer = client.post("/api/vehicles/reads", json={"reads": reads}, headers=world.auth("analyst_a"))
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body["stored"], body["quarantined"], body["alerts"]) == (2, 1, 2)
        assert "'C9' is not a known camera" in body["problems"][0]
        queue = client.get("/vehicles", headers=world.auth("inspector_a"))
        assert queue.status_code == 200 and "AB12CDE" in queue.text and "seizure" in queue.text
        assert "exact match" in queue.text  # A812 CDE was repaired to the GB format
        assert "AB12CDE" not in client.get("/vehicles", headers=world.auth("inspector_b")).text
        page = client.get("/vehicles/plates/AB12CDE", headers=world.auth("inspector_a"))
        assert page.status_code == 200 and "A812 CDE" in page.text and "repaired 2:8&gt;B" in page.text
        assert "<svg" in page.text
        assert client.get("/vehicles/plates/AB12CDE", headers=world.auth("inspector_b")).status_code == 404
        hotlists = client.get("/vehicles/hotlists", headers=world.auth("analyst_a"))
        assert hotlists.status_code == 200 and "case 7" in hotlists.text
        anonymous = client.get("/vehicles", follow_redirects=False)
        assert anonymous.status_code == 303
    engine = make_engine(world.settings.database_url)
    with session_factory(engine)() as session:
        audited = set(session.scalars(select(AuditRow.resource_id).where(AuditRow.resource == "vehicle")))
        actions = set(session.scalars(select(AuditRow.action).where(AuditRow.resource == "vehicle")))
    engine.dispose()
    assert "vehicle AB12CDE" in audited and "AB12CDE" in audited  # the page read and the alert raised
    assert {"alert", "read", "create"} <= actions
