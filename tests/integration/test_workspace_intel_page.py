"""The Intelligence page (what partners sent, by partner, with its TLP; one agency's inbox never shown to
another) and the "share" form of a closed case with a seizure, through the browser's forms."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from borderwatch.access.models import AuditRow
from borderwatch.access.policy import TLP
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import ingest_declarations
from borderwatch.inspections.service import open_cases, record_outcome
from borderwatch.intel import exchange, sharing, store
from borderwatch.intel.models import IntelObjectRow, ShareDecisionRow
from borderwatch.intel.stix import indicator_object, sighting_object
from borderwatch.scoring.profiles import RiskProfile
from tests.integration.api_support import build_world, client_for
from tests.integration.test_api_workspace import login

PAGE = {"accept": "text/html"}
OWN_INDICATOR = "indicator--0b0a3c1e-5d1f-4c3b-9d4e-2a6f8e7c9b10"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DECLARATION: dict[str, Any] = {
    "lrn": "S-1",
    "date": "2026-11-18",
    "office": "NZAKL",
    "transport": {"mode": "10", "departure_country": "MY", "origin_country": "VN"},
    "parties": {"importer": {"id": "IMP7", "name": "Harbour Imports Ltd", "country": "NZ"}},
    "items": [{"hs_code": "240220", "net_mass": 800.0, "customs_value": 1200.0, "currency": "NZD"}],
}


def _received_indicator() -> dict[str, Any]:
    profile = RiskProfile.model_validate(
        {
            "id": "RP-C1",
            "name": "cigarettes from VN via MY",
            "rationale": "seen in seizures",
            "author": "risk-unit",
            "when": {"all": [{"field": "hs_code", "op": "eq", "value": "240220"}]},
            "effect": {"add_points": 10},
        }
    )
    return indicator_object(profile, agency="c", tlp=TLP.AMBER, now=T0)


@pytest.fixture
def world(settings: Settings) -> dict[str, Any]:
    build_world(settings, agencies=("a", "b"), with_password=("analyst_a", "supervisor_a", "analyst_b"))
    engine = make_engine(settings.database_url)
    ingest_declarations(engine=engine, declarations=[Declaration.model_validate(DECLARATION)], agency="a")
    with session_scope(session_factory(engine)) as session:
        (case,) = open_cases(
            session=session, decisions=pl.DataFrame({"lrn": ["S-1"], "lane": ["red"]}), agency="a"
        )
        record_outcome(
            session=session,
            case_id=case.id,
            result="seizure",
            officer="inspector_a",
            recorded_on=date(2026, 11, 19),
            goods="cigarettes",
            quantity=40000,
            quantity_unit="pieces",
            concealment="false floor",
        )
        collection = store.add_collection(session=session, agency="a", title="partners", readers=["b"])
        sharing.add_group(session=session, agency="a", name="pacific", members=["b"], kinds=["seizure"])
        store.add_objects(  # what partner c sent agency a, as a pull stores it
            session=session,
            collection=exchange.inbox(session=session, agency="a"),
            objects=[_received_indicator()],
            provenance=store.Provenance(source_agency="c", source="https://c.example/taxii2/", tlp=TLP.AMBER),
        )
        store.add_objects(  # partner b's count of matches of one of a's indicators, sent back
            session=session,
            collection=exchange.inbox(session=session, agency="a"),
            objects=[
                sighting_object(
                    indicator_id=OWN_INDICATOR,
                    count=3,
                    agency="b",
                    tlp=TLP.GREEN,
                    first_seen=T0,
                    last_seen=T0,
                    now=T0,
                )
            ],
            provenance=store.Provenance(source_agency="b", source="https://b.example/taxii2/", tlp=TLP.GREEN),
        )
        found = {"case": case.id, "collection": collection.id}
    engine.dispose()
    return {"settings": settings, **found}


def test_an_analyst_sees_what_partners_sent_and_another_agency_does_not(world: dict[str, Any]) -> None:
    indicator_id = _received_indicator()["id"]
    with client_for(world["settings"]) as client:
        login(client, "analyst_a")
        page = client.get("/intel", headers=PAGE)
        assert page.status_code == 200
        assert 'id="partner-c"' in page.text and f'id="{indicator_id}"' in page.text
        assert "cigarettes from VN via MY" in page.text and "TLP:AMBER" in page.text
        assert 'href="/intel"' in page.text  # in the navigation
        assert 'id="sightings"' in page.text and f"b: 3 × {OWN_INDICATOR}" in page.text
        kept = client.get("/intel?partner=c&tlp=amber&type=indicator", headers=PAGE).text
        assert f'id="{indicator_id}"' in kept
        for other in ("partner=d", "tlp=red", "type=sighting"):
            assert indicator_id not in client.get(f"/intel?{other}", headers=PAGE).text
        assert client.get("/intel?tlp=purple", headers=PAGE).status_code == 422
    with client_for(world["settings"]) as client:
        login(client, "analyst_b")
        page = client.get("/intel", headers=PAGE)
        assert page.status_code == 200
        assert indicator_id not in page.text and "partner-c" not in page.text
        assert 'id="nothing-received"' in page.text and 'id="sightings"' not in page.text
    engine = make_engine(world["settings"].database_url)
    with session_scope(session_factory(engine)) as session:
        logged = session.scalars(
            select(AuditRow).where(AuditRow.resource == "intel", AuditRow.resource_id == "received")
        ).all()
    engine.dispose()
    assert sorted({row.actor for row in logged}) == ["analyst_a", "analyst_b"]
    assert len(logged) == 6  # every view of the page, the filtered ones too


def test_a_supervisor_shares_a_closed_seizure_from_the_case_page(world: dict[str, Any]) -> None:
    case_id = world["case"]
    with client_for(world["settings"]) as client:
        login(client, "analyst_a")
        assert 'id="share-form"' not in client.get(f"/cases/{case_id}").text  # analysts do not decide
    with client_for(world["settings"]) as client:
        csrf = login(client, "supervisor_a")
        page = client.get(f"/cases/{case_id}").text
        form = re.search(r'<form method="post" action="/cases/(\d+)/share" id="share-form">', page)
        assert form is not None and int(form.group(1)) == case_id
        assert 'name="csrf_token"' in page and f'value="{world["collection"]}"' in page
        assert 'value="pacific"' in page
        refused = client.post(
            f"/cases/{case_id}/share",
            data={"tlp": "amber", "collection": world["collection"], "csrf_token": csrf},
            headers=PAGE,
            follow_redirects=False,
        )
        assert refused.status_code == 403 and "sharing group" in refused.text
        no_csrf = client.post(
            f"/cases/{case_id}/share",
            data={"tlp": "amber", "group": "pacific", "collection": world["collection"]},
            follow_redirects=False,
        )
        assert no_csrf.status_code == 403
        shared = client.post(
            f"/cases/{case_id}/share",
            data={"tlp": "amber", "group": "pacific", "collection": world["collection"], "csrf_token": csrf},
            follow_redirects=False,
        )
        assert shared.status_code == 303 and shared.headers["location"].startswith(
            f"/cases/{case_id}?done=shared"
        )
        assert "Seizure shared" in client.get(shared.headers["location"]).text
    engine = make_engine(world["settings"].database_url)
    with session_scope(session_factory(engine)) as session:
        (decision,) = session.scalars(select(ShareDecisionRow)).all()
        rows = session.execute(
            select(IntelObjectRow.stix_type, IntelObjectRow.tlp, IntelObjectRow.group_id).where(
                IntelObjectRow.collection_id == world["collection"]
            )
        ).all()
        shares = session.scalars(
            select(AuditRow)
            .where(AuditRow.resource == "intel", AuditRow.resource_id == f"seizure:{case_id}")
            .order_by(AuditRow.id)
        ).all()
    engine.dispose()
    made = (decision.decided_by, decision.kind, decision.record_id)
    assert made == ("supervisor_a", "seizure", str(case_id))
    assert {t for t, _, _ in rows} >= {"incident", "identity", "extension-definition"}
    assert {tlp for t, tlp, _ in rows if t == "incident"} == {"amber"}
    assert all(group is not None for t, _, group in rows if t == "incident")
    assert [row.allowed for row in shares] == [False, True]
