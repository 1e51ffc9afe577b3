"""Screening queries against the active watchlists, a declaration's party hits, analysts' verdicts on hits,
and a declaration's party network. The matching is the screening stage's; this module only exposes it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from borderwatch.access.policy import Action, Resource
from borderwatch.screening import service as screening
from borderwatch.screening.matcher import DEFAULT_THRESHOLD
from borderwatch.screening.matcher import Query as ScreeningQuery
from borderwatch.web.deps import Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES
from borderwatch.web.schemas import Paginated
from borderwatch.web.services import screening as service
from borderwatch.web.services.records import Lrn
from borderwatch.web.services.screening import (
    Graph,
    MatchOut,
    PartyHit,
    ReviewIn,
    StoredHitOut,
    declaration_hits,
    declaration_network,
    matcher,
)

router = APIRouter(tags=["screening"], responses=ERROR_RESPONSES)

PARTY_KINDS = {"importer": "organization", "seller": "organization"}


class ScreeningIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=512)
    kind: Literal["person", "organization", "vessel", "aircraft"] | None = None
    date_of_birth: str | None = Field(default=None, max_length=10, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    nationality: str | None = Field(default=None, max_length=64)
    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0.3, le=1.0)
    limit: int = Field(default=5, ge=1, le=50)


class ScreeningOut(BaseModel):
    query: str
    matches: list[MatchOut]


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    query_name: str = Field(min_length=1, max_length=512)
    entity_id: str = Field(min_length=1, max_length=128)
    decision: Literal["not_match", "match"]
    note: str | None = Field(default=None, max_length=2000)
    party_id: str | None = Field(default=None, max_length=64)


@router.post("/screening", summary="Screen one name against the active watchlists")
def screen(
    body: ScreeningIn,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.SCREENING))],
    state: State,
) -> ScreeningOut:
    query = ScreeningQuery(
        name=body.name, kind=body.kind, date_of_birth=body.date_of_birth, nationality=body.nationality
    )
    (matches,) = screening.screen_queries(
        matcher=matcher(state, guard.db),
        queries=[query],
        suppressed=screening.suppressed_pairs(session=guard.db, agency=guard.scope(Resource.SCREENING)),
        threshold=body.threshold,
        limit=body.limit,
    )
    guard.log(detail={"name": body.name, "hits": len(matches)})
    return ScreeningOut(
        query=body.name,
        matches=[
            MatchOut(
                entity_id=m.entity_id,
                list=m.list_name,
                name=m.name,
                matched_name=m.matched_name,
                score=round(m.score, 4),
                explanation=m.explanation,
            )
            for m in matches
        ],
    )


@router.post("/screening/decisions", status_code=201, summary="Record an analyst's verdict on a hit")
def decide_hit(
    body: VerdictIn, guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.SCREENING))]
) -> dict[str, str]:
    screening.record_decision(
        session=guard.db,
        agency=guard.agency,
        query_name=body.query_name,
        entity_id=body.entity_id,
        decision=body.decision,
        analyst=guard.principal.username,
        note=body.note,
        party_id=body.party_id,
    )
    guard.log(resource_id=body.entity_id, detail={"query": body.query_name, "decision": body.decision})
    return {"status": "recorded"}


@router.get("/screening/hits", summary="Screening hits of arriving declarations (the review queue: open)")
def stored_hits(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.SCREENING))],
    paging: Paging,
    status: Annotated[Literal["open", "confirmed", "dismissed", "all"], Query()] = "open",
    lrn: Annotated[str | None, Query(max_length=64)] = None,
) -> Paginated[StoredHitOut]:
    return service.stored_hits(guard=guard, paging=paging, status=status, lrn=lrn)


# an id the integer column can hold (beyond 2**63 SQLite's driver raised OverflowError: a 500)
HitId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the stored hit's id")]


@router.post("/screening/hits/{hit_id}", summary="An analyst confirms or dismisses a screening hit")
def review_stored_hit(
    hit_id: HitId,
    body: ReviewIn,
    guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.SCREENING))],
) -> StoredHitOut:
    return service.review_stored_hit(hit_id=hit_id, body=body, guard=guard)


@router.get("/declarations/{lrn}/screening", summary="Watchlist hits of a declaration's parties")
def screen_declaration(
    lrn: Lrn, guard: Annotated[Guard, Depends(require(Action.READ, Resource.SCREENING))], state: State
) -> list[PartyHit]:
    return declaration_hits(guard=guard, state=state, lrn=lrn)


@router.get("/declarations/{lrn}/network", summary="The importer's trader network (Cytoscape.js elements)")
def network(
    lrn: Lrn,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))],
    state: State,
    radius: Annotated[int, Query(ge=1, le=3)] = 2,
) -> Graph:
    return declaration_network(guard=guard, state=state, lrn=lrn, radius=radius)
