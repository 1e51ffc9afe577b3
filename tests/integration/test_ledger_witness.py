"""Witnesses cosign extensions, refuse forks with an alert naming both checkpoints; k of n verification; the
standalone verifier agrees with borderwatch on good and bad bundles."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from borderwatch.ledger import flows, service, witness
from borderwatch.ledger import standalone_verifier as standalone
from borderwatch.ledger.entries import DocumentEntry, DocumentType, fingerprint
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.merkle import consistency_proof_length
from borderwatch.ledger.note import (
    ALG_COSIGNATURE,
    Checkpoint,
    CosignatureSigner,
    NoteError,
    generate_key,
    sign_note,
)

ORIGIN = "borderwatch.test/witnessed"


def entries(start: int, n: int) -> list[DocumentEntry]:
    return [
        DocumentEntry(
            DocumentType.BILL_OF_LADING,
            "carrier",
            f"BL-{i}",
            date(2026, 12, 2),
            "carrier",
            fingerprint(b"c" * 32, f"bl {i}".encode()),
        )
        for i in range(start, start + n)
    ]


def test_witnesses_cosign_extensions_and_refuse_a_fork(engine: Engine) -> None:
    log_key = generate_key(ORIGIN)
    witnesses = [
        CosignatureSigner(generate_key(f"witness{i}.example", alg=ALG_COSIGNATURE)) for i in range(3)
    ]
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    service.append(engine, agency="a", entries=entries(0, 5))
    first = service.publish_checkpoint(engine, agency="a", signer=log_key)
    for w in witnesses:
        sig = witness.cosign(engine, w, note=first.note, log_vkey=log_key.vkey, consistency_proof=[])
        service.add_cosignature(engine, checkpoint_id=first.id, witness=w.name, signature=sig)
    service.append(engine, agency="a", entries=entries(5, 20))
    second = service.publish_checkpoint(engine, agency="a", signer=log_key)
    proof = service.consistency(engine, agency="a", size1=first.size, size2=second.size)
    sigs = [
        witness.cosign(engine, w, note=second.note, log_vkey=log_key.vkey, consistency_proof=proof)
        for w in witnesses[:2]
    ]
    for w, sig in zip(witnesses[:2], sigs, strict=True):
        service.add_cosignature(engine, checkpoint_id=second.id, witness=w.name, signature=sig)
    note = service.cosigned_note(engine, checkpoint=second)
    vkeys = [w.vkey for w in witnesses]
    checkpoint, names = witness.verify_cosigned(note, log_vkey=log_key.vkey, witness_vkeys=vkeys, required=2)
    assert checkpoint.size == 25 and names == ["witness0.example", "witness1.example"]
    with pytest.raises(NoteError, match="2 of the 3 witnesses cosigned the checkpoint, 3 needed"):
        witness.verify_cosigned(note, log_vkey=log_key.vkey, witness_vkeys=vkeys, required=3)
    # The log signs another tree of the same size: a split view. The witness refuses, and names both.
    forged = sign_note(Checkpoint(ORIGIN, 25, b"\x07" * 32).body(), [log_key])
    with pytest.raises(
        witness.SplitViewError, match="split view, two checkpoints of the same size"
    ) as raised:
        witness.cosign(engine, witnesses[0], note=forged, log_vkey=log_key.vkey, consistency_proof=[])
    assert raised.value.first == second.note and raised.value.second == forged
    with pytest.raises(witness.SplitViewError):
        witness.compare(second.note, forged, log_vkey=log_key.vkey)
    # A bigger tree that does not extend the one cosigned: no proof can show it does; refused.
    fork = sign_note(Checkpoint(ORIGIN, 30, b"\x08" * 32).body(), [log_key])
    fork_proof = [b"\x00" * 32] * consistency_proof_length(25, 30)
    with pytest.raises(witness.SplitViewError, match="no proof that the new checkpoint extends"):
        witness.cosign(engine, witnesses[0], note=fork, log_vkey=log_key.vkey, consistency_proof=fork_proof)
    kinds = sorted(a.kind for a in witness.alerts(engine))
    assert kinds == ["no_extension_proof", "split_view"]
    # A checkpoint signed by another key, or for another log: refused before anything is recorded.
    with pytest.raises(NoteError):
        witness.cosign(
            engine,
            witnesses[0],
            note=sign_note(Checkpoint(ORIGIN, 26, b"\x01" * 32).body(), [generate_key(ORIGIN)]),
            log_vkey=log_key.vkey,
            consistency_proof=[],
        )


def test_standalone_verifier_checks_a_registered_document(engine: Engine, tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "data")
    log_key = keys.generate_log_key(ORIGIN)
    assert (keys.keys.glob("*.skey").__next__().stat().st_mode & 0o777) == 0o600
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    service.append(engine, agency="a", entries=entries(0, 40))
    document = b"%PDF certificate of origin CO-77 issued to ..."
    registered = flows.register_document(
        engine,
        keys,
        agency="a",
        document=document,
        doc_type=DocumentType.CERTIFICATE_OF_ORIGIN,
        issuer="chamber-vn",
        number="CO-77",
        issued_on=date(2026, 11, 30),
        submitter="chamber-vn",
    )
    assert registered.receipt.index == 40 and registered.checkpoint.size == 41
    bundle = flows.proof_bundle(engine, agency="a", index=40)
    issuer_key = tmp_path / "data" / "ledger" / "issuers" / "chamber-vn.key"
    doc_file, bundle_file = tmp_path / "co.pdf", tmp_path / "bundle.json"
    doc_file.write_bytes(document)
    bundle_file.write_text(json.dumps(bundle))
    args = [
        str(doc_file),
        "--issuer-key",
        str(issuer_key),
        "--log-key",
        log_key.vkey,
        "--bundle",
        str(bundle_file),
    ]
    assert standalone.main(args) == 0
    # Key rotation: the old checkpoint still verifies with the old key, kept among the verifiers.
    keys.generate_log_key(ORIGIN)
    assert len(keys.log_verifiers()) == 2
    assert standalone.main(args) == 0
    # An altered document, a tampered bundle, another log's key, a witness requirement not met: refused.
    doc_file.write_bytes(document + b" altered")
    assert standalone.main(args) == 2
    doc_file.write_bytes(document)
    for tamper in ("index", "entry", "proof", "checkpoint"):
        bad = json.loads(json.dumps(bundle))
        if tamper == "index":
            bad["index"] = 39
        elif tamper == "entry":
            bad["entry"] = base64.b64encode(
                base64.b64decode(bad["entry"]).replace(b"CO-77", b"CO-78")
            ).decode()
        elif tamper == "proof":
            bad["inclusion_proof"] = bad["inclusion_proof"][:-1]
        else:
            bad["checkpoint"] = bad["checkpoint"].replace("\n41\n", "\n42\n")
        bundle_file.write_text(json.dumps(bad))
        assert standalone.main(args) == 2, tamper
    bundle_file.write_text(json.dumps(bundle))
    other = generate_key("other.example/log").vkey
    assert standalone.main([*args[:4], other, *args[5:]]) == 2
    w = generate_key("w.example", alg=ALG_COSIGNATURE)
    assert standalone.main([*args, "--witness", w.vkey, "--min-witnesses", "1"]) == 2
