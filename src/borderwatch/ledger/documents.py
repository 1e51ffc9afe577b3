"""The documents of declarations and the evidence of cases, in the ledger; the check that scores them.

A declaration states each document by type, number, issuer and SHA-256 (``ingest.frame.DOCUMENT_SCHEMA``).
Its fingerprint is that of the ledger (``entries.fingerprint_of_digest`` under the issuer's key), so it is
compared with what the issuer registered without the document's bytes:

- **re-used**: the agency already saw the fingerprint presented with another declaration;
- **altered**: the issuer registered this number, under another fingerprint;
- **unregistered**: the issuer registers its documents (the log holds at least one it registered) but holds
  neither this number nor this fingerprint.

:class:`LedgerDocumentCheck` is the ``scoring.documents.DocumentCheck`` that answers these as findings before
a declaration is scored; :func:`present_documents` then records the presentation (agency-private: the public
log holds no LRN) and, for a document the log does not hold yet, appends it through the agency's
``LogWriter``, so the log proves what the declaration was made with. Documents of an issuer without a key
here, without a SHA-256 or of a type the ledger does not know are not checked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

import polars as pl
from sqlalchemy import Connection, Engine, Table, and_, exists, insert, or_, select

from borderwatch.core.vocabulary import DocumentFinding
from borderwatch.db.session import write_transaction
from borderwatch.ingest.store import load_documents
from borderwatch.ledger import flows, service
from borderwatch.ledger.entries import (
    DocumentEntry,
    DocumentType,
    LedgerError,
    fingerprint,
    fingerprint_of_digest,
)
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.models import LedgerEntryRow, LedgerPresentationRow
from borderwatch.ledger.writer import WAIT_SECONDS, LogWriter, WriterPool
from borderwatch.scoring.documents import DOCUMENT_FINDING_SCHEMA

_entries = cast(Table, LedgerEntryRow.__table__)
_presentations = cast(Table, LedgerPresentationRow.__table__)
_CHUNK = 200  # (issuer, number) pairs per OR-of-ANDs query (an indexed look-up each)

# Words a declaration may use for a document type, besides the ledger's own names.
_ALIASES: dict[str, DocumentType] = {
    "co": DocumentType.CERTIFICATE_OF_ORIGIN,
    "origin": DocumentType.CERTIFICATE_OF_ORIGIN,
    "invoice": DocumentType.COMMERCIAL_INVOICE,
    "bl": DocumentType.BILL_OF_LADING,
    "b/l": DocumentType.BILL_OF_LADING,
    "phyto": DocumentType.PHYTOSANITARY_CERTIFICATE,
    "licence": DocumentType.LICENCE,
    "license": DocumentType.LICENCE,
}


def document_type(value: str | None) -> DocumentType | None:
    """The ledger's type for a declaration's word, None when it has none."""
    if not value:
        return None
    word = value.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return DocumentType(word)
    except ValueError:
        return _ALIASES.get(word)


@dataclass(frozen=True, slots=True)
class Presented:
    lrn: str
    doc_type: DocumentType
    issuer: str
    number: str
    fingerprint: str


def fingerprinted(keys: KeyStore, documents: pl.DataFrame) -> list[Presented]:
    """The documents that can be checked, with their fingerprints (issuer keys read once each)."""
    out: list[Presented] = []
    issuer_keys: dict[str, bytes | None] = {}
    for row in documents.iter_rows(named=True):
        kind, issuer, digest = document_type(row["doc_type"]), row["issuer"], row["sha256"]
        if kind is None or not issuer or not digest:
            continue
        if issuer not in issuer_keys:
            try:
                issuer_keys[issuer] = keys.issuer_key(issuer)
            except LedgerError:
                issuer_keys[issuer] = None
        key = issuer_keys[issuer]
        if key is not None:
            fp = fingerprint_of_digest(key, digest.lower())
            out.append(Presented(row["lrn"], kind, issuer, row["number"], fp))
    return out


def _issuer_registered(
    connection: Connection, log_id: int, agency: str, docs: Sequence[Presented]
) -> tuple[dict[tuple[str, str], set[str]], set[str], set[str]]:
    """What the issuers registered (entries no presentation of ``agency`` appended): fingerprints per
    (issuer, number) of ``docs``, those of ``docs``' fingerprints the log holds, which issuers register."""
    appended = exists().where(
        _presentations.c.agency == agency,
        _presentations.c.appended.is_(True),
        _presentations.c.entry_idx == _entries.c.idx,
    )
    own = and_(_entries.c.log_id == log_id, ~appended)
    pairs = sorted({(d.issuer, d.number) for d in docs})
    by_number: dict[tuple[str, str], set[str]] = defaultdict(set)
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        match = or_(*(and_(_entries.c.issuer == i, _entries.c.number == n) for i, n in chunk))
        query = select(_entries.c.issuer, _entries.c.number, _entries.c.fingerprint).where(own, match)
        for issuer, number, fp in connection.execute(query):
            by_number[(issuer, number)].add(fp)
    fps = sorted({d.fingerprint for d in docs})
    held: set[str] = set()
    for start in range(0, len(fps), _CHUNK * 5):
        query = select(_entries.c.fingerprint).where(
            own, _entries.c.fingerprint.in_(fps[start : start + _CHUNK * 5])
        )
        held.update(connection.execute(query).scalars())
    registering = {
        issuer
        for issuer in sorted({d.issuer for d in docs})
        if connection.execute(select(_entries.c.idx).where(own, _entries.c.issuer == issuer).limit(1)).first()
    }
    return by_number, held, registering


