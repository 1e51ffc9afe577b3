"""Vehicles and their owners in the trader network (``entities.network.add_vehicles``)."""

from __future__ import annotations

from datetime import date

import polars as pl

from borderwatch.entities.network import CARRIED_SCHEMA, OWNER_SCHEMA, add_vehicles, build_graph, ego_network
from borderwatch.entities.records import RECORD_SCHEMA


def _records() -> pl.DataFrame:
    rows = [
        ("L1", "importer", "IMP1", "Alpha Trading"),
        ("L1", "declarant", "DEC1", "Broker One"),
        ("L2", "importer", "IMP2", "Beta Imports"),
        ("L3", "importer", "IMP1", "Alpha Trading"),
    ]
    return pl.DataFrame(
        [(lrn, date(2026, 11, 2), role, party, name, None, "GB", "DEC1") for lrn, role, party, name in rows],
        schema=RECORD_SCHEMA,
        orient="row",
    )


def test_a_truck_joins_the_importers_it_carried_for_and_its_owner() -> None:
    records = _records()
    carried = pl.DataFrame(
        [("AB12CDE", "L1"), ("AB12CDE", "L2"), ("AB12CDE", "L3"), ("XY99ZZZ", "L-UNKNOWN")],
        schema=CARRIED_SCHEMA,
        orient="row",
    )
    owners = pl.DataFrame(
        [("AB12CDE", "IMP2", "Beta Imports", False), ("KL34MNO", None, "Gamma Haulage", True)],
        schema=OWNER_SCHEMA,
        orient="row",
    )
    graph = add_vehicles(build_graph(records), records, carried, owners)
    truck = "vehicle:AB12CDE"
    assert graph.nodes[truck]["type"] == "vehicle"
    assert graph.edges[truck, "importer:IMP1"] == {"weight": 2, "kind": "carried for"}
    # owned by IMP2 and carried its goods once: one edge saying both
    assert graph.edges[truck, "importer:IMP2"] == {"weight": 1, "kind": "owns; carried for"}
    # a vehicle whose declaration the records do not hold is left out; an owner unknown as a party gets a node
    assert "vehicle:XY99ZZZ" not in graph
    assert graph.nodes["owner:Gamma Haulage"]["label"] == "Gamma Haulage ⚠ sanctioned"
    assert graph.has_edge("vehicle:KL34MNO", "owner:Gamma Haulage")
    # the two importers the truck serves are two links apart: the importer's network shows the other one
    elements = ego_network(graph, "importer:IMP1", radius=2)
    ids = {n["data"]["id"] for n in elements["nodes"]}
    assert {truck, "importer:IMP2", "declarant:DEC1"} <= ids


def test_no_vehicles_leave_the_network_as_it_was() -> None:
    records = _records()
    graph = build_graph(records)
    before = (set(graph.nodes), set(graph.edges))
    add_vehicles(graph, records, pl.DataFrame(schema=CARRIED_SCHEMA), pl.DataFrame(schema=OWNER_SCHEMA))
    assert (set(graph.nodes), set(graph.edges)) == before
