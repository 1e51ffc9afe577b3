"""The pattern detectors against the synthetic crossings' ground truth, beside the naive baselines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from borderwatch.synthetic import CrossingConfig, CrossingWorld, generate_crossings
from borderwatch.vehicles import patterns as pt


@pytest.fixture(scope="module")
def world() -> CrossingWorld:
    return generate_crossings(
        CrossingConfig(
            reads=60_000, seed=11, clones=15, convoys=15, shuttles=15, undeclared=15, mismatches=15
        )
    )


def _score(found: set[Any], truth: set[Any]) -> tuple[float, float]:
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), hits / len(truth)


def test_each_detector_finds_what_was_planted_where_the_naive_one_drowns(world: CrossingWorld) -> None:
    reads, cameras, declared, truth = world.reads, world.cameras, world.declarations, world.truth
    policy = pt.PatternPolicy()
    planted = {
        pt.CLONED: {c["plate"] for c in truth["clones"]},
        pt.CONVOY: {tuple(c["plates"]) for c in truth["convoys"]},
        pt.SHUTTLE: {s["plate"] for s in truth["shuttles"]},
        pt.UNDECLARED: {u["plate"] for u in truth["undeclared"]},
        pt.MISMATCH: {m["lrn"] for m in truth["mismatches"]},
    }
    findings = pt.find_patterns(reads, cameras, declared, policy)
    found: dict[str, set[Any]] = {code: set() for code in pt.PATTERNS}
    for finding in findings:
        found[finding.code].add(
            finding.lrn
            if finding.code == pt.MISMATCH
            else finding.plates
            if finding.code == pt.CONVOY
            else finding.plates[0]
        )
    naive: dict[str, set[Any]] = {
        pt.CLONED: pt.naive_clones(reads, cameras, policy),
        pt.CONVOY: pt.naive_convoys(reads, policy),
        pt.SHUTTLE: pt.naive_shuttles(reads, cameras, policy),
        pt.UNDECLARED: pt.naive_undeclared(reads, cameras, declared),
        pt.MISMATCH: pt.naive_mismatches(reads, cameras, declared),
    }
    for code in pt.PATTERNS:
        precision, recall = _score(found[code], planted[code])
        assert recall >= 0.95 and precision >= 0.9, (code, precision, recall)
        naive_precision, naive_recall = _score(naive[code], planted[code])
        assert naive_recall >= 0.9, code  # the baselines find them too, among many more
        if code != pt.CLONED:  # at this small volume the naive clone test is still nearly clean
            assert naive_precision < 0.5, (code, naive_precision)


def test_findings_explain_themselves(world: CrossingWorld) -> None:
    policy = pt.PatternPolicy()
    clone = pt.cloned_plates(world.reads, world.cameras, policy)[0]
    assert clone.evidence["km"] > policy.min_distance_km
    assert clone.evidence["needed_kmh"] is None or clone.evidence["needed_kmh"] > policy.max_speed_kmh
    convoy = pt.convoys(world.reads, policy)[0]
    assert len(convoy.evidence["cameras"]) >= policy.convoy_min_cameras
    assert convoy.evidence["share"] >= policy.convoy_min_share


def _reads(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "plate": [r[0] for r in rows],
            "camera_id": [r[1] for r in rows],
            "read_at": [dt.datetime.fromisoformat(r[2]).replace(tzinfo=dt.UTC) for r in rows],
        }
    )


CAMERAS = pl.DataFrame(
    {
        "camera_id": ["N", "S", "N-OUT"],
        "crossing": ["N", "S", "N"],
        "latitude": [50.0, 48.0, 50.0],
        "longitude": [4.0, 4.0, 4.0],
        "direction": [None, None, "out"],
    },
    schema_overrides={"direction": pl.String},
)


def test_a_single_misread_far_away_is_not_a_clone_but_a_second_track_is() -> None:
    policy = pt.PatternPolicy()
    base = [("AB12CDE", "N", f"2026-11-0{d}T08:00:00") for d in range(1, 8)]
    misread = [*base, ("AB12CDE", "S", "2026-11-03T08:30:00")]
    assert pt.naive_clones(_reads(misread), CAMERAS, policy) == {"AB12CDE"}
    assert pt.cloned_plates(_reads(misread), CAMERAS, policy) == []
    copy = [*misread, ("AB12CDE", "S", "2026-11-03T08:45:00")]
    (finding,) = pt.cloned_plates(_reads(copy), CAMERAS, policy)
    assert finding.evidence["km"] == pytest.approx(222, abs=2)
    assert finding.evidence["reads"] == [7, 2]