def _presented_before(connection: Connection, agency: str, fps: Sequence[str]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(fps), _CHUNK * 5):
        query = (
            select(_presentations.c.fingerprint, _presentations.c.lrn)
            .where(
                _presentations.c.agency == agency,
                _presentations.c.fingerprint.in_(fps[start : start + _CHUNK * 5]),
            )
            .order_by(_presentations.c.id)
        )
        for fp, lrn in connection.execute(query):
            seen[fp].append(lrn)
    return seen


def check_documents(engine: Engine, keys: KeyStore, *, agency: str, documents: pl.DataFrame) -> pl.DataFrame:
    """Findings (``scoring.documents.DOCUMENT_FINDING_SCHEMA``) about ``documents`` of ``agency``'s
    declarations; none when the agency has no ledger."""
    docs = fingerprinted(keys, documents)
    if not docs:
        return pl.DataFrame(schema=DOCUMENT_FINDING_SCHEMA)
    with engine.connect() as connection:
        try:
            log = service.get_log(connection, agency=agency)
        except LedgerError:
            return pl.DataFrame(schema=DOCUMENT_FINDING_SCHEMA)
        seen = _presented_before(connection, agency, sorted({d.fingerprint for d in docs}))
        by_number, held, registering = _issuer_registered(connection, log.id, agency, docs)
    rows: list[tuple[str, DocumentFinding, str, str, str, str | None]] = []
    for doc in docs:
        others = [lrn for lrn in seen[doc.fingerprint] if lrn != doc.lrn]
        if others:
            rows.append((doc.lrn, "reused", doc.doc_type, doc.issuer, doc.number, others[0]))
        seen[doc.fingerprint].append(doc.lrn)  # a later declaration of the same batch re-uses it
        registered = by_number.get((doc.issuer, doc.number))
        if registered is not None and doc.fingerprint not in registered:
            rows.append((doc.lrn, "altered", doc.doc_type, doc.issuer, doc.number, None))
        elif registered is None and doc.issuer in registering and doc.fingerprint not in held:
            rows.append((doc.lrn, "unregistered", doc.doc_type, doc.issuer, doc.number, None))
    return pl.DataFrame(rows, schema=DOCUMENT_FINDING_SCHEMA, orient="row")


@dataclass(frozen=True, slots=True)
class DocumentStatus:
    """What the ledger says of one document a declaration states, for the declaration's page."""

    doc_type: str | None
    number: str
    issuer: str | None
    status: str  # registered (and unchanged), altered, unregistered, not checked
    registered_by: str | None = None
    registered_at: datetime | None = None
    index: int | None = None
    presented_before: tuple[str, ...] = ()
    """other declarations of the agency that presented the same document earlier (re-use)"""
    presented_after: tuple[str, ...] = ()
    """other declarations of the agency that presented it later"""
    recorded_index: int | None = None
    """the entry that records this document as the declaration presented it (the issuer's, or the one the
    presentation appended), whose inclusion proof shows what the declaration was made with"""

    @property
    def proof_index(self) -> int | None:
        """The entry whose inclusion proof to show: the issuer's registration, else the presentation's."""
        return self.index if self.index is not None else self.recorded_index


