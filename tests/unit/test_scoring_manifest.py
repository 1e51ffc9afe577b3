"""Manifest discrepancies as scoring evidence: points per kind, one reason each naming the consignment or
container, fields a risk profile tests; from reconciliation's own output."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from borderwatch.features.reconcile import DISCREPANCY_SCHEMA, reconcile
from borderwatch.ingest.frame import LINK_SCHEMA, MANIFEST_SCHEMA
from borderwatch.scoring.manifest import MANIFEST_POINTS, manifest_evidence
from borderwatch.scoring.profiles import evaluate_profiles, parse_profiles


def _discrepancies() -> pl.DataFrame:
    declarations = pl.DataFrame(
        [
            ("A", date(2026, 1, 12), "I1", ["CSQU3054383"], ["BL1"], 1, "610910", 100.0),
            ("B", date(2026, 1, 12), "I2", ["CSQU3054383"], [], 1, "610910", 100.0),
            ("C", date(2026, 1, 12), "I3", [], ["BL3"], 1, "610910", 100.0),
        ],
        schema=LINK_SCHEMA,
        orient="row",
    )
    manifest = pl.DataFrame(
        [
            ("CUSCAR", "M", date(2026, 1, 10), "BL1", None, 1, "610910", None, 5.0, 900.0, ["CSQU3054383"]),
            ("CUSCAR", "M", date(2026, 1, 10), "BL3", None, 1, "610910", None, 5.0, 110.0, []),
            ("CUSCAR", "M", date(2026, 1, 10), "BL9", None, 1, "610910", None, 5.0, 110.0, []),
        ],
        schema=MANIFEST_SCHEMA,
        orient="row",
    )
    return reconcile(declarations, manifest, as_of=date(2026, 2, 1))


def test_points_reasons_and_counts_per_declaration() -> None:
    out = manifest_evidence(pl.Series(["C", "A", "Z"]), _discrepancies()).to_dicts()
    assert out[0]["manifest_points"] == 0 and out[0]["manifest_reasons"] == []  # C: 100 net in 110 gross
    assert out[1]["manifest_container_conflict"] == 1 and out[1]["manifest_weight_gap"] == 1
    assert out[1]["manifest_points"] == MANIFEST_POINTS["container_conflict"] + MANIFEST_POINTS["weight_gap"]
    assert (
        "manifest: 200.0 kg net declared against 900.0 kg gross manifested for consignment BL1"
        in (out[1]["manifest_reasons"])
    )
    assert (
        "manifest: full container CSQU3054383 is also declared by B, another importer"
        in (out[1]["manifest_reasons"])
    )
    assert out[2]["manifest_points"] == 0  # the undeclared BL9 is an alert, on no declaration


def test_unknown_kind_is_refused() -> None:
    bad = pl.DataFrame(
        [("forged", "A", None, None, None, None, None, None)], schema=DISCREPANCY_SCHEMA, orient="row"
    )
    with pytest.raises(ValueError, match="unknown kind 'forged'"):
        manifest_evidence(pl.Series(["A"]), bad)


def test_a_profile_forces_a_lane_on_a_container_conflict() -> None:
    (profile,) = parse_profiles(
        {
            "profiles": [
                {
                    "id": "RP-MAN-CONFLICT",
                    "name": "Full container declared twice",
                    "rationale": "two importers cannot both own a full container load",
                    "author": "risk-unit",
                    "when": {"all": [{"field": "manifest_container_conflict", "op": "gt", "value": 0}]},
                    "effect": {"force_lane": "red"},
                }
            ]
        },
        source="test",
    )
    evidence = manifest_evidence(pl.Series(["A", "C"]), _discrepancies())
    features = pl.DataFrame({"lrn": ["A", "C"]}).with_columns(evidence.select("manifest_container_conflict"))
    assert evaluate_profiles(features, [profile])["forced_lane"].to_list() == ["red", None]
    assert evaluate_profiles(pl.DataFrame({"lrn": ["A"]}), [profile])["forced_lane"].to_list() == [None]
