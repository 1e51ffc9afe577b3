"""The ledger over HTTP: C2SP tlog-tiles (``/ledger/checkpoint``, ``/ledger/tile/...``) and JSON proofs,
public by design (see ``access.policy.PUBLIC_READ``); registering a fingerprint, the witness's cosigning and
the alerts need an account. Thin: every answer is the ledger stage's."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.ingest.store import load_documents
from borderwatch.ledger import flows, service, witness
from borderwatch.ledger.documents import document_statuses
from borderwatch.ledger.entries import DocumentEntry, DocumentType, LedgerError
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.merkle import ProofError
from borderwatch.ledger.note import NoteError
from borderwatch.ledger.tiles import encode_bundle, parse_tile_path, tile_width
from borderwatch.ledger.writer import WriterPool
from borderwatch.web.deps import AppState, Guard, State, public, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/ledger", tags=["ledger"], responses=ERROR_RESPONSES)
tiles_router = APIRouter(prefix="/ledger", tags=["ledger"], responses=ERROR_RESPONSES)
PublicRead = Depends(public(Action.READ, Resource.LEDGER))


def _api_error(error: Exception) -> ApiError:
    message = str(error)
    if isinstance(error, LedgerError) and any(
        s in message for s in (" has no ", "no published", " entries, not ")
    ):
        return ApiError(404, message)
    if isinstance(error, witness.SplitViewError):
        return ApiError(409, message, code="split_view")
    return ApiError(422, message)


def _latest(state: State) -> service.StoredCheckpoint:
    try:
        checkpoint = service.latest_checkpoint(state.engine, agency=state.settings.agency)
    except LedgerError as error:
        raise _api_error(error) from None
    if checkpoint is None:
        raise ApiError(404, "the log has published no checkpoint yet")
    return checkpoint


@tiles_router.get(
    "/checkpoint", summary="The newest signed checkpoint (C2SP tlog-checkpoint)", dependencies=[PublicRead]
)
def checkpoint(state: State) -> Response:
    latest = _latest(state)
    note = service.cosigned_note(state.engine, checkpoint=latest)
    return Response(note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"})


@tiles_router.get(
    "/tile/{path:path}", summary="A tile or entry bundle (C2SP tlog-tiles)", dependencies=[PublicRead]
)
def get_tile(path: str, state: State) -> Response:
    try:
        level, index, width = parse_tile_path(path)
    except ValueError as error:
        raise ApiError(404, str(error)) from None
    published = _latest(state).size
    # Only what a published checkpoint covers: a mirror never serves a tree no checkpoint commits to.
    if tile_width(level or 0, index, published) < width:
        raise ApiError(404, f"tile {path} is beyond the newest checkpoint (size {published})")
    agency = state.settings.agency
    try:
        if level is None:
            body = encode_bundle(service.entry_bundle(state.engine, agency=agency, index=index, width=width))
        else:
            body = service.tile(state.engine, agency=agency, level=level, index=index, width=width)
    except LedgerError as error:
        raise _api_error(error) from None
    # A full tile never changes; a partial one is replaced by a wider one under another path.
    return Response(
        body,
        media_type="application/octet-stream",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


class ProofOut(BaseModel):
    size1: int | None = None
    size2: int | None = None
    index: int | None = None
    size: int | None = None
    proof: list[str] = Field(description="base64 SHA-256 hashes, from the leaf (or the older tree) up")


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


@router.get("/proof/inclusion", summary="An inclusion proof (RFC 9162)", dependencies=[PublicRead])
def inclusion(
    state: State,
    index: Annotated[int, Query(ge=0, le=2**62)],
    size: Annotated[int, Query(ge=1, le=2**62)],
) -> ProofOut:
    try:
        proof = service.inclusion(state.engine, agency=state.settings.agency, index=index, size=size)
    except (LedgerError, ProofError) as error:
        raise _api_error(error) from None
    return ProofOut(index=index, size=size, proof=_b64(proof))


@router.get("/proof/consistency", summary="A consistency proof (RFC 9162)", dependencies=[PublicRead])
def consistency(
    state: State,
    size1: Annotated[int, Query(ge=1, le=2**62)],
    size2: Annotated[int, Query(ge=1, le=2**62)],
) -> ProofOut:
    try:
        proof = service.consistency(state.engine, agency=state.settings.agency, size1=size1, size2=size2)
    except (LedgerError, ProofError) as error:
        raise _api_error(error) from None
    return ProofOut(size1=size1, size2=size2, proof=_b64(proof))


class LookupOut(BaseModel):
    bundles: list[dict[str, Any]]


@router.get(
    "/lookup", summary="The entries holding a fingerprint, with their proofs", dependencies=[PublicRead]
)
def lookup(state: State, fingerprint: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")]) -> LookupOut:
    agency = state.settings.agency
    try:
        found = service.find_by_fingerprint(state.engine, agency=agency, fingerprint=fingerprint)
        bundles = [flows.proof_bundle(state.engine, agency=agency, index=e.index) for e in found]
    except LedgerError as error:
        raise _api_error(error) from None
    return LookupOut(bundles=bundles)


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: DocumentType
    issuer: str = Field(min_length=1, max_length=128)
    number: str = Field(min_length=1, max_length=128)
    issued_on: date | None = None
    fingerprint: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="HMAC-SHA-256 under the issuer's key, hex"
    )


class EntryOut(BaseModel):
    index: int
    leaf_hash: str
    logged_at: str
    checkpoint_size: int


@router.post("/entries", summary="Register a document fingerprint", status_code=201)
def register(
    body: EntryIn, state: State, guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.LEDGER))]
) -> EntryOut:
    entry = DocumentEntry(body.type, body.issuer, body.number, body.issued_on, guard.agency, body.fingerprint)
    try:
        done = flows.append_through(_writers(state), agency=guard.agency, entry=entry)
    except LedgerError as error:
        raise _api_error(error) from None
    guard.log(resource_id=str(done.receipt.index), detail={"issuer": body.issuer, "number": body.number})
    return EntryOut(
        index=done.receipt.index,
        leaf_hash=base64.b64encode(done.receipt.leaf_hash).decode(),
        logged_at=done.receipt.logged_at.isoformat(),
        checkpoint_size=done.checkpoint.size,
    )


def _writers(state: AppState) -> WriterPool:
    if state.ledger is None:
        raise ApiError(503, "this server appends nothing to the ledger")
    return state.ledger


class DocumentStatusOut(BaseModel):
    type: str | None
    number: str
    issuer: str | None
    status: str = Field(description="registered, altered, unregistered or not checked")
    registered_by: str | None = None
    registered_at: str | None = None
    index: int | None = None
    presented_before: list[str] = Field(
        default=[], description="this agency's declarations that presented it earlier"
    )
    presented_after: list[str] = Field(
        default=[], description="this agency's declarations that presented it later"
    )
    recorded_index: int | None = Field(default=None, description="the entry recording this presentation")


@router.get(
    "/declarations/{lrn}/documents", summary="What the ledger says of each document a declaration states"
)
def declaration_documents(
    lrn: str, state: State, guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))]
) -> list[DocumentStatusOut]:
    documents = load_documents(state.engine, agency=guard.agency, lrns=[lrn])
    keys = KeyStore(state.settings.data_dir)
    found = document_statuses(state.engine, keys, agency=guard.agency, documents=documents)
    guard.log(resource_id=lrn, detail={"documents": len(found)})
    return [
        DocumentStatusOut(
            type=d.doc_type,
            number=d.number,
            issuer=d.issuer,
            status=d.status,
            registered_by=d.registered_by,
            registered_at=d.registered_at.isoformat() if d.registered_at else None,
            index=d.index,
            presented_before=list(d.presented_before),
            presented_after=list(d.presented_after),
            recorded_index=d.recorded_index,
        )
        for d in found
    ]


class AddCheckpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    log_vkey: str = Field(max_length=512, description="the log's verifier key, name+hash+base64")
    checkpoint: str = Field(max_length=65_536, description="the signed checkpoint note")
    consistency_proof: list[str] = Field(default=[], max_length=128)


class CosignatureOut(BaseModel):
    cosignature: str


@router.post("/witness/add-checkpoint", summary="Cosign a log's checkpoint that extends the last one seen")
def add_checkpoint(
    body: AddCheckpointIn,
    state: State,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.LEDGER))],
) -> CosignatureOut:
    try:
        proof = [base64.b64decode(p, validate=True) for p in body.consistency_proof]
        signer = KeyStore(state.settings.data_dir).witness_signer()
        signature = witness.cosign(
            state.engine, signer, note=body.checkpoint, log_vkey=body.log_vkey, consistency_proof=proof
        )
    except (binascii.Error, ValueError) as error:
        raise ApiError(422, f"consistency_proof: not base64 ({error})", field="consistency_proof") from None
    except (LedgerError, NoteError, ProofError) as error:
        guard.log(detail={"refused": str(error)[:200]})
        raise _api_error(error) from None
    guard.log(detail={"cosigned": body.checkpoint.split("\n", 2)[:2]})
    return CosignatureOut(cosignature=signature.line())


class AlertOut(BaseModel):
    origin: str
    kind: str
    first_checkpoint: str
    second_checkpoint: str
    detected_at: str


@router.get("/alerts", summary="Split views and forks this borderwatch detected as a witness")
def list_alerts(
    state: State, guard: Annotated[Guard, Depends(require(Action.READ, Resource.LEDGER))]
) -> list[AlertOut]:
    found = witness.alerts(state.engine)
    guard.log(detail={"count": len(found)})
    return [
        AlertOut(
            origin=a.origin,
            kind=a.kind,
            first_checkpoint=a.first_note,
            second_checkpoint=a.second_note,
            detected_at=a.detected_at.isoformat(),
        )
        for a in found
    ]
