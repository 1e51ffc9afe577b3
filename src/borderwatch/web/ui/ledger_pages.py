"""The documents of a declaration as the ledger knows them (a fragment of the declaration page), and a
document's inclusion proof checked against the newest signed checkpoint, with the bundle anyone can check
again without borderwatch. Every answer is ``ledger.documents``'s; access as to the declaration, audited."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from borderwatch.access.policy import Action, Resource
from borderwatch.ledger.documents import declaration_document_proof, declaration_documents
from borderwatch.ledger.entries import LedgerError
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.merkle import ProofError
from borderwatch.ledger.note import NoteError
from borderwatch.web.deps import Guard, State, UiIdentity, require
from borderwatch.web.errors import ApiError
from borderwatch.web.services import records
from borderwatch.web.ui.common import render

router = APIRouter(include_in_schema=False)
DeclarationGuard = Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION, page=True))]
EntryIndex = Annotated[int, Path(ge=0, le=2**62)]


def _agency_of(guard: Guard, lrn: str) -> str:
    row = records.current_declaration(db_session=guard.db, lrn=lrn, agency=guard.agency)
    if row is None:
        raise guard.not_found()
    return row.agency


@router.get("/declarations/{lrn}/documents", response_class=HTMLResponse)
def documents_fragment(
    lrn: str, request: Request, identity: UiIdentity, state: State, guard: DeclarationGuard
) -> Response:
    agency = _agency_of(guard, lrn)
    found = declaration_documents(state.engine, KeyStore(state.settings.data_dir), agency=agency, lrn=lrn)
    guard.record(record_agency=agency, resource_id=lrn, detail={"ledger_documents": len(found)})
    return render(request, "_documents.html", identity, lrn=lrn, documents=found)


@router.get("/declarations/{lrn}/documents/{index}/proof", response_class=HTMLResponse)
def proof_page(
    lrn: str, index: EntryIndex, request: Request, identity: UiIdentity, state: State, guard: DeclarationGuard
) -> Response:
    agency = _agency_of(guard, lrn)
    keys = KeyStore(state.settings.data_dir)
    try:
        document, checked = declaration_document_proof(
            state.engine, keys, agency=agency, lrn=lrn, index=index
        )
    except LedgerError as error:
        if "has no document recorded" in str(error):
            raise guard.not_found("document") from None
        return _refused(request, identity, guard, agency, lrn, index, error)
    except (NoteError, ProofError) as error:
        return _refused(request, identity, guard, agency, lrn, index, error)
    guard.record(record_agency=agency, resource_id=lrn, detail={"ledger_entry": index, "verified": True})
    return render(
        request,
        "ledger_proof.html",
        identity,
        lrn=lrn,
        document=document,
        checked=checked,
        root=base64.b64encode(checked.checkpoint.root).decode(),
        leaf=checked.leaf_hash.hex(),
        path=[h.hex() for h in checked.proof],
        error=None,
    )


def _refused(
    request: Request,
    identity: UiIdentity,
    guard: Guard,
    agency: str,
    lrn: str,
    index: int,
    error: Exception,
) -> Response:
    """A proof that cannot be given or does not verify: said so, and audited as such."""
    guard.record(
        record_agency=agency,
        resource_id=lrn,
        detail={"ledger_entry": index, "verified": False, "why": str(error)},
    )
    return render(
        request,
        "ledger_proof.html",
        identity,
        status_code=422,
        lrn=lrn,
        index=index,
        checked=None,
        error=error,
    )


@router.get("/declarations/{lrn}/documents/{index}/proof.json")
def proof_bundle(lrn: str, index: EntryIndex, state: State, guard: DeclarationGuard) -> Response:
    """The proof bundle of ``borderwatch ledger verify`` and of the single-file verifier."""
    agency = _agency_of(guard, lrn)
    keys = KeyStore(state.settings.data_dir)
    try:
        _, checked = declaration_document_proof(state.engine, keys, agency=agency, lrn=lrn, index=index)
    except (LedgerError, NoteError, ProofError) as error:
        if "has no document recorded" in str(error):
            raise guard.not_found("document") from None
        raise ApiError(422, str(error)) from None
    guard.record(record_agency=agency, resource_id=lrn, detail={"ledger_entry": index, "bundle": True})
    return JSONResponse(
        checked.bundle,
        headers={"Content-Disposition": f'attachment; filename="ledger-entry-{index}.json"'},
    )
