"""The trader network: importers linked to their declarants, sellers, couriers and addresses.

``build_graph`` gives a networkx graph (nodes ``role:id``, ``address:<normalised>``; edge weight = number of
declarations); ``network_features`` gives time-safe features for scoring as a Polars frame; ``ego_network``
gives the neighbourhood of one party as Cytoscape.js elements for the analyst workspace.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import networkx as nx
import polars as pl

from borderwatch.entities.resolve import normalize_address

FEATURE_SCHEMA: dict[str, pl.DataType] = {
    "role": pl.String(),
    "party_id": pl.String(),
    "degree": pl.UInt32(),
    "neighbour_inspected": pl.Int64(),
    "neighbour_hits": pl.Int64(),
    "neighbour_hit_rate": pl.Float64(),
}
PARTNER_ROLES = ("declarant", "seller", "courier")


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
