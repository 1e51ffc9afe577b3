"""Case management in the browser: assign to a real user, change the lane with a reason, record the outcome
with a unit and evidence, the status history, and the printable inspection order."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from borderwatch.core.settings import Settings
from tests.integration.api_support import World, build_world, client_for, seed
from tests.integration.test_api_workspace import login

PAGE = {"accept": "text/html"}


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings, with_password=("supervisor_a", "inspector_a"))
    seed(settings, agency="a", lrns=["C-001", "C-002", "C-003"], tmp=tmp_path)
    return world


def _case_of(client: TestClient, world: World, lrn: str) -> int:
    cases = client.get("/api/cases", headers=world.auth("supervisor_a")).json()["items"]
    return int(next(c["id"] for c in cases if c["lrn"] == lrn))


def test_supervisor_assigns_and_changes_the_lane_with_a_reason(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "supervisor_a")
        red = _case_of(client, world, "C-001")
        page = client.get(f"/cases/{red}").text
        assert 'id="assign-form"' in page and 'id="lane-form"' in page and "reason 0a" in page
        refused = client.post(
            f"/cases/{red}/assign", data={"officer": "analyst_a", "csrf_token": csrf}, headers=PAGE
        )
        assert refused.status_code == 422 and "analyst_a" in refused.text
        done = client.post(
            f"/cases/{red}/assign",
            data={"officer": "inspector_a", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == f"/cases/{red}?done=assigned"
        assigned = client.get(done.headers["location"]).text
        assert "Case assigned." in assigned and "assigned to inspector_a" in assigned

        no_reason = client.post(
            f"/cases/{red}/lane", data={"lane": "green", "reason": "", "csrf_token": csrf}, headers=PAGE
        )
        assert no_reason.status_code == 422 and "reason" in no_reason.text
        changed = client.post(
            f"/cases/{red}/lane",
            data={"lane": "green", "reason": "known AEO shipper, documents checked", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert changed.status_code == 303
        after = client.get(f"/cases/{red}").text
        assert "known AEO shipper, documents checked" in after
        assert "withdrawn" in after and 'id="assign-form"' not in after  # green withdraws the case
        decision = client.get("/api/declarations/C-001", headers=world.auth("supervisor_a")).json()[
            "decision"
        ]
        assert decision["lane"] == "green" and decision["override_reason"].startswith("known AEO")


def test_inspector_records_a_seizure_with_unit_and_evidence(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "inspector_a")
        yellow = _case_of(client, world, "C-002")
        page = client.get(f"/cases/{yellow}").text
        assert 'id="outcome-form"' in page and 'id="lane-form"' not in page  # inspectors do not set lanes
        assert '<option value="KGM">kilograms (KGM)</option>' in page
        forbidden = client.post(
            f"/cases/{yellow}/lane", data={"lane": "red", "reason": "looks odd", "csrf_token": csrf}
        )
        assert forbidden.status_code == 403
        photo = b"\x89PNG pretend photo of the concealment"
        recorded = client.post(
            f"/cases/{yellow}/outcome",
            data={
                "result": "seizure",
                "goods": "cigarettes",
                "quantity": "12.5",
                "quantity_unit": "KGM",
                "next": "case",
                "csrf_token": csrf,
            },
            files=[("evidence_files", ("hold.png", photo, "image/png"))],
            follow_redirects=False,
        )
        assert recorded.status_code == 303, recorded.text
        assert recorded.headers["location"] == f"/cases/{yellow}?done=recorded"
        shown = client.get(recorded.headers["location"]).text
        assert "Outcome recorded." in shown and "cigarettes" in shown and "12.5 kilograms" in shown
        fingerprint = hashlib.sha256(photo).hexdigest()
        kept = world.settings.data_dir / "evidence" / "a" / fingerprint
        assert kept.read_bytes() == photo
        finding = client.get(f"/api/cases/{yellow}", headers=world.auth("inspector_a")).json()["findings"][0]
        assert finding["quantity_unit"] == "KGM" and finding["quantity"] == 12.5


def test_printable_inspection_order_shows_codes_with_their_meaning(world: World) -> None:
    with client_for(world.settings) as client:
        login(client, "inspector_a")
        red = _case_of(client, world, "C-001")
        order = client.get(f"/cases/{red}/order").text
        assert "Inspection order" in order and "C-001" in order
        assert "China (CN)" in order and "sea (10)" in order and "610910" in order
        assert "signature" in order and re.search(r"@media print", (client.get("/static/app.css").text))
        declaration = client.get("/declarations/C-001").text
        assert "China (CN)" in declaration and "sea (10)" in declaration
        assert 'id="reasons-source"' in declaration and "fraud probability 90.0 %" in declaration


def test_supervisor_raises_a_green_declaration_from_its_page(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "supervisor_a")
        page = client.get("/declarations/C-003").text
        assert 'id="lane-form"' in page and "No case" in page
        raised = client.post(
            "/declarations/C-003/lane",
            data={"lane": "yellow", "reason": "tip-off from the port police", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert raised.status_code == 303 and raised.headers["location"].startswith("/declarations/C-003?")
        after = client.get(raised.headers["location"]).text
        assert "Lane set to yellow." in after and "tip-off from the port police" in after
        assert re.search(r'href="/cases/\d+">Case \d+</a> · open', after)  # the new lane opened a case
    with client_for(world.settings) as client:
        csrf = login(client, "inspector_a")
        assert 'id="lane-form"' not in client.get("/declarations/C-003").text
        refused = client.post(
            "/declarations/C-003/lane", data={"lane": "green", "reason": "xyz", "csrf_token": csrf}
        )
        assert refused.status_code == 403
