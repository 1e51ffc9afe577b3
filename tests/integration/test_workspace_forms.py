"""The workspace's forms work without JavaScript (method and action, CSRF in the body, never the URL) and its
refusals show a message, to a plain browser as a page and to htmx as a fragment it swaps in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from borderwatch.core.settings import Settings
from tests.integration.api_support import World, build_world, client_for, declaration_json, seed
from tests.integration.test_api_workspace import login

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "borderwatch" / "web" / "templates"
HTMX = {"HX-Request": "true"}
PAGE = {"accept": "text/html"}


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> World:
    world = build_world(settings, with_password=("inspector_a", "analyst_a"))
    seed(settings, agency="a", lrns=["F-001", "F-002"], tmp=tmp_path)
    return world


def test_every_form_posts_with_method_and_action() -> None:
    forms = [
        (template.name, tag)
        for template in TEMPLATES.glob("*.html")
        for tag in re.findall(r"<form\b[^>]*>", template.read_text(encoding="utf-8"))
        if "hidden" not in tag  # the out-of-band placeholder that replaces a closed case's form
    ]
    assert len(forms) >= 5
    for name, tag in forms:
        assert re.search(r'\baction="', tag), (name, tag)
        method = re.search(r'\bmethod="(\w+)"', tag)
        assert method is not None, (name, tag)
        if "hx-post" in tag:
            assert method.group(1) == "post", (name, tag)
        if 'type="file"' in tag or "hx-encoding" in tag:
            assert 'enctype="multipart/form-data"' in tag, (name, tag)


def test_outcome_form_without_javascript_redirects_to_the_declaration(world: World) -> None:
    with client_for(world.settings) as client:
        csrf = login(client, "inspector_a")
        page = client.get("/declarations/F-001").text
        found = re.search(r'action="(/cases/\d+/outcome)"', page)
        assert found is not None
        url = found.group(1)
        refused = client.post(url, data={"result": "seizure", "csrf_token": csrf}, headers=PAGE)
        assert refused.status_code == 422 and "must name the goods" in refused.text
        assert "<html" in refused.text  # a whole page, with the way back
        done = client.post(
            url,
            data={"result": "seizure", "goods": "watches", "csrf_token": csrf},
            headers=PAGE,
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert done.headers["location"].startswith("/declarations/F-001?recorded=")
        assert "csrf" not in done.headers["location"]
        after = client.get(done.headers["location"]).text
        assert 'id="case-closed"' in after and "Fraud" in after


def test_upload_without_javascript_shows_the_job_and_refusals_show_a_message(world: World) -> None:
    content = "\n".join(json.dumps(declaration_json(f"U-{i}")) for i in range(3)).encode()
    with client_for(world.settings) as client:
        csrf = login(client, "analyst_a")
        sent = client.post(
            "/upload",
            files={"file": ("week.jsonl", content, "application/x-ndjson")},
            data={"format": "auto", "csrf_token": csrf},
            headers=PAGE,
            follow_redirects=False,
        )
        assert sent.status_code == 303 and sent.headers["location"].startswith("/upload?job=")
        shown = client.get(sent.headers["location"]).text
        assert re.search(r'id="job-[0-9a-f]+"', shown) and "stored 3" in shown

        wrong = {"file": ("notes.txt", b"hello", "text/plain")}
        as_page = client.post("/upload", files=wrong, data={"csrf_token": csrf}, headers=PAGE)
        assert as_page.status_code == 415 and "notes.txt" in as_page.text and "<html" in as_page.text
        as_fragment = client.post("/upload", files=wrong, data={"csrf_token": csrf}, headers=HTMX)
        assert as_fragment.status_code == 415 and 'role="alert"' in as_fragment.text
        assert "notes.txt" in as_fragment.text and "<html" not in as_fragment.text
        empty = {"file": ("empty.jsonl", b"", "application/x-ndjson")}
        refused = client.post("/upload", files=empty, data={"csrf_token": csrf}, headers=HTMX)
        assert refused.status_code == 422 and "is empty" in refused.text
        missing = client.post("/upload", data={"csrf_token": csrf}, headers=HTMX)
        assert missing.status_code == 422 and "file" in missing.text and 'role="alert"' in missing.text


def test_htmx_is_told_to_swap_refusals_in() -> None:
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", base)
    assert config is not None
    handling = json.loads(config.group(1))["responseHandling"]
    assert {"code": "[45]..", "swap": True, "error": True} in handling


def test_api_docs_are_served_from_local_files(settings: Settings) -> None:
    with client_for(settings) as client:
        for path in ("/docs", "/redoc"):
            page = client.get(path)
            assert page.status_code == 200
            assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
            assert assets, page.text
            for asset in assets:
                assert asset.startswith("/"), f"{path} loads {asset} from elsewhere"
                assert client.get(asset).status_code == 200, asset
            assert "cdn" not in page.text.lower()
