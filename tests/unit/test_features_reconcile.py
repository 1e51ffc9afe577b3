"""Manifest reconciliation: each kind of discrepancy found where planted and not elsewhere; ISO 6346."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from borderwatch.core.vocabulary import MANIFEST_DISCREPANCIES
from borderwatch.features.reconcile import ReconcileConfig, container_check_digit_ok, reconcile
from borderwatch.ingest.frame import LINK_SCHEMA, MANIFEST_SCHEMA

ARRIVAL = date(2026, 1, 10)


def _declarations(*rows: tuple[object, ...]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=LINK_SCHEMA, orient="row")


def _manifest(*rows: tuple[object, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            ("CUSCAR", "M1", ARRIVAL, ref, "X", 1, hs, None, 10.0, gross, containers)
            for ref, hs, gross, containers in rows
        ],
        schema=MANIFEST_SCHEMA,
        orient="row",
    )


def _found(frame: pl.DataFrame) -> set[tuple[str, str | None, str | None]]:
    return {(kind, lrn, ref) for kind, lrn, ref in frame.select("kind", "lrn", "consignment_ref").iter_rows()}


def test_each_kind_where_planted() -> None:
    declarations = _declarations(
        ("OK", date(2026, 1, 12), "I0", ["MSKU1234565"], ["BL0"], 1, "851762", 700.0),
        ("LIGHT", date(2026, 1, 12), "I1", [], ["BL1"], 1, "610910", 100.0),
        ("WRONG", date(2026, 1, 12), "I2", [], ["BL2"], 1, "010121", 800.0),
        ("SHARE1", date(2026, 1, 12), "I3", ["CSQU3054383"], [], 1, "610910", 400.0),
        ("SHARE2", date(2026, 1, 13), "I4", ["CSQU3054383"], [], 1, "610910", 400.0),
        ("LATE", date(2026, 3, 1), "I5", [], ["BL5"], 1, "610910", 400.0),
    )
    manifest = _manifest(
        ("BL0", "851762", 800.0, ["MSKU1234565", "TGHU1234567"]),  # second container declared by nobody
        ("BL1", "610910", 900.0, []),  # declared at 100 kg of 900 manifested
        ("BL2", "870323", 850.0, []),  # cars manifested, horses declared
        ("BL3", "610910", 850.0, ["CSQU3054383"]),  # a full container two importers declare
        ("BL5", "610910", 400.0, []),  # declared far too late: undeclared within the window
    )
    found = _found(reconcile(declarations, manifest, as_of=date(2026, 2, 1)))
    assert ("undeclared_container", None, "BL0") in found
    assert ("weight_gap", "LIGHT", "BL1") in found
    assert ("hs_conflict", "WRONG", "BL2") in found
    assert {("container_conflict", "SHARE1", "BL3"), ("container_conflict", "SHARE2", "BL3")} <= found
    assert ("undeclared_consignment", None, "BL5") in found
    # nothing about the declaration in order, nothing else about the others
    assert not any(lrn == "OK" for _, lrn, _ in found)
    assert {kind for kind, _, _ in found} <= set(MANIFEST_DISCREPANCIES)
    assert ("weight_gap", "WRONG", "BL2") not in found  # 800 net in 850 gross is plausible


def test_undeclared_only_once_the_window_passed() -> None:
    manifest = _manifest(("BL9", "610910", 100.0, []))
    empty = _declarations()
    assert reconcile(empty, manifest, as_of=date(2026, 1, 12)).height == 0
    late = reconcile(empty, manifest, as_of=date(2026, 1, 18), config=ReconcileConfig(window_days=7))
    assert late["kind"].to_list() == ["undeclared_consignment"]


def test_bad_check_digit_on_either_side() -> None:
    declarations = _declarations(("D1", date(2026, 1, 12), "I0", ["MSKU1234566"], [], 1, "851762", 1.0))
    manifest = _manifest(("BL0", "851762", 1.0, ["TGHU1234561"]))
    found = reconcile(declarations, manifest, as_of=date(2026, 1, 11))
    bad = found.filter(pl.col("kind") == "container_check_digit")
    assert sorted(bad["container_id"].to_list()) == ["MSKU1234566", "TGHU1234561"]
    assert bad.filter(pl.col("container_id") == "MSKU1234566")["lrn"].to_list() == ["D1"]


def test_known_container_numbers() -> None:
    # published examples of ISO 6346 numbers
    assert container_check_digit_ok("CSQU3054383")
    assert container_check_digit_ok("MSKU1234565")
    assert not container_check_digit_ok("CSQU3054384")
    assert not container_check_digit_ok("CSQX3054383")  # X is no equipment category
    assert not container_check_digit_ok("CSQU305438")


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.sampled_from("UJZ"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
)
def test_exactly_one_check_digit_fits(owner: str, category: str, serial: str) -> None:
    fitting = [d for d in "0123456789" if container_check_digit_ok(f"{owner}{category}{serial}{d}")]
    assert len(fitting) == 1
