"""The stored log on SQLite and PostgreSQL: appends, tiles, proofs, checkpoints, the database's refusals."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from borderwatch.db.session import make_engine
from borderwatch.ledger import ProofError, service, verify_consistency, verify_inclusion
from borderwatch.ledger.entries import DocumentEntry, DocumentType, LedgerError, fingerprint
from borderwatch.ledger.merkle import leaf_hash, root_from_leaf_hashes
from borderwatch.ledger.note import generate_key, open_checkpoint, parse_vkey
from borderwatch.ledger.tiles import decode_bundle
from borderwatch.ledger.writer import LogWriter

ORIGIN = "borderwatch.test/ledger"
KEY = b"k" * 32


def doc(i: int) -> DocumentEntry:
    return DocumentEntry(
        doc_type=DocumentType.CERTIFICATE_OF_ORIGIN,
        issuer="chamber-vn",
        number=f"CO-{i:06d}",
        issued_on=date(2026, 11, 1),
        submitter="chamber-vn",
        fingerprint=fingerprint(KEY, f"certificate {i}".encode()),
    )


def test_appends_build_the_rfc_tree_and_prove_every_entry(engine: Engine) -> None:
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    sizes = [1, 2, 5, 250, 10, 300, 1]  # batches crossing tile boundaries (256, 512)
    receipts: list[service.Receipt] = []
    for n in sizes:
        start = len(receipts)
        receipts += service.append(engine, agency="a", entries=[doc(start + i) for i in range(n)])
    total = sum(sizes)
    assert [r.index for r in receipts] == list(range(total))
    log = service.log_info(engine, agency="a")
    stored = [service.entry_at(engine, agency="a", index=i).data for i in (0, 255, 256, total - 1)]
    assert [leaf_hash(d) for d in stored] == [receipts[i].leaf_hash for i in (0, 255, 256, total - 1)]
    hashes = [r.leaf_hash for r in receipts]
    assert log.size == total and log.root == root_from_leaf_hashes(hashes)
    for size in (1, 2, 3, 256, 257, 511, 512, total):
        root = service.root_at(engine, agency="a", size=size)
        assert root == root_from_leaf_hashes(hashes[:size])
        for index in {0, size // 2, size - 1}:
            proof = service.inclusion(engine, agency="a", index=index, size=size)
            verify_inclusion(hashes[index], index, size, proof, root)
        for size1 in {1, size // 3 or 1, size}:
            proof = service.consistency(engine, agency="a", size1=size1, size2=size)
            verify_consistency(size1, size, proof, root_from_leaf_hashes(hashes[:size1]), root)
    with pytest.raises(LedgerError, match="not 10000"):
        service.inclusion(engine, agency="a", index=0, size=10_000)
    # Tiles: the level-0 tile holds the leaf hashes, entry bundles the leaves.
    tile = service.tile(engine, agency="a", level=0, index=1, width=256)
    assert tile == b"".join(hashes[256:512])
    bundle = decode_bundle(
        b"".join(
            len(e).to_bytes(2, "big") + e for e in service.entry_bundle(engine, agency="a", index=2, width=5)
        )
    )
    assert [leaf_hash(e) for e in bundle] == hashes[512:517]


def test_the_database_refuses_to_rewrite_the_log(engine: Engine) -> None:
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    service.append(engine, agency="a", entries=[doc(i) for i in range(3)])
    service.publish_checkpoint(engine, agency="a", signer=generate_key(ORIGIN))
    statements = [
        "UPDATE ledger_entries SET number = 'forged' WHERE idx = 1",
        "DELETE FROM ledger_entries WHERE idx = 2",
        "UPDATE ledger_checkpoints SET note = 'x'",
        "DELETE FROM ledger_checkpoints",
        "DELETE FROM ledger_tiles",
        "UPDATE ledger_tiles SET width = 1",
        "UPDATE ledger_logs SET size = 1",
        "DELETE FROM ledger_logs",
    ]
    for statement in [*statements, ("replace", b"\x00" * 96)]:
        with pytest.raises(DBAPIError, match=r"append-only|only grow"), engine.begin() as connection:
            if isinstance(statement, tuple):
                connection.execute(
                    text("UPDATE ledger_tiles SET hashes = :h, width = 3"), {"h": statement[1]}
                )
            else:
                assert isinstance(statement, str)
                connection.execute(text(statement))
    # Growth is what a tile may do: its hashes as the prefix of the new ones.
    with engine.begin() as connection:
        old = connection.execute(text("SELECT hashes FROM ledger_tiles")).scalar_one()
        connection.execute(text("UPDATE ledger_tiles SET hashes = :h, width = 4"), {"h": old + b"\x01" * 32})
    assert service.log_info(engine, agency="a").size == 3


def test_checkpoints_are_signed_kept_and_verify(engine: Engine) -> None:
    signer = generate_key(ORIGIN)
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    with LogWriter(engine, agency="a", signer=signer, max_batch=64, checkpoint_interval=0.0) as writer:
        futures = [writer.submit(doc(i)) for i in range(200)]
        receipts = [f.result(timeout=30) for f in futures]
    assert sorted(r.index for r in receipts) == list(range(200))
    checkpoints = service.all_checkpoints(engine, agency="a")
    assert checkpoints[-1].size == 200 and len(checkpoints) >= 4  # one per batch of at most 64
    newest = checkpoints[-1]
    for stored in checkpoints:
        parsed, _ = open_checkpoint(stored.note, [parse_vkey(signer.vkey)], origin=ORIGIN)
        assert parsed.size == stored.size
        if parsed.size:
            proof = service.consistency(engine, agency="a", size1=parsed.size, size2=newest.size)
            verify_consistency(parsed.size, newest.size, proof, parsed.root, newest.root)
    found = service.find_by_fingerprint(engine, agency="a", fingerprint=doc(7).fingerprint)
    assert [e.number for e in found] == ["CO-000007"]
    assert hashlib.sha256(b"\x00" + found[0].data).digest() == receipts[7].leaf_hash
    proof = service.inclusion(engine, agency="a", index=7, size=200)
    with pytest.raises(ProofError):
        verify_inclusion(receipts[7].leaf_hash, 8, 200, proof, newest.root)


def test_a_failed_batch_reaches_every_submitter_and_the_log_continues(engine: Engine) -> None:
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    with LogWriter(engine, agency="nobody", max_batch=10) as orphan:
        future = orphan.submit(doc(0))
        with pytest.raises(LedgerError, match="no ledger"):
            future.result(timeout=30)
    assert service.append(engine, agency="a", entries=[doc(1)])[0].index == 0


def test_awkward_fields_and_a_stale_size_hint_store_the_same_log(engine: Engine) -> None:
    """Fields with the characters COPY's text format escapes come back as given; an append whose size hint
    (the size this process last wrote) is wrong, as after another process appended, still grows the tree
    the RFC defines."""
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    awkward = ["back\\slash", "tab\there", "new\nline", "cr\rhere", "\\N", "é 中 \U0001f600", "\\x00"]
    entries = [
        DocumentEntry(DocumentType.LICENCE, f"iss {s}", f"no {s}", None, f"sub {s}", doc(i).fingerprint)
        for i, s in enumerate(awkward)
    ]
    receipts = service.append(engine, agency="a", entries=entries)
    for entry, receipt in zip(entries, receipts, strict=True):
        stored = service.entry_at(engine, agency="a", index=receipt.index)
        assert (stored.issuer, stored.number, stored.submitter, stored.issued_on) == (
            entry.issuer,
            entry.number,
            entry.submitter,
            None,
        )
        assert leaf_hash(stored.data) == receipt.leaf_hash
    # A second engine of the same database, as another process: each engine's hint goes stale in turn.
    url = engine.url.render_as_string(hide_password=False)
    other = make_engine(url + ("&" if "?" in url else "?") + "application_name=other-writer")
    try:
        assert str(other.url) != str(engine.url)
        for writer, n in ((other, 300), (engine, 1), (other, 256), (engine, 300), (engine, 2)):
            receipts += service.append(writer, agency="a", entries=[doc(len(receipts) + i) for i in range(n)])
    finally:
        other.dispose()
    hashes = [r.leaf_hash for r in receipts]
    assert [r.index for r in receipts] == list(range(len(receipts)))
    assert service.log_info(engine, agency="a").root == root_from_leaf_hashes(hashes)
    assert service.root_at(engine, agency="a", size=len(hashes)) == root_from_leaf_hashes(hashes)


def test_a_proof_after_the_server_dropped_the_readers_connections(engine: Engine) -> None:
    """Proofs read through a connection pool that does not ping the server first: a connection the server
    closed meanwhile is replaced, and the proof is still given."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    receipts = service.append(engine, agency="a", entries=[doc(i) for i in range(300)])
    root = root_from_leaf_hashes([r.leaf_hash for r in receipts])
    service.inclusion(engine, agency="a", index=1, size=300)  # the reader's one connection is pooled now
    with service.reader_engine(engine).connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with engine.begin() as connection:  # that connection only: the server is shared
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    for index in (0, 299):
        proof = service.inclusion(engine, agency="a", index=index, size=300)
        verify_inclusion(receipts[index].leaf_hash, index, 300, proof, root)
    assert service.tile(engine, agency="a", level=0, index=1, width=44)[:32] == receipts[256].leaf_hash
