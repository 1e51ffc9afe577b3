"""The ledger over HTTP: public tiles, checkpoint and proofs; registering and witnessing need an account."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from borderwatch.core.settings import Settings
from borderwatch.db.session import make_engine
from borderwatch.ledger import flows, service, verify_consistency, verify_inclusion
from borderwatch.ledger import standalone_verifier as standalone
from borderwatch.ledger.entries import DocumentEntry, DocumentType, fingerprint
from borderwatch.ledger.flows import append_and_checkpoint
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.merkle import leaf_hash
from borderwatch.ledger.note import Checkpoint, generate_key, open_checkpoint, parse_vkey, sign_note
from borderwatch.ledger.tiles import decode_bundle
from tests.integration.api_support import World, assert_error, build_world, client_for

ORIGIN = "borderwatch.test/api"


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> World:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", agency="a")
    world = build_world(settings)
    engine = make_engine(database_url)
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    engine.dispose()
    return world


def test_register_then_anyone_checks_it_with_tiles_and_proofs(world: World) -> None:
    keys = KeyStore(world.settings.data_dir)
    log_key = keys.generate_log_key(ORIGIN)
    issuer_key = b"i" * 32
    with client_for(world.settings) as client:
        assert_error(client.get("/ledger/checkpoint"), 404)
        body = {
            "type": "certificate_of_origin",
            "issuer": "chamber-vn",
            "number": "CO-1",
            "issued_on": "2026-11-30",
            "fingerprint": fingerprint(issuer_key, b"doc 0"),
        }
        assert_error(client.post("/api/ledger/entries", json=body), 401)
        indexes = []
        for i in range(0, 300, 50):
            body["number"], body["fingerprint"] = f"CO-{i}", fingerprint(issuer_key, f"doc {i}".encode())
            response = client.post("/api/ledger/entries", json=body, headers=world.auth("inspector_a"))
            assert response.status_code == 201, response.text
            indexes.append(response.json()["index"])
        assert indexes == list(range(6))
        # More, in bulk, to cross a tile boundary quickly.
        engine = make_engine(world.settings.database_url)
        more = [
            DocumentEntry(
                DocumentType.PACKING_LIST, "x", f"PL-{i}", None, "a", fingerprint(issuer_key, str(i).encode())
            )
            for i in range(260)
        ]
        append_and_checkpoint(engine, keys, agency="a", entries=more)
        first_note = service.all_checkpoints(engine, agency="a")[0].note
        engine.dispose()
        # Anyone, no account: the checkpoint, the tiles, the proofs.
        note = client.get("/ledger/checkpoint").text
        checkpoint, _ = open_checkpoint(note, [parse_vkey(log_key.vkey)], origin=ORIGIN)
        assert checkpoint.size == 266
        full = client.get("/ledger/tile/0/000")
        assert full.status_code == 200 and len(full.content) == 256 * 32
        partial = client.get("/ledger/tile/0/001.p/10")
        assert len(partial.content) == 10 * 32
        bundle = decode_bundle(client.get("/ledger/tile/entries/000.p/6").content)
        assert [leaf_hash(e) for e in bundle] == [full.content[i * 32 : (i + 1) * 32] for i in range(6)]
        level1 = client.get("/ledger/tile/1/000.p/1")
        assert level1.status_code == 200 and len(level1.content) == 32
        for bad in ("0/001.p/11", "0/1", "0/001.p/256", "0/001.p/0", "2/000.p/1", "entries/x000/001", "../x"):
            assert_error(client.get(f"/ledger/tile/{bad}"), 404)
        proof = client.get("/api/ledger/proof/inclusion", params={"index": 3, "size": 266}).json()["proof"]
        verify_inclusion(leaf_hash(bundle[3]), 3, 266, [base64.b64decode(p) for p in proof], checkpoint.root)
        first = open_checkpoint(first_note, [parse_vkey(log_key.vkey)], origin=ORIGIN)[0]
        proof = client.get("/api/ledger/proof/consistency", params={"size1": first.size, "size2": 266}).json()
        verify_consistency(
            first.size, 266, [base64.b64decode(p) for p in proof["proof"]], first.root, checkpoint.root
        )
        assert_error(client.get("/api/ledger/proof/inclusion", params={"index": 3, "size": 9999}), 404)
        found = client.get(
            "/api/ledger/lookup", params={"fingerprint": fingerprint(issuer_key, b"doc 50")}
        ).json()
        (entry,) = [
            standalone.check_bundle(b, fingerprint(issuer_key, b"doc 50"), log_key.vkey, [], 0)
            for b in found["bundles"]
        ]
        assert entry["number"] == "CO-50" and entry["submitter"] == "a"
        assert client.get("/api/ledger/lookup", params={"fingerprint": "0" * 64}).json() == {"bundles": []}
        # The registration is audited.
        audit = client.get("/api/audit", params={"resource": "ledger"}, headers=world.auth("admin_a")).json()
        assert any(item["resource_id"] == str(indexes[1]) for item in audit["items"])


def test_witness_endpoint_cosigns_and_refuses_a_fork(world: World) -> None:
    KeyStore(world.settings.data_dir).witness_signer("partner-witness.example")
    log_key = generate_key("other.example/log")
    first = sign_note(Checkpoint("other.example/log", 4, b"\x01" * 32).body(), [log_key])
    body = {"log_vkey": log_key.vkey, "checkpoint": first, "consistency_proof": []}
    with client_for(world.settings) as client:
        assert_error(client.post("/api/ledger/witness/add-checkpoint", json=body), 401)
        response = client.post(
            "/api/ledger/witness/add-checkpoint", json=body, headers=world.auth("analyst_a")
        )
        assert response.status_code == 200, response.text
        assert response.json()["cosignature"].startswith("— partner-witness.example ")
        body["checkpoint"] = sign_note(Checkpoint("other.example/log", 4, b"\x02" * 32).body(), [log_key])
        error = assert_error(
            client.post("/api/ledger/witness/add-checkpoint", json=body, headers=world.auth("analyst_a")), 409
        )
        assert "\n4\n" in str(error["message"]) and "AQEB" in str(error["message"])  # both checkpoints named
        body["checkpoint"] = first.replace("\n4\n", "\n5\n")
        assert_error(
            client.post("/api/ledger/witness/add-checkpoint", json=body, headers=world.auth("analyst_a")), 422
        )
        alerts = client.get("/api/ledger/alerts", headers=world.auth("supervisor_a")).json()
        assert [a["kind"] for a in alerts] == ["split_view"]
        assert_error(client.get("/api/ledger/alerts"), 401)


def _declaration(lrn: str, documents: list[dict[str, str]]) -> dict[str, object]:
    return {
        "lrn": lrn,
        "date": "2026-12-01",
        "office": "NLRTM",
        "transport": {"mode": "10", "departure_country": "VN", "origin_country": "VN"},
        "parties": {"importer": {"id": "IMP1"}, "declarant": {"id": "DCL1"}},
        "items": [{"hs_code": "721049", "net_mass": 100.0, "customs_value": 900.0, "currency": "EUR"}],
        "documents": documents,
    }


def test_a_declarations_documents_are_presented_and_shown_with_their_ledger_status(world: World) -> None:
    keys = KeyStore(world.settings.data_dir)
    keys.generate_log_key(ORIGIN)
    engine = make_engine(world.settings.database_url)
    original = b"certificate of origin CO-7, steel coils, origin VN"
    flows.register_document(
        engine,
        keys,
        agency="a",
        document=original,
        doc_type=DocumentType.CERTIFICATE_OF_ORIGIN,
        issuer="chamber-vn",
        number="CO-7",
        issued_on=None,
        submitter="chamber-vn",
    )
    size = service.log_info(engine, agency="a").size
    engine.dispose()
    co = {"type": "certificate_of_origin", "number": "CO-7", "issuer": "chamber-vn"}
    documents = [
        {**co, "sha256": hashlib.sha256(original).hexdigest()},
        {**co, "number": "CO-8", "sha256": "ab" * 32},  # a number the chamber never registered
        {"type": "commercial_invoice", "number": "INV-1", "issuer": "exporter-x", "sha256": "cd" * 32},
    ]
    altered = [{**co, "sha256": hashlib.sha256(original.replace(b"VN", b"CN")).hexdigest()}]
    with client_for(world.settings) as client:
        for lrn, docs in (("D-1", documents), ("D-2", altered)):
            response = client.post(
                "/api/declarations", json=_declaration(lrn, docs), headers=world.auth("analyst_a")
            )
            assert response.status_code == 201, response.text
        shown = client.get("/api/ledger/declarations/D-1/documents", headers=world.auth("inspector_a")).json()
        assert [(d["number"], d["status"]) for d in shown] == [
            ("CO-7", "registered"),
            ("CO-8", "unregistered"),
            ("INV-1", "not checked"),
        ]
        assert shown[0]["registered_by"] == "chamber-vn" and shown[0]["index"] == size - 1
        second = client.get("/api/ledger/declarations/D-2/documents", headers=world.auth("inspector_a"))
        assert [d["status"] for d in second.json()] == ["altered"]
        # another agency sees nothing of them
        other = client.get("/api/ledger/declarations/D-1/documents", headers=world.auth("inspector_b"))
        assert other.json() == []
        assert_error(client.get("/api/ledger/declarations/D-1/documents"), 401)
    engine = make_engine(world.settings.database_url)
    try:
        # presented through the writer: the unregistered and the altered certificates are in the log now
        assert service.log_info(engine, agency="a").size == size + 2
    finally:
        engine.dispose()
