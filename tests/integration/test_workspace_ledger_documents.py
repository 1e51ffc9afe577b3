"""The declaration page's documents as the ledger knows them: registered and unchanged, altered,
unregistered, presented before on another declaration (re-use); each entry's inclusion proof checked
against the signed checkpoint on its own page, with the bundle a partner checks without borderwatch. Access
as to the declaration (another agency's is not found), every view audited."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from borderwatch.access.models import AuditRow
from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine, session_factory, session_scope
from borderwatch.ledger import flows, service
from borderwatch.ledger import standalone_verifier as standalone
from borderwatch.ledger.entries import DocumentType, fingerprint
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.note import generate_key
from tests.integration.api_support import World, build_world, client_for
from tests.integration.test_api_ledger import _declaration
from tests.integration.test_api_workspace import login

ORIGIN = "borderwatch.test/workspace-ledger"
ORIGINAL = b"certificate of origin CO-7, steel coils, origin VN"


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> World:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", agency="a")
    world = build_world(settings, with_password=("inspector_a", "inspector_b"))
    engine = make_engine(database_url)
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    engine.dispose()
    return world


def _proof_links(html: str) -> list[str]:
    return re.findall(r'href="(/declarations/[^"]+/documents/\d+/proof)"', html)


def test_the_declaration_page_shows_each_documents_ledger_status_and_a_verified_proof(world: World) -> None:
    keys = KeyStore(world.settings.data_dir)
    log_key = keys.generate_log_key(ORIGIN)
    engine = make_engine(world.settings.database_url)
    registered = flows.register_document(
        engine,
        keys,
        agency="a",
        document=ORIGINAL,
        doc_type=DocumentType.CERTIFICATE_OF_ORIGIN,
        issuer="chamber-vn",
        number="CO-7",
        issued_on=None,
        submitter="chamber-vn",
    )
    engine.dispose()
    co = {"type": "certificate_of_origin", "number": "CO-7", "issuer": "chamber-vn"}
    original = {**co, "sha256": hashlib.sha256(ORIGINAL).hexdigest()}
    altered = {**co, "sha256": hashlib.sha256(ORIGINAL.replace(b"VN", b"CN")).hexdigest()}
    unregistered = {**co, "number": "CO-8", "sha256": "ab" * 32}
    with client_for(world.settings) as client:
        for lrn, docs in (("D-1", [original, unregistered]), ("D-2", [original]), ("D-3", [altered])):
            response = client.post(
                "/api/declarations", json=_declaration(lrn, docs), headers=world.auth("analyst_a")
            )
            assert response.status_code == 201, response.text
        login(client, "inspector_a")
        page = client.get("/declarations/D-2")
        assert page.status_code == 200 and 'hx-get="/declarations/D-2/documents"' in page.text
        first = client.get("/declarations/D-1/documents").text
        assert "registered, unchanged" in first and "unregistered" in first
        assert "re-used" not in first and 'href="/declarations/D-2"' in first  # presented again on D-2
        reused = client.get("/declarations/D-2/documents").text
        assert "registered, unchanged" in reused and "re-used" in reused
        assert 'href="/declarations/D-1"' in reused
        assert "altered" in client.get("/declarations/D-3/documents").text
        links = _proof_links(reused)
        assert links == [f"/declarations/D-2/documents/{registered.receipt.index}/proof"]
        proof_page = client.get(links[0])
        assert proof_page.status_code == 200 and "Verified: entry" in proof_page.text
        assert f"signed by {ORIGIN}" in proof_page.text
        bundle = client.get(links[0] + ".json").json()
        # a partner checks the bundle without borderwatch: the single-file verifier's own checks
        fp = fingerprint(keys.issuer_key("chamber-vn"), ORIGINAL)
        assert standalone.check_bundle(bundle, fp, log_key.vkey, [], 0)["number"] == "CO-7"
        # only the entries of the declaration's documents, not any index of the log
        assert client.get("/declarations/D-2/documents/999/proof").status_code == 404
        client.cookies.clear()
        login(client, "inspector_b")  # another agency
        assert client.get("/declarations/D-2/documents").status_code == 404
        assert client.get(links[0]).status_code == 404
        assert client.get(links[0] + ".json").status_code == 404
        # a checkpoint the log's keys do not verify: the page says so, and nothing is shown as verified
        client.cookies.clear()
        login(client, "inspector_a")
        for vkey in keys.keys.glob("*.vkey"):
            vkey.write_text(generate_key(ORIGIN).vkey + "\n")
        refused = client.get(links[0])
        assert refused.status_code == 422 and "no proof verified" in refused.text
        assert "Verified: entry" not in refused.text
    engine = make_engine(world.settings.database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            details = [
                row.detail
                for row in session.scalars(
                    select(AuditRow).where(AuditRow.resource_id == "D-2").order_by(AuditRow.id)
                )
            ]
    finally:
        engine.dispose()
    assert {"ledger_documents": 1} in details
    assert {"ledger_entry": registered.receipt.index, "verified": True} in details
    assert {"ledger_entry": registered.receipt.index, "bundle": True} in details
    assert any(d and d.get("verified") is False for d in details)
