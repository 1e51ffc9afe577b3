"""The screening review queue and the Models page in the browser, on the selection flow's hits and the
registry's active model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from borderwatch.core.settings import Settings
from tests.integration.api_support import World, client_for, register
from tests.integration.test_api_workspace import login
from tests.integration.test_selection_flow import model_path, sanctioned, world  # noqa: F401

PAGE = {"accept": "text/html"}


@pytest.fixture
def people(world: World) -> World:  # noqa: F811
    from borderwatch.access import service as access
    from borderwatch.db.session import make_engine, session_factory, session_scope
    from tests.integration.api_support import PASSWORD

    engine = make_engine(world.settings.database_url)
    with session_scope(session_factory(engine)) as session:
        for name, role in (("ana", "analyst"), ("sam", "supervisor")):
            access.add_user(db_session=session, username=name, role=role, agency="a", password=PASSWORD)
    engine.dispose()
    return world


def test_analyst_confirms_a_hit_with_no_default_verdict(people: World) -> None:
    with client_for(people.settings) as client:
        held = client.post("/api/declarations", json=sanctioned("R-HIT"), headers=people.auth("analyst_a"))
        assert held.json()["lane"] == "red"
        csrf = login(client, "ana")
        queue = client.get("/screening/review").text
        found = re.search(r'<tr id="hit-(\d+)">\s*<td><a href="/declarations/R-HIT"', queue)
        assert found is not None, queue
        hit = found.group(1)
        assert "Aerospace Parts Trading Company Ltd" in queue and "ofac" in queue
        assert 'type="radio" name="verdict" value="confirmed" required' in queue and "checked" not in queue
        no_verdict = client.post(f"/screening/review/{hit}", data={"csrf_token": csrf}, headers=PAGE)
        assert no_verdict.status_code == 422 and "no default verdict" in no_verdict.text
        done = client.post(
            f"/screening/review/{hit}",
            data={"verdict": "confirmed", "note": "same address", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert f'id="hit-{hit}"' not in client.get("/screening/review").text  # no longer open
        decided = client.get("/screening/review", params={"status": "confirmed"}).text
        assert f'id="hit-{hit}"' in decided and "by ana" in decided and "same address" in decided
        again = client.post(
            f"/screening/review/{hit}", data={"verdict": "dismissed", "csrf_token": csrf}, headers=PAGE
        )
        assert again.status_code == 409


def test_supervisor_promotes_and_rolls_back_on_the_models_page(
    people: World,
    model_path: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    from borderwatch.scoring.risk_model import RiskModel

    first = RiskModel.load(model_path).version
    second = RiskModel.load(model_path)
    second.trained_until = None
    other = tmp_path / "other.json"
    second.save(other)
    newer = register(people.settings, other, "a")
    with client_for(people.settings) as client:
        login(client, "ana")
        page = client.get("/models").text
        assert f'id="model-{first}" class="active"' in page and f'id="model-{newer}"' in page
        assert 'action="/models/' not in page and 'id="calibration"' in page and 'id="drift"' in page
    with client_for(people.settings) as client:
        csrf = login(client, "sam")
        page = client.get("/models").text
        assert f'action="/models/{newer}/promote"' in page and f'action="/models/{first}/promote"' not in page
        promoted = client.post(f"/models/{newer}/promote", data={"csrf_token": csrf}, follow_redirects=False)
        assert promoted.status_code == 303
        after = client.get(promoted.headers["location"]).text
        assert f"promoted {newer}" in after and f'id="model-{newer}" class="active"' in after
        assert "by sam" in after
        back = client.post("/models/rollback", data={"csrf_token": csrf}, follow_redirects=False)
        assert back.status_code == 303
        assert f'id="model-{first}" class="active"' in client.get("/models").text
        listed = client.get("/api/models", headers=people.auth("analyst_a")).json()["items"]
        assert {m["version"]: m["active"] for m in listed} == {first: True, newer: False}
        assert json.loads(other.read_text(encoding="utf-8"))  # the file stays as registered


def test_models_page_needs_model_rights(people: World, settings: Settings) -> None:
    del settings
    with client_for(people.settings) as client:
        csrf = login(client, "ana")
        assert client.post("/models/rollback", data={"csrf_token": csrf}).status_code == 403
