"""Screening queries against the active watchlists, a declaration's party hits, analysts' verdicts on hits,
and a declaration's party network. The matching is the screening stage's; this module only exposes it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from borderwatch.access.policy import Action, Resource
from borderwatch.core.clock import UtcDateTime
from borderwatch.core.errors import NotFoundError
from borderwatch.core.vocabulary import PARTY_ROLES
from borderwatch.entities.network import add_vehicles, build_graph, ego_network, node_id
from borderwatch.entities.records import records_from_db
from borderwatch.screening import service as screening
from borderwatch.screening.matcher import DEFAULT_THRESHOLD, Matcher
from borderwatch.screening.matcher import Query as ScreeningQuery
from borderwatch.vehicles import service as vehicles
from borderwatch.web.api.declarations import Lrn
from borderwatch.web.api.records import current_declaration
from borderwatch.web.deps import AppState, Guard, Paging, State, require
from borderwatch.web.errors import ERROR_RESPONSES, ApiError
from borderwatch.web.schemas import Paginated

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


class MatchOut(BaseModel):
    entity_id: str
    list: str
    name: str
    matched_name: str | None = None
    score: float
    explanation: str


class ScreeningOut(BaseModel):
    query: str
    matches: list[MatchOut]


class PartyHit(MatchOut):
    role: str
    party_id: str | None
    party_name: str


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    query_name: str = Field(min_length=1, max_length=512)
    entity_id: str = Field(min_length=1, max_length=128)
    decision: Literal["not_match", "match"]
    note: str | None = Field(default=None, max_length=2000)
    party_id: str | None = Field(default=None, max_length=64)


class Graph(BaseModel):
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    note: str | None = None


def matcher(state: AppState, db: Session) -> Matcher:
    """The matcher over the active list versions, rebuilt when a list is (re)loaded."""
    return screening.cached_matcher(session=db, cache=state.cache)


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


class StoredHitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    lrn: str
    role: str
    party_id: str | None
    party_name: str
    entity_id: str
    list_name: str
    matched_name: str
    score: float
    explanation: str | None
    status: Literal["open", "confirmed", "dismissed"]
    decided_by: str | None
    decided_at: UtcDateTime | None
    note: str | None
    screened_at: UtcDateTime


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["confirmed", "dismissed"] = Field(description="no default: the analyst must choose")
    note: str | None = Field(default=None, max_length=2000)


@router.get("/screening/hits", summary="Screening hits of arriving declarations (the review queue: open)")
def stored_hits(
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.SCREENING))],
    paging: Paging,
    status: Annotated[Literal["open", "confirmed", "dismissed", "all"], Query()] = "open",
    lrn: Annotated[str | None, Query(max_length=64)] = None,
) -> Paginated[StoredHitOut]:
    rows, total = screening.list_hits(
        session=guard.db,
        agency=guard.agency,
        status=None if status == "all" else status,
        lrns=[lrn] if lrn else None,
        limit=paging.limit,
        offset=paging.offset,
    )
    guard.log(detail={"status": status, "lrn": lrn, "returned": len(rows)})
    return Paginated[StoredHitOut](
        items=[StoredHitOut.model_validate(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/screening/hits/{hit_id}", summary="An analyst confirms or dismisses a screening hit")
def review_stored_hit(
    hit_id: int, body: ReviewIn, guard: Annotated[Guard, Depends(require(Action.CREATE, Resource.SCREENING))]
) -> StoredHitOut:
    try:
        row = screening.review_hit(
            session=guard.db,
            agency=guard.agency,
            hit_id=hit_id,
            verdict=body.verdict,
            analyst=guard.principal.username,
            note=body.note,
        )
    except NotFoundError:
        raise guard.not_found() from None
    except ValueError as error:
        raise ApiError(409, str(error)) from None
    guard.log(
        resource_id=str(hit_id), detail={"lrn": row.lrn, "verdict": body.verdict, "entity": row.entity_id}
    )
    return StoredHitOut.model_validate(row)


def declaration_hits(*, guard: Guard, state: AppState, lrn: str) -> list[PartyHit]:
    """Watchlist hits of the parties of one declaration the guard may read."""
    row = current_declaration(db_session=guard.db, lrn=lrn, agency=guard.agency)
    if row is None:
        raise guard.not_found("declaration")
    guard.record(record_agency=row.agency, resource_id=lrn, noun="declaration")
    parties = pl.DataFrame(
        [
            (lrn, role, str(p.get("id") or ""), str(p["name"]), p.get("country"))
            for role, p in (row.parties or {}).items()
            if isinstance(p, dict) and p.get("name")
        ],
        schema={
            "lrn": pl.String,
            "role": pl.String,
            "party_id": pl.String,
            "party_name": pl.String,
            "country": pl.String,
        },
        orient="row",
    )
    if parties.is_empty():
        return []
    hits = screening.screen_parties(
        parties=parties,
        matcher=matcher(state, guard.db),
        suppressed=screening.suppressed_pairs(session=guard.db, agency=guard.scope(Resource.SCREENING)),
    )
    return [
        PartyHit(
            role=h["role"],
            party_id=h["party_id"],
            party_name=h["party_name"],
            entity_id=h["entity_id"],
            list=h["list"],
            name=h["name"],
            score=round(h["score"], 4),
            explanation=h["explanation"],
        )
        for h in hits.iter_rows(named=True)
    ]


@router.get("/declarations/{lrn}/screening", summary="Watchlist hits of a declaration's parties")
def screen_declaration(
    lrn: Lrn, guard: Annotated[Guard, Depends(require(Action.READ, Resource.SCREENING))], state: State
) -> list[PartyHit]:
    return declaration_hits(guard=guard, state=state, lrn=lrn)


def declaration_network(*, guard: Guard, state: AppState, lrn: str, radius: int = 2) -> Graph:
    """The importer's neighbourhood in the agency's trader network, as Cytoscape.js elements."""
    row = current_declaration(db_session=guard.db, lrn=lrn, agency=guard.agency)
    if row is None:
        raise guard.not_found("declaration")
    guard.record(record_agency=row.agency, resource_id=lrn, noun="declaration")
    if not row.importer_id:
        return Graph(nodes=[], edges=[], note="The declaration names no importer.")
    agency = row.agency
    engine = state.engine

    def build() -> Any:
        records = records_from_db(engine, agency=agency)
        with Session(engine) as session:  # the vehicles the declarations name, and their owners
            carried, owners = vehicles.network_links(session=session, agency=agency)
        return add_vehicles(build_graph(records), records, carried, owners)

    graph = state.cache.get(("graph", agency), build)
    focus = node_id("importer", row.importer_id)
    if focus not in graph:  # declared after the cached network was built
        state.cache.clear()
        graph = state.cache.get(("graph", agency), build)
    if focus not in graph:
        return Graph(nodes=[], edges=[], note=f"Importer {row.importer_id} has no links yet.")
    elements = ego_network(graph, focus, radius=radius, max_nodes=60)
    parties = {  # a party's node id is "role:party id" (entities.network.node_id); addresses are not parties
        n["data"]["id"]: tuple(n["data"]["id"].split(":", 1))
        for n in elements["nodes"]
        if n["data"].get("type") in PARTY_ROLES
    }
    hits = screening.party_hits(
        session=guard.db, agency=agency, party_ids=sorted({party for _, party in parties.values()})
    )
    plates = [n["data"]["label"] for n in elements["nodes"] if n["data"].get("type") == "vehicle"]
    alerts = vehicles.open_alerts_by_plate(session=guard.db, agency=agency, plates=plates)
    nodes = []
    for n in elements["nodes"]:
        node = {**n["data"], "kind": n["data"].get("type"), "focus": n["data"].get("ego", False)}
        hit = hits.get(parties.get(node["id"], ("", "")))
        if hit is not None:  # a watchlist hit not dismissed: drawn with a red ring, the hit in its label
            node |= {"flagged": True, "screening": hit, "label": f"{node.get('label', '')} ⚠ {hit}"}
        open_alerts = alerts.get(node["label"], 0) if node["kind"] == "vehicle" else 0
        if (
            open_alerts
        ):  # a vehicle with open alerts (hotlist hits, patterns): red ring, the count in its label
            node |= {
                "flagged": True,
                "label": f"{node['label']} ⚠ {open_alerts} alert{'s' * (open_alerts > 1)}",
            }
        nodes.append(node)
    edges = [n["data"] for n in elements["edges"]]
    return Graph(nodes=nodes, edges=edges, note=f"Importer {row.importer_id}: parties within {radius} links")


@router.get("/declarations/{lrn}/network", summary="The importer's trader network (Cytoscape.js elements)")
def network(
    lrn: Lrn,
    guard: Annotated[Guard, Depends(require(Action.READ, Resource.DECLARATION))],
    state: State,
    radius: Annotated[int, Query(ge=1, le=3)] = 2,
) -> Graph:
    return declaration_network(guard=guard, state=state, lrn=lrn, radius=radius)
