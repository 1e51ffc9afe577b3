"""Entity resolution: which party ids of one role belong to the same trader.

A Fellegi-Sunter record-linkage model (the model Splink implements), with its match weights set by design
rather than estimated, because a port sees only a handful of true duplicates among thousands of traders,
too few for expectation-maximisation to estimate the m-probabilities reliably:

1. Profiles: one row per party id (its most frequent name, normalised address, country, declarants).
2. Blocking: pairs that share a rare name part, the whole name without spaces, the normalised address, the
   first five characters of the id, or a broker who declares for few traders. No all-pairs comparison.
3. Comparison: each pair gets a log2 Bayes factor per field (name similarity from ``compare_names``,
   address, id similarity, shared declarants), summed with the prior odds into a match probability.
4. Clustering: pairs above ``threshold`` are edges; connected components (networkx) are the resolved
   entities; a cluster's confidence is its weakest link on the maximum spanning tree.

A shared address or a similar name alone never merges two ids: the evidence must agree.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import networkx as nx
import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from borderwatch.screening.compare import compare_names
from borderwatch.screening.normalize import ORG_STOPWORDS, ascii_fold, normalize_name

PRIOR_LOG2_ODDS = -8.0  # about one true duplicate in 256 blocked pairs
MAX_BLOCK = 40  # a blocking key shared by more ids than this says nothing
CLUSTER_SCHEMA: dict[str, pl.DataType] = {
    "role": pl.String(),
    "party_id": pl.String(),
    "entity_key": pl.String(),
    "name": pl.String(),
    "cluster_size": pl.Int32(),
    "confidence": pl.Float64(),
}
PAIR_SCHEMA: dict[str, pl.DataType] = {
    "left": pl.String(),
    "right": pl.String(),
    "probability": pl.Float64(),
    "evidence": pl.String(),
}
_ADDRESS_WORDS = re.compile(r"\b(ro|gil|daero|dong|gu|si|street|st|road|rd|avenue|ave)\b")


@dataclass(frozen=True, slots=True)
class Resolution:
    """Resolved entities (``clusters``: one row per party id) and the scored pairs above the threshold."""

    clusters: pl.DataFrame
    pairs: pl.DataFrame

    def groups(self) -> list[list[str]]:
        """Party ids of each multi-member entity."""
        multi = self.clusters.filter(pl.col("cluster_size") > 1)
        return [sorted(g["party_id"].to_list()) for _, g in multi.group_by("entity_key", maintain_order=True)]


def normalize_address(value: str | None) -> str:
    return " ".join(ascii_fold(value or "").split())


def profiles(records: pl.DataFrame, *, role: str) -> pl.DataFrame:
    """One row per party id of ``role``: most frequent name and address, country, declarants, volume."""
    of_role = records.filter(pl.col("role") == role)
    return (
        of_role.group_by("party_id")
        .agg(
            pl.col("name").drop_nulls().mode().first().alias("name"),
            pl.col("address").drop_nulls().mode().first().alias("address"),
            pl.col("country").drop_nulls().mode().first().alias("country"),
            pl.col("declarant_id").drop_nulls().unique().alias("declarants"),
            pl.len().alias("declarations"),
        )
        .sort("party_id")
    )


def _blocking_keys(party_id: str, name: str | None, address: str | None) -> set[str]:
    keys = {f"id:{party_id[:5]}"} if len(party_id) >= 6 else set()
    if name:
        normalized = normalize_name(name, "organization")
        keys |= {f"n:{t}" for t in normalized.tokens if len(t) >= 3 and t not in ORG_STOPWORDS}
        keys.add(f"j:{normalized.joined}")
    if address:
        keys.add(f"a:{normalize_address(address)}")
    return keys


def _pair_weight(
    left: dict[str, object], right: dict[str, object], declarant_load: dict[str, int]
) -> tuple[float, list[str]]:
    weight = PRIOR_LOG2_ODDS
    evidence = []
    name_l, name_r = left["name"], right["name"]
    if isinstance(name_l, str) and isinstance(name_r, str):
        score = compare_names(name_l, name_r, "organization")
        if score >= 0.9:
            weight += 6
            evidence.append(f"name {score:.2f}")
        elif score >= 0.75:
            weight += 4
            evidence.append(f"similar name {score:.2f}")
        else:
            weight -= 4
    addr_l, addr_r = left["address"], right["address"]
    if isinstance(addr_l, str) and isinstance(addr_r, str):
        norm_l, norm_r = normalize_address(addr_l), normalize_address(addr_r)
        if norm_l == norm_r:
            weight += 6
            evidence.append("same address")
        elif fuzz.token_sort_ratio(_ADDRESS_WORDS.sub("", norm_l), _ADDRESS_WORDS.sub("", norm_r)) >= 92:
            weight += 3
            evidence.append("similar address")
        else:
            weight -= 3
    id_l, id_r = str(left["party_id"]), str(right["party_id"])
    if id_l[:5] == id_r[:5] or Levenshtein.distance(id_l, id_r) <= 2:
        weight += 4
        evidence.append("id variant")
    decl_l = set(left["declarants"]) if isinstance(left["declarants"], list) else set()
    decl_r = set(right["declarants"]) if isinstance(right["declarants"], list) else set()
    shared = decl_l & decl_r
    if shared:
        jaccard = len(shared) / len(decl_l | decl_r)
        exclusive = min(declarant_load.get(d, 0) for d in shared) <= 10
        if jaccard >= 0.5 and exclusive:
            weight += 3
            evidence.append("same broker (few clients)")
        else:
            weight += 1
            evidence.append("a shared broker")
    elif decl_l and decl_r:
        weight -= 1
    return weight, evidence


def resolve_entities(records: pl.DataFrame, *, role: str = "importer", threshold: float = 0.9) -> Resolution:
    """Cluster the party ids of ``role`` in ``records`` (``entities.records.RECORD_SCHEMA``)."""
    table = profiles(records, role=role)
    rows = table.to_dicts()
    declarant_load: dict[str, int] = defaultdict(int)
    for row in rows:
        for declarant in row["declarants"] or []:
            declarant_load[declarant] += 1
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        for key in _blocking_keys(row["party_id"], row["name"], row["address"]):
            blocks[key].append(index)
        for declarant in row["declarants"] or []:
            if declarant_load[declarant] <= 10:
                blocks[f"d:{declarant}"].append(index)
    candidate_pairs = {
        pair
        for members in blocks.values()
        if 1 < len(members) <= MAX_BLOCK
        for pair in combinations(members, 2)
    }
    graph = nx.Graph()
    graph.add_nodes_from(range(len(rows)))
    pair_rows = []
    for i, j in sorted(candidate_pairs):
        weight, evidence = _pair_weight(rows[i], rows[j], declarant_load)
        probability = 1.0 / (1.0 + math.pow(2.0, -weight))
        if probability >= threshold:
            graph.add_edge(i, j, probability=probability)
            pair_rows.append(
                (rows[i]["party_id"], rows[j]["party_id"], round(probability, 6), ", ".join(evidence))
            )
    cluster_rows = []
    for component in nx.connected_components(graph):
        members = sorted(component, key=lambda k: (-rows[k]["declarations"], rows[k]["party_id"]))
        if len(members) == 1:
            confidence = 1.0
        else:
            tree = nx.maximum_spanning_tree(graph.subgraph(members), weight="probability")
            confidence = min(d["probability"] for _, _, d in tree.edges(data=True))
        ids = sorted(rows[k]["party_id"] for k in members)
        key = hashlib.sha1(f"{role}:{','.join(ids)}".encode()).hexdigest()[:16]
        canonical = rows[members[0]]["name"]
        for k in members:
            cluster_rows.append(
                (role, rows[k]["party_id"], key, canonical, len(members), round(confidence, 6))
            )
    clusters = pl.DataFrame(cluster_rows, schema=CLUSTER_SCHEMA, orient="row").sort("entity_key", "party_id")
    return Resolution(clusters=clusters, pairs=pl.DataFrame(pair_rows, schema=PAIR_SCHEMA, orient="row"))


def cluster_quality(predicted: list[list[str]], truth: list[list[str]]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of predicted clusters against true clusters of party ids."""

    def pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
        return {tuple(sorted(p)) for g in groups for p in combinations(sorted(set(g)), 2)}  # type: ignore[misc]

    got, want = pairs(predicted), pairs(truth)
    true_positive = len(got & want)
    precision = true_positive / len(got) if got else 1.0
    recall = true_positive / len(want) if want else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "predicted_pairs": len(got),
        "true_pairs": len(want),
    }
