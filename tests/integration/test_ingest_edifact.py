"""EDIFACT through ``ingest_file`` on both databases: recognised by content, declarations stored through the
same path as CSV and JSON Lines, faulty messages quarantined (and released once corrected), manifests stored
once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from borderwatch.ingest.models import ManifestLineRow
from borderwatch.ingest.service import ingest_file, list_quarantine, release_quarantined
from borderwatch.ingest.store import load_declarations
from tests.conftest import SHARED_DATA
from tests.unit.test_ingest_edifact import cusdec

IFTMCS = SHARED_DATA / "edifact" / "iftmcs" / "synthetic_iftmcs_d99b.edi"


def _two_messages(second: str) -> str:
    return cusdec().replace("UNZ+1+ICR1'", "") + second.split("ICR1'\n", 1)[1].replace(
        "UNZ+1+ICR1'", "UNZ+2+ICR1'"
    )


def test_edifact_file_is_recognised_and_bad_message_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "declarations.txt"  # no telling extension: recognised by content
    path.write_text(_two_messages(cusdec(lrn="LRN2", cnt=4)), encoding="latin-1")
    summary = ingest_file(engine=engine, path=path)
    assert (summary.read, summary.stored, summary.quarantined) == (2, 1, 1)
    stored = load_declarations(engine)
    assert stored["lrn"].to_list() == ["LRN1"]
    assert stored["hs_code"].to_list() == ["85176200"]
    (record,) = list_quarantine(engine=engine)
    assert record.reader == "edifact" and record.record_key == "LRN2"
    assert record.field == "segment CNT #20, element 1, component 2"
    assert "message M1" in record.reason and "CNT+5 counts 4" in record.reason
    # Re-ingesting finds the same record already quarantined and the declaration already stored.
    again = ingest_file(engine=engine, path=path)
    assert (again.duplicates, again.already_quarantined) == (1, 1)
    # Corrected whole, the message is released through the same store.
    released = release_quarantined(
        engine=engine, record_id=record.id, raw=record.raw.replace("CNT+5:4", "CNT+5:1")
    )
    assert released.stored == 1
    assert sorted(load_declarations(engine)["lrn"].to_list()) == ["LRN1", "LRN2"]


def test_several_goods_items_stored(engine: Engine, tmp_path: Path) -> None:
    items = [
        "CST+1+85176200:122+40'\nMEA+AAE+AAA+KGM:760'\nMOA+40:100:USD'",
        "CST+2+61091000:122+40'\nMEA+AAE+AAA+KGM:430'\nMOA+38:50:EUR'",
    ]
    path = tmp_path / "two.edi"
    path.write_text(cusdec(items=items), encoding="latin-1")
    assert ingest_file(engine=engine, path=path).stored == 1
    stored = load_declarations(engine)
    assert stored.select("item_no", "hs_code", "net_mass", "customs_value", "currency").rows() == [
        (1, "85176200", 760.0, 100.0, "USD"),
        (2, "61091000", 430.0, 50.0, "EUR"),
    ]


def test_manifest_lines_stored_once(engine: Engine) -> None:
    if not IFTMCS.is_file():
        pytest.skip("shared IFTMCS sample not found")
    first = ingest_file(engine=engine, path=IFTMCS, agency="a")
    assert (first.read, first.manifest_messages, first.manifest_lines, first.quarantined) == (1, 1, 1, 0)
    assert ingest_file(engine=engine, path=IFTMCS, agency="a").manifest_lines == 0
    assert ingest_file(engine=engine, path=IFTMCS, agency="b").manifest_lines == 1
    with engine.connect() as connection:
        rows = connection.execute(select(ManifestLineRow.agency, ManifestLineRow.container_ids)).all()
        assert sorted(tuple(r) for r in rows) == [("a", "MSKU1234565"), ("b", "MSKU1234565")]
        assert connection.execute(select(func.count()).select_from(ManifestLineRow)).scalar_one() == 2


def cuscar(*consignments: tuple[str, float, list[str]]) -> str:
    """A CUSCAR of our own: one CNI group per (bill of lading, gross kg, containers)."""
    body = ["BGM+85+MAN1+9'", "DTM+132:20260114:102'", "TDT+20+VOY1+1++CARRIER+++9123456'", "LOC+11+XXPRT'"]
    for number, (bill, gross, containers) in enumerate(consignments, start=1):
        body += [f"CNI+{number}+{bill}'", "NAD+CN+++IMPORTER LTD'", "GID+1+40:CT'", "FTX+AAA+++GOODS'"]
        body += [f"MEA+AAE+G+KGM:{gross}'", "PIA+5+851762'"]
        body += [f"SGP+{c}+1'" for c in containers] + [f"EQD+CN+{c}+45G1'" for c in containers]
    return (
        "UNB+UNOA:2+CARRIER+CUSTOMS+260114:0800+C1'\nUNH+1+CUSCAR:D:95B:UN'\n"
        + "\n".join(body)
        + f"\nUNT+{len(body) + 2}+1'\nUNZ+1+C1'\n"
    )


def test_reconciliation_of_stored_edifact(engine: Engine, tmp_path: Path) -> None:
    from datetime import date

    from borderwatch.features.reconcile import discrepancies_of, stored_discrepancies

    manifest = tmp_path / "cuscar.edi"
    # BL-1 is declared (LRN1 states container MSKU1234565); BL-2 nobody declares; LRN1 declares 760 kg net
    # where 2,000 kg gross were manifested.
    manifest.write_text(cuscar(("BL-1", 2000.0, ["MSKU1234565"]), ("BL-2", 500.0, ["TGHU1234567"])))
    summary = ingest_file(engine=engine, path=manifest)
    assert (summary.manifest_messages, summary.manifest_lines) == (1, 2)
    declarations = tmp_path / "cusdec.edi"
    declarations.write_text(cusdec(), encoding="latin-1")
    assert ingest_file(engine=engine, path=declarations).stored == 1
    found = stored_discrepancies(
        engine, agency="default", since=date(2026, 1, 1), until=date(2026, 1, 31), as_of=date(2026, 2, 1)
    )
    kinds = set(found.select("kind", "lrn", "consignment_ref").iter_rows())
    assert kinds == {("weight_gap", "LRN1", "BL-1"), ("undeclared_consignment", None, "BL-2")}
    mine = discrepancies_of(engine, agency="default", lrns=["LRN1"], days=[date(2026, 1, 15)])
    assert mine["kind"].to_list() == ["weight_gap"]
    assert discrepancies_of(engine, agency="other", lrns=["LRN1"], days=[date(2026, 1, 15)]).height == 0
