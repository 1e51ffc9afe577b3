"""The traveller pages: referral queue, passenger list, traveller file; authenticated, per agency, audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from borderwatch.access.models import AuditRow
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.travellers import compose_mrz, service
from borderwatch.travellers.risk import TravellerPolicy
from tests.integration.api_support import World, build_world, client_for


def _mrz(number: str, surname: str, given: str) -> str:
    return compose_mrz(
        fmt="TD3",
        document_number=number,
        issuing_state="NLD",
        nationality="NLD",
        surname=surname,
        given_names=given,
        birth_date="800101",
        sex="F",
        expiry_date="300101",
    ).replace("\n", "\\n")


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings)
    lists = {}
    for agency, flight in (("a", "KL1"), ("b", "KL9")):
        path = tmp_path / f"{agency}.jsonl"
        path.write_text(
            f'{{"flight": "{flight}", "departure_at": "2026-11-20T08:00", "booking_ref": "B1", '
            f'"mrz": "{_mrz("NX1111111", "JANSEN", "ANNA")}"}}\n'
            f'{{"flight": "{flight}", "departure_at": "2026-11-20T08:00", "booking_ref": "B1", '
            f'"mrz": "{_mrz("NX2222222", "JANSEN", "PIET")}"}}\n'
        )
        lists[agency] = path
    stolen = tmp_path / "sltd.csv"
    stolen.write_text("number,issuing_state\nNX1111111,NLD\n")
    engine = make_engine(settings.database_url)
    with session_scope(session_factory(engine)) as session:
        for agency, path in lists.items():
            service.ingest_travellers(session=session, path=path, agency=agency)
            service.load_lost_stolen(session=session, agency=agency, path=stolen)
            service.check_movement(
                session=session,
                agency=agency,
                key="KL1" if agency == "a" else "KL9",
                policy=TravellerPolicy(),
            )
    engine.dispose()
    return world


def test_queue_movement_and_traveller_pages(world: World) -> None:
    headers = world.auth("inspector_a")
    with client_for(world.settings) as client:
        queue = client.get("/travellers", headers=headers)
        assert queue.status_code == 200, queue.text
        assert "ANNA JANSEN" in queue.text and "document_lost_stolen" in queue.text
        assert "KL9" not in queue.text  # another agency's movement
        movement_id = int(queue.text.split('href="/travellers/movements/')[1].split('"')[0])
        listing = client.get(f"/travellers/movements/{movement_id}", headers=headers)
        assert listing.status_code == 200
        assert "PIET JANSEN" in listing.text and "co_traveller_flagged" in listing.text
        traveller_id = int(queue.text.split('href="/travellers/')[1].split('"')[0])
        page = client.get(f"/travellers/{traveller_id}", headers=headers)
        assert page.status_code == 200
        assert "NX1111111" in page.text and "P&lt;NLDJANSEN" in page.text
        assert "same booking" in page.text
    engine = make_engine(world.settings.database_url)
    with session_factory(engine)() as session:
        audited = session.scalars(select(AuditRow.resource_id).where(AuditRow.resource == "traveller")).all()
    engine.dispose()
    assert f"traveller {traveller_id}" in audited


def test_other_agencies_and_anonymous_callers_see_nothing(world: World) -> None:
    with client_for(world.settings) as client:
        queue = client.get("/travellers", headers=world.auth("analyst_a"))
        traveller_id = int(queue.text.split('href="/travellers/')[1].split('"')[0])
        assert client.get(f"/travellers/{traveller_id}", headers=world.auth("analyst_b")).status_code == 404
        assert client.get("/travellers/999999", headers=world.auth("analyst_a")).status_code == 404
        anonymous = client.get(f"/travellers/{traveller_id}", follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
