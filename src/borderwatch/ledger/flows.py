"""Multi-step ledger work shared by the CLI and the API: register a document, and build the proof bundle that
lets anyone check it against a signed checkpoint without borderwatch."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from borderwatch.ledger import service
from borderwatch.ledger.entries import DocumentEntry, DocumentType, LedgerError, fingerprint
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.merkle import leaf_hash, verify_inclusion
from borderwatch.ledger.note import Checkpoint, open_checkpoint, parse_checkpoint, split_note
from borderwatch.ledger.writer import WAIT_SECONDS, WriterPool

BUNDLE_FORMAT = "borderwatch-ledger-proof/v1"


@dataclass(frozen=True, slots=True)
class Registered:
    receipt: service.Receipt
    checkpoint: service.StoredCheckpoint


def register_document(
    engine: Engine,
    keys: KeyStore,
    *,
    agency: str,
    document: bytes,
    doc_type: DocumentType,
    issuer: str,
    number: str,
    issued_on: date | None,
    submitter: str,
) -> Registered:
    """Fingerprint ``document`` with the issuer's key (created on first use), append it durably and sign a
    checkpoint that covers it."""
    key = keys.issuer_key(issuer, create=True)
    entry = DocumentEntry(doc_type, issuer, number, issued_on, submitter, fingerprint(key, document))
    return append_and_checkpoint(engine, keys, agency=agency, entries=[entry])[0]


def append_and_checkpoint(
    engine: Engine, keys: KeyStore, *, agency: str, entries: list[DocumentEntry]
) -> list[Registered]:
    receipts = service.append(engine, agency=agency, entries=entries)
    checkpoint = service.publish_checkpoint(engine, agency=agency, signer=keys.log_signer())
    return [Registered(receipt, checkpoint) for receipt in receipts]


def append_through(writers: WriterPool, *, agency: str, entry: DocumentEntry) -> Registered:
    """Append ``entry`` through the agency's :class:`LogWriter` (batched with whatever else is being
    appended) and wait for it to be durable and covered by a signed checkpoint."""
    writer = writers.writer(agency)
    receipt = writer.submit(entry).result(timeout=WAIT_SECONDS)
    checkpoint = writer.checkpoint_covering(receipt.index + 1).result(timeout=WAIT_SECONDS)
    return Registered(receipt, checkpoint)


def proof_bundle(engine: Engine, *, agency: str, index: int) -> dict[str, Any]:
    """Entry ``index``, its inclusion proof and the newest checkpoint (with its cosignatures), as JSON."""
    checkpoint = service.latest_checkpoint(engine, agency=agency)
    if checkpoint is None or checkpoint.size <= index:
        raise LedgerError(f"no published checkpoint covers entry {index} yet")
    entry = service.entry_at(engine, agency=agency, index=index)
    proof = service.inclusion(engine, agency=agency, index=index, size=checkpoint.size)
    note = service.cosigned_note(engine, checkpoint=checkpoint)
    return {
        "format": BUNDLE_FORMAT,
        "origin": parse_checkpoint(split_note(note)[0]).origin,
        "checkpoint": note,
        "index": index,
        "entry": base64.b64encode(entry.data).decode(),
        "inclusion_proof": [base64.b64encode(h).decode() for h in proof],
    }


@dataclass(frozen=True, slots=True)
class CheckedProof:
    """Entry ``index`` checked as anyone holding the log's public keys would check it: the newest
    checkpoint's signature, then the entry's inclusion proof against that checkpoint's root."""

    index: int
    entry: service.StoredEntry
    leaf_hash: bytes
    checkpoint: Checkpoint
    signed_by: tuple[str, ...]
    proof: tuple[bytes, ...]
    bundle: dict[str, Any]
    """what ``borderwatch ledger verify`` and the single-file verifier take"""


def checked_proof(engine: Engine, keys: KeyStore, *, agency: str, index: int) -> CheckedProof:
    """Entry ``index`` with its inclusion proof, verified against the newest signed checkpoint; raises
    :class:`LedgerError` (no such entry, no checkpoint covers it yet), ``NoteError`` (the checkpoint's
    signature does not verify with the log's keys) or ``ProofError`` (the proof does not hold)."""
    bundle = proof_bundle(engine, agency=agency, index=index)
    entry = service.entry_at(engine, agency=agency, index=index)
    checkpoint, note = open_checkpoint(bundle["checkpoint"], keys.log_verifiers(), origin=bundle["origin"])
    proof = [base64.b64decode(h) for h in bundle["inclusion_proof"]]
    leaf = leaf_hash(entry.data)
    verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root)
    signers = tuple(dict.fromkeys(s.name for s in note.signatures))
    return CheckedProof(index, entry, leaf, checkpoint, signers, tuple(proof), bundle)
