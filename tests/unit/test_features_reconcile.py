"""Manifest reconciliation: each kind of discrepancy found where planted and not elsewhere; ISO 6346."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from borderwatch.core.containers import is_container_number
from borderwatch.core.vocabulary import MANIFEST_DISCREPANCIES
from borderwatch.features.reconcile import ReconcileConfig, reconcile
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
    assert is_container_number("CSQU3054383")
    assert is_container_number("MSKU1234565")
    assert not is_container_number("CSQU3054384")
    assert not is_container_number("CSQX3054383")  # X is no equipment category
    assert not is_container_number("CSQU305438")


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    st.sampled_from("UJZ"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
)
def test_exactly_one_check_digit_fits(owner: str, category: str, serial: str) -> None:
    fitting = [d for d in "0123456789" if is_container_number(f"{owner}{category}{serial}{d}")]
    assert len(fitting) == 1


def test_generated_edifact_reads_whole_and_reconciles_to_its_truth(tmp_path: Path) -> None:
    import io

    from borderwatch.ingest.edifact.reader import EdifactReader
    from borderwatch.ingest.edifact.syntax import read_messages
    from borderwatch.ingest.frame import read_kcs_frames
    from borderwatch.ingest.schemas import ManifestLine
    from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic
    from borderwatch.synthetic.edifact import write_edifact

    config = GeneratorConfig(declarations=300, seed=4, start=ARRIVAL, days=20)
    write_traffic(generate_traffic(config), tmp_path / "t.csv")
    frame, _ = read_kcs_frames(tmp_path / "t.csv")
    truth = write_edifact(frame, tmp_path / "edi", seed=4, rate=0.05)["truth"]
    assert all(truth[kind] for kind in MANIFEST_DISCREPANCIES)  # every kind planted at least once
    rows: list[pl.DataFrame] = []
    manifest: list[ManifestLine] = []
    for name in ("cusdec.edi", "cuscar.edi"):
        data = (tmp_path / "edi" / name).read_bytes()
        for batch in EdifactReader(source=name).read(read_messages(io.BytesIO(data)), size=1000):
            assert batch.problems == []
            rows.append(batch.records)
            manifest.extend(line for _, line in batch.manifest)
    records = pl.concat(rows, how="diagonal_relaxed")
    first_document = pl.col("documents").first().str.json_path_match("$[0].number")
    links = (
        records.group_by("lrn", maintain_order=True)
        .agg(
            pl.col("declared_on").first().str.to_date(),
            pl.col("importer_id").first(),
            pl.col("container_ids").first().str.split(" "),
            pl.concat_list(first_document).alias("documents"),
            pl.col("item_no").cast(pl.Int32),
            pl.col("hs_code"),
            pl.col("net_mass").cast(pl.Float64),
        )
        .explode("item_no", "hs_code", "net_mass")
        .select(list(LINK_SCHEMA))
    )
    lines = pl.DataFrame(
        [{name: getattr(m, name) for name in MANIFEST_SCHEMA} for m in manifest], schema=MANIFEST_SCHEMA
    )
    found = reconcile(links, lines, as_of=date(2030, 1, 1))
    for kind in ("weight_gap", "hs_conflict", "container_conflict", "container_check_digit"):
        assert set(found.filter(pl.col("kind") == kind)["lrn"].drop_nulls().to_list()) == set(truth[kind]), (
            kind
        )
    undeclared = found.filter(pl.col("kind") == "undeclared_consignment")["consignment_ref"].to_list()
    assert set(undeclared) == set(truth["undeclared_consignment"])