def document_statuses(
    engine: Engine, keys: KeyStore, *, agency: str, documents: pl.DataFrame
) -> list[DocumentStatus]:
    """Each of ``documents`` (one declaration's, ``ingest.frame.DOCUMENT_SCHEMA``) as the ledger knows it:
    registered (by whom, when, at which index: the fingerprint the issuer registered, so unchanged),
    altered, unregistered, or not checked (no key for its issuer, no SHA-256, a type the ledger does not
    know, an issuer that does not register, no ledger); with the agency's other declarations that presented
    the same document before or after it, and the entry recording this presentation."""
    checked = {(d.lrn, d.number, d.issuer): d for d in fingerprinted(keys, documents)}
    out: list[DocumentStatus] = []
    seen: dict[str, list[str]] = defaultdict(list)
    recorded: dict[tuple[str, str], int] = {}
    try:
        with engine.connect() as connection:
            log = service.get_log(connection, agency=agency)
            by_number, held, registering = _issuer_registered(
                connection, log.id, agency, list(checked.values())
            )
            fps = sorted({d.fingerprint for d in checked.values()})
            seen = _presented_before(connection, agency, fps)
            lrns = sorted({d.lrn for d in checked.values()})
            if fps and lrns:
                query = select(
                    _presentations.c.lrn, _presentations.c.fingerprint, _presentations.c.entry_idx
                ).where(
                    _presentations.c.agency == agency,
                    _presentations.c.lrn.in_(lrns),
                    _presentations.c.fingerprint.in_(fps),
                )
                recorded = {(lrn, fp): idx for lrn, fp, idx in connection.execute(query)}
    except LedgerError:
        by_number, held, registering = {}, set(), set()
    for row in documents.iter_rows(named=True):
        doc = checked.get((row["lrn"], row["number"], row["issuer"]))
        status = DocumentStatus(row["doc_type"], row["number"], row["issuer"], "not checked")
        if doc is not None:
            order = seen.get(doc.fingerprint, [])
            mine = order.index(doc.lrn) if doc.lrn in order else len(order)
            status = DocumentStatus(
                doc.doc_type,
                doc.number,
                doc.issuer,
                "not checked",
                presented_before=tuple(dict.fromkeys(x for x in order[:mine] if x != doc.lrn)),
                presented_after=tuple(dict.fromkeys(x for x in order[mine:] if x != doc.lrn)),
                recorded_index=recorded.get((doc.lrn, doc.fingerprint)),
            )
        if doc is not None and doc.fingerprint in held:
            entry = service.find_by_fingerprint(engine, agency=agency, fingerprint=doc.fingerprint)[0]
            status = replace(
                status,
                status="registered",
                registered_by=entry.submitter,
                registered_at=entry.logged_at,
                index=entry.index,
            )
        elif doc is not None and (doc.issuer, doc.number) in by_number:
            status = replace(status, status="altered")
        elif doc is not None and doc.issuer in registering:
            status = replace(status, status="unregistered")
        out.append(status)
    return out


def declaration_documents(engine: Engine, keys: KeyStore, *, agency: str, lrn: str) -> list[DocumentStatus]:
    """:func:`document_statuses` of the documents the current version of declaration ``lrn`` states."""
    documents = load_documents(engine, agency=agency, lrns=[lrn])
    return document_statuses(engine, keys, agency=agency, documents=documents)


def declaration_document_proof(
    engine: Engine, keys: KeyStore, *, agency: str, lrn: str, index: int
) -> tuple[DocumentStatus, flows.CheckedProof]:
    """A document of declaration ``lrn`` whose entry is ``index`` (:attr:`DocumentStatus.proof_index`), with
    that entry's inclusion proof checked against the newest signed checkpoint (:func:`flows.checked_proof`);
    :class:`LedgerError` if no document of the declaration has that entry."""
    for status in declaration_documents(engine, keys, agency=agency, lrn=lrn):
        if status.proof_index == index:
            return status, flows.checked_proof(engine, keys, agency=agency, index=index)
    raise LedgerError(f"declaration {lrn!r} has no document recorded at entry {index}")


