"""Screening for the API and the pages alike: a declaration's party hits and network (each through the one
fetch of a declaration, 404 and audit), the stored hits' review queue and an analyst's verdict on one.
The matching is the screening stage's; the network the entities stage's."""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from borderwatch.access.policy import Resource
from borderwatch.core.clock import UtcDateTime
from borderwatch.core.errors import NotFoundError
from borderwatch.core.vocabulary import PARTY_ROLES
from borderwatch.entities.network import add_vehicles, build_graph, ego_network, node_id
from borderwatch.entities.records import records_from_db
from borderwatch.screening import service as screening
from borderwatch.screening.matcher import Matcher
from borderwatch.vehicles import service as vehicles
from borderwatch.web.deps import AppState, Guard, Page
from borderwatch.web.errors import ApiError
from borderwatch.web.schemas import Paginated
from borderwatch.web.services.records import declaration_for


class MatchOut(BaseModel):
    entity_id: str
    list: str
    name: str
    matched_name: str | None = None
    score: float
    explanation: str


class PartyHit(MatchOut):
    role: str
    party_id: str | None
    party_name: str


class Graph(BaseModel):
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    note: str | None = None


def matcher(state: AppState, db: Session) -> Matcher:
    """The matcher over the active list versions, rebuilt when a list is (re)loaded."""
    return screening.cached_matcher(session=db, cache=state.cache)


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


def stored_hits(
    *, guard: Guard, paging: Page, status: Literal["open", "confirmed", "dismissed", "all"], lrn: str | None
) -> Paginated[StoredHitOut]:
    """The review queue of stored hits (audited)."""
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


def review_stored_hit(*, hit_id: int, body: ReviewIn, guard: Guard) -> StoredHitOut:
    """An analyst's verdict on a stored hit (audited); 404 for a hit the caller may not see."""
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
    row = declaration_for(guard, lrn)
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


def declaration_network(*, guard: Guard, state: AppState, lrn: str, radius: int = 2) -> Graph:
    """The importer's neighbourhood in the agency's trader network, as Cytoscape.js elements."""
    row = declaration_for(guard, lrn)
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
