"""Declarations: read one with its score, reasons, lane, outcomes and cases; its answer (CUSRES or JSON);
the worklist."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.ingest.edifact.cusres import Answer
from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import ingest_declarations
from borderwatch.ingest.store import load_documents
from borderwatch.inspections.answers import answers, as_cusres
from borderwatch.inspections.flows import (
    follow_completed_reasons,
    select_arrivals_flow,
)
from borderwatch.ledger.documents import present_documents
from borderwatch.ledger.keys import KeyStore
from borderwatch.pipeline.selection import agency_selection
from borderwatch.scoring.online import complete_reasons
from borderwatch.web.deps import AppState, Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated
from borderwatch.web.services import pipeline, records
from borderwatch.web.services.profiles import agency_profiles

router = APIRouter(tags=["declarations"], responses=ERROR_RESPONSES)


@router.get("/declarations/{lrn}", summary="A declaration with its score, reasons, lane, outcomes and cases")
def get_declaration(
    lrn: records.Lrn,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))],
    state: State,
) -> records.DeclarationOut:
    row = records.declaration_for(guard, lrn)
    read_with_reasons(guard=guard, state=state, lrn=lrn)
    return records.declaration_out(db_session=guard.db, row=row)


EDIFACT = "application/EDIFACT"  # RFC 1767


@router.get(
    "/declarations/{lrn}/answer",
    response_model=Answer,
    responses={200: {"content": {EDIFACT: {"schema": {"type": "string"}}}}},
    summary="borderwatch's answer on a declaration (lane, basis, reasons, case result) as JSON or CUSRES",
)
def get_answer(
    lrn: records.Lrn,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.LANE))],
    fmt: Annotated[
        Literal["json", "cusres"], Query(alias="format", description="json, or cusres (UN/EDIFACT D.96B)")
    ] = "json",
    recipient: Annotated[
        str,
        Query(
            min_length=1,
            max_length=35,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
            description="the UNB recipient of a CUSRES: the trader's or port community system's id",
        ),
    ] = "TRADER",
) -> Answer | Response:
    """The current lane decision of the agency's declaration ``lrn`` and, once inspected, its case's result:
    what a trader's or port system receives, the way it receives a customs system's CUSRES today. Audited
    (who took which decision out of borderwatch); 404 alike for no decision and another agency's."""
    found = answers(session=guard.db, agency=guard.agency, lrns=[lrn])
    if not found:
        raise guard.not_found()
    guard.record(record_agency=guard.agency, resource_id=lrn, detail={"answer": fmt})
    if fmt == "json":
        return found[0]
    text, charset = as_cusres(found, sender=guard.agency, recipient=recipient, at=datetime.now(UTC))
    return Response(text.encode(charset), media_type=f"{EDIFACT}; charset={charset}")


def read_with_reasons(*, guard: Guard, state: AppState, lrn: str) -> None:
    """Before a declaration is shown: complete its score's reasons if they were left to the first read."""
    complete_reasons(
        cache=state.cache,
        engine=state.engine,
        db=guard.db,
        agency=guard.agency,
        lrn=lrn,
        profiles=agency_profiles(state.settings, guard.agency, cache=state.cache),
    )
    follow_completed_reasons(session=guard.db, lrn=lrn, agency=guard.agency)


@router.get("/worklist", summary="Red and yellow declarations of my agency, riskiest first")
def worklist(
    *,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.WORKLIST))],
    paging: Paging,
    filters: Annotated[records.WorklistFilter, Query()],
) -> Paginated[records.WorklistItem]:
    items, total = records.worklist(
        db_session=guard.db,
        agency=guard.agency,
        filters=filters,
        me=guard.principal.username,
        limit=paging.limit,
        offset=paging.offset,
    )
    guard.log(detail={**filters.model_dump(mode="json", exclude_defaults=True), "returned": len(items)})
    return Paginated[records.WorklistItem](items=items, total=total, limit=paging.limit, offset=paging.offset)


class ScoreOut(BaseModel):
    lrn: str
    status: Literal["stored", "amended", "duplicate"]
    score: float | None
    fraud_probability: float | None
    forced_lane: str | None
    reasons: list[str]
    explained: bool = Field(
        description="whether reasons include the model's own (its top contributions as sentences); false "
        "for a declaration scoring below the agency's explain threshold (and not forced to yellow or red): "
        "they are computed on its first read, GET /api/declarations/{lrn} always returns them"
    )
    model_version: str | None = Field(description="the active model that scored it; null: no active model")
    lane: str | None = Field(default=None, description="the lane it was given on arrival")
    basis: str | None = Field(default=None, description="why it got that lane")
    screening_hits: int = Field(default=0, description="watchlist hits of its parties, kept for review")
    note: str | None = None


class SubmissionOut(BaseModel):
    items: list[ScoreOut]
    stored: int
    amended: int
    duplicates: int


MAX_BATCH = 1000