class LedgerDocumentCheck:
    """:func:`check_documents` as a ``scoring.documents.DocumentCheck``."""

    def __init__(self, engine: Engine, keys: KeyStore) -> None:
        self.engine = engine
        self.keys = keys

    def __call__(self, documents: pl.DataFrame, *, agency: str) -> pl.DataFrame:
        return check_documents(self.engine, self.keys, agency=agency, documents=documents)


def present_documents(
    engine: Engine, keys: KeyStore, writers: WriterPool, *, agency: str, documents: pl.DataFrame
) -> int:
    """Record ``documents`` as presented with their declarations: a document the log does not hold yet is
    appended through the agency's writer (durable when this returns); each (declaration, fingerprint) is
    recorded once. Returns the number of entries appended; nothing is done when the agency has no ledger."""
    docs = fingerprinted(keys, documents)
    if not docs:
        return 0
    fps = sorted({d.fingerprint for d in docs})
    with engine.connect() as connection:
        try:
            log = service.get_log(connection, agency=agency)
        except LedgerError:
            return 0
        before = _presented_before(connection, agency, fps)
        held: dict[str, int] = {}
        for start in range(0, len(fps), _CHUNK * 5):
            query = select(_entries.c.fingerprint, _entries.c.idx).where(
                _entries.c.log_id == log.id, _entries.c.fingerprint.in_(fps[start : start + _CHUNK * 5])
            )
            for fp, idx in connection.execute(query):
                held.setdefault(fp, idx)
    new = {(d.lrn, d.fingerprint): d for d in docs if d.lrn not in before[d.fingerprint]}
    futures = {}
    for doc in new.values():
        if doc.fingerprint not in held and doc.fingerprint not in futures:
            entry = DocumentEntry(doc.doc_type, doc.issuer, doc.number, None, agency, doc.fingerprint)
            futures[doc.fingerprint] = writers.writer(agency).submit(entry)
    appended = {fp: future.result(timeout=WAIT_SECONDS).index for fp, future in futures.items()}
    rows = [
        {
            "agency": agency,
            "lrn": doc.lrn,
            "fingerprint": doc.fingerprint,
            "doc_type": str(doc.doc_type),
            "issuer": doc.issuer,
            "number": doc.number,
            "entry_idx": held.get(doc.fingerprint, appended.get(doc.fingerprint)),
            "appended": doc.fingerprint in appended,
        }
        for doc in new.values()
    ]
    # the entry a presentation appended counts as presentation once: a second declaration with it is not
    # "appended" again (it re-uses the first one's entry)
    first = set()
    for row in rows:
        if row["appended"]:
            row["appended"] = row["fingerprint"] not in first
            first.add(row["fingerprint"])
    if rows:
        with write_transaction(engine) as connection:
            connection.execute(insert(_presentations), rows)
    return len(appended)


def register_issued(keys: KeyStore, writer: LogWriter, issued: pl.DataFrame) -> list[service.Receipt]:
    """Append documents as their issuers register them (rows of ``issuer``, ``doc_type``, ``number``,
    ``content``: the document's bytes; ``issued_on`` when present): each fingerprinted under its issuer's key
    (made on first use), the issuer its submitter. Durable when this returns."""
    dated = "issued_on" in issued.columns
    futures = [
        writer.submit(
            DocumentEntry(
                DocumentType(row["doc_type"]),
                row["issuer"],
                row["number"],
                row["issued_on"] if dated else None,
                row["issuer"],
                fingerprint(keys.issuer_key(row["issuer"], create=True), row["content"]),
            )
        )
        for row in issued.iter_rows(named=True)
    ]
    return [future.result(timeout=WAIT_SECONDS) for future in futures]


def register_evidence(
    keys: KeyStore, writer: LogWriter, *, agency: str, case_id: int, evidence: Sequence[tuple[str, str]]
) -> list[service.Receipt]:
    """Append the evidence files (name, SHA-256) of a case's finding through ``writer``: the agency is their
    issuer (its key is made on first use) and ``case-<id>/<name>`` their number. Durable when this returns."""
    if not evidence:
        return []
    key = keys.issuer_key(agency, create=True)
    futures = [
        writer.submit(
            DocumentEntry(
                DocumentType.EVIDENCE_FILE,
                agency,
                f"case-{case_id}/{name}"[:128],
                None,
                agency,
                fingerprint_of_digest(key, digest.lower()),
            )
        )
        for name, digest in evidence
    ]
    return [future.result(timeout=WAIT_SECONDS) for future in futures]
