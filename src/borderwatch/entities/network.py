"""The trader network: importers linked to their declarants, sellers, couriers and addresses.

``build_graph`` gives a networkx graph (nodes ``role:id``, ``address:<normalised>``; edge weight = number of
declarations); ``add_vehicles`` joins the vehicles the declarations name (``vehicle:<plate>``, linked to the
importers whose goods they carried) and their registered owners (linked to the trader with the owner's id, or
an ``owner:`` node); ``network_features`` gives time-safe features for scoring as a Polars frame;
``ego_network`` gives the neighbourhood of one party as Cytoscape.js elements for the analyst workspace.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import networkx as nx
import polars as pl

from borderwatch.core.vocabulary import PARTY_ROLES
from borderwatch.entities.resolve import normalize_address

FEATURE_SCHEMA: dict[str, pl.DataType] = {
    "role": pl.String(),
    "party_id": pl.String(),
    "degree": pl.UInt32(),
    "neighbour_inspected": pl.Int64(),
    "neighbour_hits": pl.Int64(),
    "neighbour_hit_rate": pl.Float64(),
}
# The roles that link a party to an importer (every role but the importer itself).
PARTNER_ROLES = tuple(role for role in PARTY_ROLES if role != "importer")
# What a later stage (``vehicles``) hands over to join its vehicles to the network: the vehicle each
# declaration names, and who each vehicle is registered to.
CARRIED_SCHEMA: dict[str, pl.DataType] = {"plate": pl.String(), "lrn": pl.String()}
OWNER_SCHEMA: dict[str, pl.DataType] = {
    "plate": pl.String(),
    "owner_id": pl.String(),
    "owner_name": pl.String(),
    "sanctioned": pl.Boolean(),
}


def node_id(role: str, party_id: str) -> str:
    return f"{role}:{party_id}"


def build_graph(records: pl.DataFrame) -> nx.Graph:
    """Graph of party records (``entities.records.RECORD_SCHEMA``): importer-partner, party-address edges."""
    graph = nx.Graph()
    parties = records.group_by("role", "party_id").agg(
        pl.col("name").drop_nulls().mode().first(), pl.col("address").drop_nulls().mode().first()
    )
    for role, party_id, name, address in parties.iter_rows():
        node = node_id(role, party_id)
        graph.add_node(node, type=role, label=name or party_id, party_id=party_id)
        if address:
            addr = f"address:{normalize_address(address)}"
            graph.add_node(addr, type="address", label=address)
            graph.add_edge(node, addr, weight=1, kind="located at")
    links = _links(records)
    for importer, role, partner, weight in links.iter_rows():
        graph.add_edge(node_id("importer", importer), node_id(role, partner), weight=weight, kind=role)
    return graph


def add_vehicles(
    graph: nx.Graph, records: pl.DataFrame, carried: pl.DataFrame, owners: pl.DataFrame
) -> nx.Graph:
    """Vehicles into the trader network (in place; returned for chaining).

    ``carried`` (:data:`CARRIED_SCHEMA`): a vehicle links to the importer of each declaration naming it
    (``records`` give the importers; weight = declarations), so one truck serving two importers joins them.
    ``owners`` (:data:`OWNER_SCHEMA`): a vehicle links to its registered owner: the trader nodes with the
    owner's id when the owner is a known party, otherwise an ``owner:<id or name>`` node (``sanctioned``
    kept as a node attribute). Vehicles of declarations the records do not hold are left out, unless owned.
    """
    importers = records.filter(pl.col("role") == "importer").select(
        "lrn", pl.col("party_id").alias("importer")
    )
    served = (
        carried.join(importers, on="lrn")
        .group_by("plate", "importer")
        .agg(pl.len().cast(pl.Int64).alias("declarations"))
        .sort("plate", "importer")
    )
    for plate, importer, weight in served.iter_rows():
        vehicle = _vehicle_node(graph, plate)
        graph.add_edge(vehicle, node_id("importer", importer), weight=weight, kind="carried for")
    by_party: dict[str, list[str]] = {}
    for node, data in graph.nodes(data=True):
        if data.get("type") in PARTY_ROLES:
            by_party.setdefault(str(data.get("party_id")), []).append(node)
    for plate, owner_id, owner_name, sanctioned in owners.sort("plate", "owner_id").iter_rows():
        vehicle = _vehicle_node(graph, plate)
        targets = by_party.get(owner_id or "", [])
        if not targets:
            owner = f"owner:{owner_id or owner_name}"
            label = f"{owner_name or owner_id}{' ⚠ sanctioned' if sanctioned else ''}"
            graph.add_node(owner, type="owner", label=label, sanctioned=bool(sanctioned))
            targets = [owner]
        for target in targets:
            if graph.has_edge(vehicle, target):  # the owner's own goods too
                graph.edges[vehicle, target]["kind"] = f"owns; {graph.edges[vehicle, target]['kind']}"
            else:
                graph.add_edge(vehicle, target, weight=1, kind="owns")
    return graph


def _vehicle_node(graph: nx.Graph, plate: str) -> str:
    node = f"vehicle:{plate}"
    if node not in graph:
        graph.add_node(node, type="vehicle", label=plate, plate=plate)
    return node


def _links(records: pl.DataFrame) -> pl.DataFrame:
    """(importer, partner_role, partner_id, declarations) of every importer-partner pair."""
    importers = records.filter(pl.col("role") == "importer").select(
        "lrn", pl.col("party_id").alias("importer")
    )
    partners = records.filter(pl.col("role").is_in(PARTNER_ROLES)).select(
        "lrn", pl.col("role").alias("partner_role"), pl.col("party_id").alias("partner_id")
    )
    return (
        importers.join(partners, on="lrn")
        .group_by("importer", "partner_role", "partner_id")
        .agg(pl.len().cast(pl.Int64).alias("declarations"))
        .sort("importer", "partner_role", "partner_id")
    )


def network_features(records: pl.DataFrame, outcomes: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """Per party, the inspection hit rate of its neighbours' other declarations, using only the past.

    Only declarations dated before ``as_of`` and outcomes recorded before ``as_of`` are used. For an importer,
    the neighbours' declarations are its declarants', sellers' and couriers' declarations for *other*
    importers; for a partner, those of its importers with *other* partners of the same role. ``outcomes``
    is in ``ingest.frame.OUTCOME_SCHEMA``. One row per (role, party_id) seen before ``as_of``.
    """
    past = records.filter(pl.col("declared_on") < as_of)
    known = (
        outcomes.filter(pl.col("recorded_on") < as_of)
        .group_by("lrn")
        .agg(pl.col("fraud").cast(pl.Int64).max().alias("fraud"))
    )
    importers = past.filter(pl.col("role") == "importer").select("lrn", pl.col("party_id").alias("importer"))
    partners = past.filter(pl.col("role").is_in(PARTNER_ROLES)).select(
        "lrn", pl.col("role").alias("partner_role"), pl.col("party_id").alias("partner_id")
    )
    edges = importers.join(partners, on="lrn").join(known, on="lrn", how="left")
    edges = edges.with_columns(
        pl.col("fraud").is_not_null().cast(pl.Int64).alias("inspected"),
        pl.col("fraud").fill_null(0).alias("hit"),
    )
    pair = edges.group_by("importer", "partner_role", "partner_id").agg(
        pl.col("inspected").sum().alias("pair_inspected"), pl.col("hit").sum().alias("pair_hits")
    )
    partner_total = edges.group_by("partner_role", "partner_id").agg(
        pl.col("inspected").sum().alias("p_inspected"), pl.col("hit").sum().alias("p_hits")
    )
    importer_total = edges.group_by("importer", "partner_role").agg(
        pl.col("inspected").sum().alias("i_inspected"), pl.col("hit").sum().alias("i_hits")
    )
    joined = pair.join(partner_total, on=["partner_role", "partner_id"]).join(
        importer_total, on=["importer", "partner_role"]
    )
    for_importers = joined.group_by("importer").agg(
        pl.col("partner_id").n_unique().cast(pl.UInt32).alias("degree"),
        (pl.col("p_inspected") - pl.col("pair_inspected")).sum().alias("neighbour_inspected"),
        (pl.col("p_hits") - pl.col("pair_hits")).sum().alias("neighbour_hits"),
    )
    for_partners = joined.group_by("partner_role", "partner_id").agg(
        pl.col("importer").n_unique().cast(pl.UInt32).alias("degree"),
        (pl.col("i_inspected") - pl.col("pair_inspected")).sum().alias("neighbour_inspected"),
        (pl.col("i_hits") - pl.col("pair_hits")).sum().alias("neighbour_hits"),
    )
    features = pl.concat(
        [
            for_importers.select(
                pl.lit("importer").alias("role"), pl.col("importer").alias("party_id"), pl.exclude("importer")
            ),
            for_partners.rename({"partner_role": "role", "partner_id": "party_id"}),
        ]
    )
    return (
        features.with_columns(
            pl.when(pl.col("neighbour_inspected") > 0)
            .then(pl.col("neighbour_hits") / pl.col("neighbour_inspected"))
            .otherwise(None)
            .alias("neighbour_hit_rate")
        )
        .select([pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items()])
        .sort("role", "party_id")
    )


def ego_network(graph: nx.Graph, node: str, *, radius: int = 1, max_nodes: int = 200) -> dict[str, Any]:
    """Cytoscape.js ``elements`` of ``node``'s neighbourhood: ``{"nodes": [...], "edges": [...]}``.

    ``node`` is ``role:id`` (e.g. ``importer:FTCQU3A``) or a bare party id when only one role has it.
    Nearest neighbours are kept first when the neighbourhood has more than ``max_nodes`` nodes.
    """
    if node not in graph:
        matches = [n for n, d in graph.nodes(data=True) if d.get("party_id") == node]
        if len(matches) != 1:
            raise KeyError(
                f"{node!r} is not a node of the network" if not matches else f"{node!r} is ambiguous"
            )
        node = matches[0]
    distances = nx.single_source_shortest_path_length(graph, node, cutoff=radius)
    kept = sorted(distances, key=lambda n: (distances[n], -graph.degree(n), n))[:max_nodes]
    sub = graph.subgraph(kept)
    nodes = [
        {
            "data": {
                "id": n,
                "label": str(data.get("label", n)),
                "type": str(data.get("type", "")),
                "distance": distances[n],
                "ego": n == node,
            }
        }
        for n, data in sub.nodes(data=True)
    ]
    edges = [
        {
            "data": {
                "id": f"{a}->{b}",
                "source": a,
                "target": b,
                "weight": int(data.get("weight", 1)),
                "kind": str(data.get("kind", "")),
            }
        }
        for a, b, data in sub.edges(data=True)
    ]
    return {"nodes": nodes, "edges": edges}
