"""Entity resolution on generated traffic (the planted importer ring), network features and ego networks."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from borderwatch.entities.network import FEATURE_SCHEMA, build_graph, ego_network, network_features
from borderwatch.entities.records import RECORD_SCHEMA, records_from_kcs
from borderwatch.entities.resolve import cluster_quality, resolve_entities
from borderwatch.synthetic import GeneratedTraffic, GeneratorConfig, generate_traffic

START = date(2024, 1, 1)


@pytest.fixture(scope="module")
def traffic() -> GeneratedTraffic:
    return generate_traffic(GeneratorConfig(declarations=4000, seed=11, start=START, days=120))


@pytest.fixture(scope="module")
def records(traffic: GeneratedTraffic) -> pl.DataFrame:
    return records_from_kcs(traffic.frame)


def _outcomes(traffic: GeneratedTraffic) -> pl.DataFrame:
    return traffic.frame.select(
        pl.col("Declaration ID").cast(pl.String).alias("lrn"),
        pl.col("Date").alias("recorded_on"),
        pl.col("Fraud").cast(pl.Int8).alias("fraud"),
        pl.col("Critical Fraud").cast(pl.Int8).alias("critical_fraud"),
    )


def test_resolution_recovers_the_planted_importer_ring(
    traffic: GeneratedTraffic, records: pl.DataFrame
) -> None:
    ring = traffic.truth["patterns"]["importer_ring"]["importer_ids"]
    resolution = resolve_entities(records, role="importer")
    quality = cluster_quality(resolution.groups(), [ring])
    print(f"importer ring ({len(ring)} ids): pairwise {quality}")  # reported with -s
    assert quality["recall"] == 1.0
    assert quality["precision"] >= 0.9
    ring_rows = resolution.clusters.filter(pl.col("party_id").is_in(ring))
    assert ring_rows["entity_key"].n_unique() == 1
    assert ring_rows["confidence"].min() >= 0.9  # type: ignore[operator]
    assert set(resolution.clusters.columns) >= {"party_id", "entity_key", "confidence", "cluster_size"}
    # every importer id is in exactly one entity
    assert (
        resolution.clusters["party_id"].n_unique()
        == records.filter(pl.col("role") == "importer")["party_id"].n_unique()
    )
    explained = resolution.pairs.filter(pl.col("left").is_in(ring))
    assert explained["evidence"].str.contains("same address").all()


def test_similar_names_alone_do_not_merge() -> None:
    rows = [
        ("L1", START, "importer", "AAA0001", "Bobo Electronics Ltd.", "1 Songdo-daero, Incheon", "KR", "D1"),
        ("L2", START, "importer", "ZZZ0002", "Bodo Electronics Corp.", "9 Olympic-ro, Seoul", "KR", "D2"),
        ("L3", START, "importer", "QQQ0003", "Bobo Electronics Ltd", "1 Songdo-daero, Incheon", "KR", "D1"),
    ]
    records = pl.DataFrame(rows, schema=RECORD_SCHEMA, orient="row")
    assert resolve_entities(records).groups() == [["AAA0001", "QQQ0003"]]


def test_network_features_use_only_the_past(traffic: GeneratedTraffic, records: pl.DataFrame) -> None:
    outcomes = _outcomes(traffic)
    as_of = START + timedelta(days=60)
    features = network_features(records, outcomes, as_of=as_of)
    assert features.schema == pl.Schema(FEATURE_SCHEMA)
    rates = features["neighbour_hit_rate"].drop_nulls()
    assert rates.min() >= 0.0 and rates.max() <= 1.0  # type: ignore[operator]
    # Rewriting outcomes and declarations from as_of on changes nothing.
    future_flipped = outcomes.with_columns(
        pl.when(pl.col("recorded_on") >= as_of)
        .then(1 - pl.col("fraud"))
        .otherwise(pl.col("fraud"))
        .alias("fraud")
    )
    later = records.filter(pl.col("declared_on") >= as_of).with_columns(pl.lit("X").alias("party_id"))
    changed = pl.concat([records.filter(pl.col("declared_on") < as_of), later])
    assert network_features(changed, future_flipped, as_of=as_of).equals(features)
    # The ring's broker declares only for the ring's importers: they are all its neighbours.
    broker = traffic.truth["patterns"]["importer_ring"]["declarant_id"]
    ring_ids = traffic.truth["patterns"]["importer_ring"]["importer_ids"]
    row = features.filter((pl.col("role") == "declarant") & (pl.col("party_id") == broker))
    importers = features.filter((pl.col("role") == "importer") & pl.col("party_id").is_in(ring_ids))
    assert row.height == 1
    assert row["degree"][0] == importers.height >= 1


def test_ego_network_is_cytoscape_elements(traffic: GeneratedTraffic, records: pl.DataFrame) -> None:
    graph = build_graph(records)
    ring = traffic.truth["patterns"]["importer_ring"]
    elements = ego_network(graph, ring["importer_ids"][0], radius=2, max_nodes=50)
    ids = {n["data"]["id"] for n in elements["nodes"]}
    assert f"importer:{ring['importer_ids'][0]}" in ids
    assert f"declarant:{ring['declarant_id']}" in ids
    assert len(elements["nodes"]) <= 50
    # the shared address links the ring's ids within two steps
    assert sum(1 for i in ids if i.startswith("importer:") and i.split(":")[1] in ring["importer_ids"]) >= 2
    for edge in elements["edges"]:
        assert edge["data"]["source"] in ids and edge["data"]["target"] in ids
    (ego,) = [n for n in elements["nodes"] if n["data"]["ego"]]
    assert ego["data"]["distance"] == 0
    with pytest.raises(KeyError, match="not a node"):
        ego_network(graph, "importer:NOPE")
