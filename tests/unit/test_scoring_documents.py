"""Document findings as scoring evidence: points per kind, one reason each, fields a risk profile tests."""

from __future__ import annotations

import polars as pl
import pytest

from borderwatch.core.reasons import Reason
from borderwatch.scoring.documents import DOCUMENT_FINDING_SCHEMA, DOCUMENT_POINTS, document_evidence
from borderwatch.scoring.profiles import evaluate_profiles, parse_profiles


def _findings(*rows: tuple[str, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (lrn, finding, "certificate_of_origin", "chamber-vn", f"CO-{i}", other)
            for i, (lrn, finding, other) in enumerate(rows)
        ],
        schema=DOCUMENT_FINDING_SCHEMA,
        orient="row",
    )


def test_points_reasons_and_counts_per_declaration() -> None:
    findings = _findings(
        ("a", "reused", "z"), ("a", "reused", "y"), ("a", "altered", None), ("b", "unregistered", None)
    )
    out = document_evidence(pl.Series(["c", "a", "b", "a"]), findings).to_dicts()
    assert out[0]["document_points"] == 0 and out[0]["document_reasons"] == []
    assert out[1]["document_points"] == DOCUMENT_POINTS["reused"] + DOCUMENT_POINTS["altered"]
    assert (out[1]["document_reused"], out[1]["document_altered"], out[1]["document_unregistered"]) == (
        2,
        1,
        0,
    )
    assert out[1]["document_reasons"][0] == (
        "document: certificate of origin CO-0 of chamber-vn re-used: already presented with declaration z"
    )
    assert "altered" in out[1]["document_reasons"][2] and out[3] == out[1]
    assert (
        out[2]["document_points"] == DOCUMENT_POINTS["unregistered"] and out[2]["document_unregistered"] == 1
    )
    # one code per sentence, in its place: the finding as a stable id and its points
    assert [Reason.from_json(c) for c in out[1]["document_codes"]] == [
        Reason("DOCUMENT-REUSED", "document", {"points": DOCUMENT_POINTS["reused"]}),
        Reason("DOCUMENT-REUSED", "document", {"points": DOCUMENT_POINTS["reused"]}),
        Reason("DOCUMENT-ALTERED", "document", {"points": DOCUMENT_POINTS["altered"]}),
    ]
    assert [c["id"] for c in out[0]["document_codes"]] == []


def test_unknown_finding_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown finding 'forged'"):
        document_evidence(pl.Series(["a"]), _findings(("a", "forged", None)))


def test_a_profile_forces_a_lane_on_an_altered_document() -> None:
    (profile,) = parse_profiles(
        {
            "profiles": [
                {
                    "id": "RP-DOC-ALTERED",
                    "name": "Altered certificate",
                    "rationale": "an altered certificate of origin hides the true origin",
                    "author": "risk-unit",
                    "when": {"all": [{"field": "document_altered", "op": "gt", "value": 0}]},
                    "effect": {"force_lane": "red"},
                }
            ]
        },
        source="test",
    )
    evidence = document_evidence(pl.Series(["a", "b"]), _findings(("a", "altered", None)))
    features = pl.DataFrame({"lrn": ["a", "b"]}).with_columns(evidence.select("document_altered"))
    assert evaluate_profiles(features, [profile])["forced_lane"].to_list() == ["red", None]
    # no document check ran: the field reads 0, the profile holds no declaration
    assert evaluate_profiles(pl.DataFrame({"lrn": ["a"]}), [profile])["forced_lane"].to_list() == [None]
