"""The Intelligence page (what partners sent, by partner, with its TLP; one agency's inbox never shown to
another) and the "share" form of a closed case with a seizure, through the browser's forms."""

from __future__ import annotations

import html
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


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)
    assert found is not None, name
    return html.unescape(found.group(1))


def test_a_supervisor_previews_then_shares_a_closed_seizure_and_sees_it_listed(world: dict[str, Any]) -> None:
    case_id = world["case"]
    with client_for(world["settings"]) as client:
        login(client, "analyst_a")
        assert 'id="share-form"' not in client.get(f"/cases/{case_id}").text  # analysts do not decide
    with client_for(world["settings"]) as client:
        csrf = login(client, "supervisor_a")
        page = client.get(f"/cases/{case_id}").text
        form = re.search(r'<form method="post" action="/cases/(\d+)/share/preview" id="share-form">', page)
        assert form is not None and int(form.group(1)) == case_id
        assert 'name="csrf_token"' in page and f'value="{world["collection"]}"' in page
        assert 'value="pacific"' in page
        chosen = {"tlp": "amber", "collection": world["collection"], "csrf_token": csrf}
        refused = client.post(f"/cases/{case_id}/share/preview", data=chosen, headers=PAGE)
        assert refused.status_code == 403 and "sharing group" in refused.text
        chosen["group"] = "pacific"
        no_csrf = client.post(
            f"/cases/{case_id}/share/preview", data={k: v for k, v in chosen.items() if k != "csrf_token"}
        )
        assert no_csrf.status_code == 403
        unpreviewed = client.post(f"/cases/{case_id}/share", data=chosen, follow_redirects=False)
        assert unpreviewed.status_code == 422 and "preview" in unpreviewed.text
        preview = client.post(f"/cases/{case_id}/share/preview", data=chosen, headers=PAGE)
        assert preview.status_code == 200 and 'id="share-confirm"' in preview.text
        shown = re.findall(r'<li id="preview-([a-z0-9-]+--[0-9a-f-]{36})">', preview.text)
        assert "TLP:AMBER" in preview.text and "pacific" in preview.text
        assert "cigarettes" in preview.text and "false floor" in preview.text  # what partners act on
        confirm = {
            **chosen,
            "previewed_at": _hidden(preview.text, "previewed_at"),
            "digest": _hidden(preview.text, "digest"),
        }
        tampered = client.post(
            f"/cases/{case_id}/share", data={**confirm, "digest": "0" * 64}, follow_redirects=False
        )
        assert tampered.status_code == 409 and "previewed" in tampered.text
        other_tlp = client.post(
            f"/cases/{case_id}/share", data={**confirm, "tlp": "green"}, follow_redirects=False
        )
        assert other_tlp.status_code == 409  # not what the preview showed
        stale = client.post(
            f"/cases/{case_id}/share",
            data={**confirm, "previewed_at": "2026-01-01T00:00:00+00:00"},
            follow_redirects=False,
        )
        assert stale.status_code == 422
        shared = client.post(f"/cases/{case_id}/share", data=confirm, follow_redirects=False)
        assert shared.status_code == 303 and shared.headers["location"].startswith(
            f"/cases/{case_id}?done=shared"
        )
        assert "Seizure shared" in client.get(shared.headers["location"]).text
        listed = client.get("/intel", headers=PAGE).text
        assert 'id="shares"' in listed and "supervisor_a (supervisor)" in listed
        assert f"seizure of case {case_id}" in listed and "group pacific" in listed
        api = client.get("/api/intel/shares")
        assert api.status_code == 200
        (entry,) = api.json()
        assert (entry["kind"], entry["record_id"], entry["tlp"], entry["group"]) == (
            "seizure",
            str(case_id),
            "amber",
            "pacific",
        )
        assert entry["decided_by"] == "supervisor_a" and entry["collection"] == "partners"
    with client_for(world["settings"]) as client:
        login(client, "analyst_b")  # another agency: none of a's shares
        assert client.get("/api/intel/shares").json() == []
        assert 'id="nothing-shared"' in client.get("/intel", headers=PAGE).text
    engine = make_engine(world["settings"].database_url)
    with session_scope(session_factory(engine)) as session:
        (decision,) = session.scalars(select(ShareDecisionRow)).all()
        rows = session.execute(
            select(
                IntelObjectRow.stix_id, IntelObjectRow.stix_type, IntelObjectRow.tlp, IntelObjectRow.group_id
            )
            .where(IntelObjectRow.collection_id == world["collection"])
            .order_by(IntelObjectRow.id)
        ).all()
        shares = session.scalars(
            select(AuditRow)
            .where(AuditRow.resource == "intel", AuditRow.resource_id == f"seizure:{case_id}")
            .order_by(AuditRow.id)
        ).all()
        previews = session.scalars(
            select(AuditRow).where(AuditRow.resource_id == f"preview:seizure:{case_id}")
        ).all()
        listings = session.scalars(select(AuditRow).where(AuditRow.resource_id == "shares")).all()
    engine.dispose()
    made = (decision.decided_by, decision.kind, decision.record_id)
    assert made == ("supervisor_a", "seizure", str(case_id))
    # Exactly the previewed objects left, no more, no fewer.
    assert [stix_id for stix_id, _, _, _ in rows] == shown == decision.object_ids
    assert {t for _, t, _, _ in rows} >= {"incident", "identity", "extension-definition"}
    assert {tlp for _, t, tlp, _ in rows if t == "incident"} == {"amber"}
    assert all(group is not None for _, t, _, group in rows if t == "incident")
    assert [row.allowed for row in shares] == [False, True]  # the refused preview, then the share
    assert len(previews) == 1 and previews[0].actor == "supervisor_a"
    assert sorted(row.actor for row in listings) == ["analyst_b", "supervisor_a"]