def submit(*, guard: Guard, state: AppState, declarations: list[Declaration]) -> SubmissionOut:
    """Store declarations through the ingest service, then select them (screened, scored with the active
    model, given a lane and, if selected, a case: ``inspections.flows.select_arrivals_flow``)."""
    summary = ingest_declarations(
        engine=state.engine, declarations=declarations, agency=guard.agency, source="api"
    )
    if summary.quarantined or summary.already_quarantined:
        reason = ", ".join(f"{n} × {r}" for r, n in summary.reasons.most_common(3)) or "invalid record"
        raise ApiError(422, f"the ingest service quarantined the declaration: {reason}")
    lrns = [d.lrn for d in declarations]
    keys = KeyStore(state.settings.data_dir)
    selection = agency_selection(
        settings=state.settings, engine=state.engine, agency=guard.agency, cache=state.cache
    )
    # only what was stored or amended arrives: a duplicate keeps its decision (and any override of it)
    result = select_arrivals_flow(
        engine=state.engine, session=guard.db, lrns=summary.lrns, agency=guard.agency, selection=selection
    )
    if state.ledger is not None and any(d.documents for d in declarations):
        # after scoring: a declaration's own documents are not a re-use of themselves. The scores are
        # committed first: the ledger's writer thread appends in its own transaction, and on SQLite this
        # request's would hold the one write lock until it ends.
        guard.db.commit()
        documents = load_documents(state.engine, agency=guard.agency, lrns=lrns)
        present_documents(state.engine, keys, state.ledger, agency=guard.agency, documents=documents)
    # Audited once selected, not before: on SQLite the request's transaction holds the one write lock from
    # its first write to its commit, and other requests' ingests would queue behind the whole scoring.
    guard.log(resource_id=lrns[0] if len(lrns) == 1 else None, detail={"lrns": lrns[:50], "count": len(lrns)})
    by_lrn = {row["lrn"]: row for row in result.scores.iter_rows(named=True)}
    lanes = {row["lrn"]: row for row in result.decisions.iter_rows(named=True)}
    hits = result.hits["lrn"].value_counts() if result.hits.height else None
    hit_counts = dict(hits.iter_rows()) if hits is not None else {}
    status = "stored" if summary.stored else "amended" if summary.amended else "duplicate"
    items = [
        ScoreOut(
            lrn=lrn,
            status=status if len(lrns) == 1 else "stored",
            score=by_lrn[lrn]["score"] if lrn in by_lrn else None,
            fraud_probability=by_lrn[lrn]["fraud_probability"] if lrn in by_lrn else None,
            forced_lane=by_lrn[lrn]["forced_lane"] if lrn in by_lrn else None,
            reasons=list(by_lrn[lrn]["reasons"] or []) if lrn in by_lrn else [],
            explained=bool(by_lrn[lrn]["explained"]) if lrn in by_lrn else False,
            model_version=result.model_version,
            lane=lanes[lrn]["lane"] if lrn in lanes else None,
            basis=lanes[lrn]["basis"] if lrn in lanes else None,
            screening_hits=int(hit_counts.get(lrn, 0)),
            note=result.note if lrn in lanes else "already stored with this content: its lane stands",
        )
        for lrn in lrns
    ]
    return SubmissionOut(
        items=items, stored=summary.stored, amended=summary.amended, duplicates=summary.duplicates
    )


@router.post(
    "/declarations",
    status_code=201,
    response_model=ScoreOut,
    responses={
        202: {
            "model": pipeline.QueuedOut,
            "description": "queued on the pipeline (BORDERWATCH_PIPELINE=nats)",
        }
    },
    summary="Submit one declaration: stored, then scored (or queued on the pipeline: 202)",
)
def submit_one(
    body: Declaration,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.DECLARATION))],
    state: State,
) -> ScoreOut | JSONResponse:
    if state.settings.pipeline == "nats":
        return pipeline.queued_response(guard=guard, state=state, declarations=[body], one=True)
    return submit(guard=guard, state=state, declarations=[body]).items[0]


@router.post(
    "/declarations/batch",
    status_code=201,
    response_model=SubmissionOut,
    responses={202: {"model": pipeline.QueuedBatchOut, "description": "queued (BORDERWATCH_PIPELINE=nats)"}},
    summary="Submit up to 1000 declarations at once",
)
def submit_batch(
    body: Annotated[list[Declaration], Body(min_length=1, max_length=MAX_BATCH)],
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.DECLARATION))],
    state: State,
) -> SubmissionOut | JSONResponse:
    lrns = [d.lrn for d in body]
    if len(set(lrns)) != len(lrns):
        raise ApiError(422, "a batch may hold each declaration (lrn) once", field="lrn")
    if state.settings.pipeline == "nats":
        return pipeline.queued_response(guard=guard, state=state, declarations=body, one=False)
    return submit(guard=guard, state=state, declarations=body)
