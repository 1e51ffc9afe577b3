"""Ingest service on both databases: amendments, mapped CSV, JSON Lines, quarantine release, accounting."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from borderwatch.core.errors import IngestError
from borderwatch.db.session import make_engine, migrate
from borderwatch.ingest.frame import KCS_COLUMNS
from borderwatch.ingest.mapping import load_mapping
from borderwatch.ingest.models import DeclarationRow, GoodsItemRow, OutcomeRow, QuarantineRow
from borderwatch.ingest.readers import SourceError
from borderwatch.ingest.service import ingest_file, list_quarantine, release_quarantined
from borderwatch.ingest.store import load_declarations, load_outcomes

HEADER = ",".join(KCS_COLUMNS)


def _line(
    lrn: str, *, price: str = "1000.0", hs: str = "440890", country: str = "BE", fraud: str = "0"
) -> str:
    day = f"2020-01-0{len(lrn) % 9 + 1}"
    parties = "DCL0001,IMP0001,SEL0001,"
    return f"{lrn},{day},30,B,11,21,11,10,{parties},{hs},{country},{country},8.0,A,G,12.0,{price},{fraud},0"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def _count(engine: Engine, model: type, *where: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_changed_declaration_becomes_new_version(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine=engine, path=_write(tmp_path / "a.csv", [_line("A1"), _line("B2")]))
    summary = ingest_file(
        engine=engine, path=_write(tmp_path / "b.csv", [_line("A1", price="2000.0"), _line("B2")])
    )
    assert (summary.stored, summary.amended, summary.duplicates) == (0, 1, 1)
    with engine.connect() as connection:
        versions = connection.execute(
            select(DeclarationRow.version, DeclarationRow.is_current)
            .where(DeclarationRow.lrn == "A1")
            .order_by(DeclarationRow.version)
        ).all()
    assert [tuple(v) for v in versions] == [(1, False), (2, True)]
    current = load_declarations(engine, lrns=["A1"])
    assert current["customs_value"].to_list() == [2000.0]
    # The first file again: its A1 is a known (older) version, so nothing changes.
    again = ingest_file(engine=engine, path=tmp_path / "a.csv")
    assert (again.stored, again.amended, again.duplicates) == (0, 0, 2)
    assert _count(engine, DeclarationRow) == 3
    assert _count(engine, OutcomeRow) == 2  # the same outcome of A1 is not stored twice


def test_two_versions_in_one_file_and_identical_repeats(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path / "v.csv", [_line("A1"), _line("A1"), _line("A1", price="5.0"), _line("C3")])
    summary = ingest_file(engine=engine, path=path)
    assert (summary.read, summary.stored, summary.amended, summary.duplicates) == (4, 2, 1, 1)
    assert load_declarations(engine, lrns=["A1"])["customs_value"].to_list() == [5.0]
    assert _count(engine, GoodsItemRow) == 3


def test_mapped_csv(engine: Engine, tmp_path: Path) -> None:
    mapping = tmp_path / "agency.yaml"
    mapping.write_text(
        """
name: port-export
delimiter: ";"
date_format: "%d/%m/%Y"
columns:
  lrn: No
  declared_on: Datum
  hs_code: Commodity
  customs_value: Wert
  importer_id: Importer
optional_columns:
  net_mass: Masse
constants:
  office: NL000396
  currency: EUR
defaults:
  origin_country: CN
"""
    )
    data = tmp_path / "export.csv"
    data.write_text(
        "No;Datum;Commodity;Wert;Importer;Ignored\n"
        "N-1;31/01/2024;8471.30;1500.50;NL123;x\n"
        "N-2;01/02/2024;0901 11;20;NL124;y\n"
        "N-3;2024-02-01;090111;20;NL124;z\n"
    )
    summary = ingest_file(engine=engine, path=data, mapping=load_mapping(mapping))
    assert (summary.read, summary.stored, summary.quarantined) == (3, 2, 1)
    frame = load_declarations(engine).sort("lrn")
    assert frame["hs_code"].to_list() == ["847130", "090111"]
    assert frame["declared_on"].to_list() == [date(2024, 1, 31), date(2024, 2, 1)]
    assert frame["office"].unique().to_list() == ["NL000396"]
    assert frame["currency"].unique().to_list() == ["EUR"]
    assert frame["origin_country"].unique().to_list() == ["CN"]
    assert frame["net_mass"].null_count() == 2
    [bad] = list_quarantine(engine=engine)
    assert (bad.line, bad.field, bad.reason) == (
        4,
        "Datum",
        "'2024-02-01' is not a date in the format %d/%m/%Y",
    )
    with pytest.raises(SourceError, match="needs a column mapping"):
        ingest_file(engine=engine, path=data, fmt="csv")


def _declaration(lrn: str, **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "lrn": lrn,
        "date": "2024-03-04",
        "office": "DEHAM",
        "transport": {
            "mode": "1",
            "departure_country": "CN",
            "transit_countries": ["SG", "AE"],
            "container_ids": ["MSCU1234565"],
        },
        "parties": {
            "importer": {"id": "DE1", "name": "Müller GmbH", "country": "DE"},
            "seller": {"id": "CN9"},
        },
        "items": [
            {"hs_code": "850760", "customs_value": 1200, "currency": "EUR", "net_mass": 40},
            {"item_no": 2, "hs_code": "850440", "customs_value": 300.5, "currency": "EUR"},
        ],
        "documents": [{"type": "invoice", "number": "INV-1"}],
    }
    record.update(changes)
    return record


def test_jsonl_declarations_and_outcomes(engine: Engine, tmp_path: Path) -> None:
    lines = [
        json.dumps(_declaration("J1")),
        json.dumps(_declaration("J2", office="")),
        json.dumps(
            {
                "lrn": "J1",
                "recorded_on": "2024-03-10",
                "fraud": True,
                "critical_fraud": 1,
                "findings": "mis-declared",
            }
        ),
    ]
    path = tmp_path / "decl.jsonl"
    path.write_text("\n".join(lines) + "\n")
    summary = ingest_file(engine=engine, path=path)
    assert (summary.read, summary.stored, summary.quarantined, summary.outcomes) == (3, 1, 1, 1)
    frame = load_declarations(engine)
    assert frame["item_no"].to_list() == [1, 2]
    assert frame["transit_countries"].to_list() == ["SG AE", "SG AE"]
    with engine.connect() as connection:
        parties, documents = connection.execute(
            select(DeclarationRow.parties, DeclarationRow.documents)
        ).one()
    assert parties["importer"]["name"] == "Müller GmbH"
    assert parties["seller"] == {"id": "CN9", "name": None, "address": None, "country": None}
    assert documents == [{"type": "invoice", "number": "INV-1", "sha256": None, "issuer": None}]
    assert load_outcomes(engine)["critical_fraud"].to_list() == [1]
    [bad] = list_quarantine(engine=engine)
    assert (bad.line, bad.field, bad.reason, bad.record_key) == (2, "office", "is missing", "J2")
    again = ingest_file(engine=engine, path=path)
    assert (again.stored, again.duplicates, again.outcomes, again.already_quarantined) == (0, 1, 0, 1)


def test_release_fixes_and_stores(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "r.csv",
        [_line("A1", hs="12AB56"), _line("B2", country="QQ"), ",".join(_line("C3").split(",")[:5])],
    )
    ingest_file(engine=engine, path=path)
    by_key = {row.record_key: row for row in list_quarantine(engine=engine)}
    assert set(by_key) == {"A1", "B2", "C3"}

    with pytest.raises(IngestError, match="'99ZZ99' is not an HS code"):
        release_quarantined(engine=engine, record_id=by_key["A1"].id, value="99ZZ99")
    release_quarantined(engine=engine, record_id=by_key["A1"].id, value="440890")
    release_quarantined(
        engine=engine,
        record_id=by_key["B2"].id,
        changes={"Country of Departure": "BE", "Country of Origin": "BE"},
    )
    release_quarantined(engine=engine, record_id=by_key["C3"].id, raw=_line("C3"))
    assert sorted(load_declarations(engine)["lrn"]) == ["A1", "B2", "C3"]
    assert load_declarations(engine, lrns=["B2"])["departure_country"].to_list() == ["BE"]
    assert _count(engine, QuarantineRow, QuarantineRow.status == "released") == 3
    assert _count(engine, OutcomeRow) == 3
    with pytest.raises(IngestError, match="already released"):
        release_quarantined(engine=engine, record_id=by_key["A1"].id)
    # The original file again: its bad lines are known, its fixed records are not touched.
    again = ingest_file(engine=engine, path=path)
    assert (again.quarantined, again.already_quarantined, again.stored) == (0, 3, 0)


def test_release_jsonl_by_path(engine: Engine, tmp_path: Path) -> None:
    record = _declaration("J9")
    record["items"] = [{"hs_code": "850760", "customs_value": -1, "currency": "EUR"}]
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(record) + "\n")
    ingest_file(engine=engine, path=path)
    [row] = list_quarantine(engine=engine)
    assert (row.field, row.reason) == ("items.0.customs_value", "'-1' is negative; it must be 0 or more")
    release_quarantined(engine=engine, record_id=row.id, value="15")
    assert load_declarations(engine)["customs_value"].to_list() == [15.0]


def test_random_corruption_every_record_accounted_for(engine: Engine, tmp_path: Path) -> None:
    rng = random.Random(3)
    lines = []
    for n in range(300):
        text = _line(f"R{n:05d}")
        if rng.random() < 0.3:
            position = rng.randrange(len(text))
            text = text[:position] + rng.choice(['"', ",", "-", "x", "\x00", ""]) + text[position + 1 :]
        lines.append(text)
    path = _write(tmp_path / "random.csv", lines)
    summary = ingest_file(engine=engine, path=path, batch_size=64)
    accounted = summary.stored + summary.amended + summary.duplicates + summary.quarantined
    assert summary.read == accounted
    assert summary.read >= 300 - 25  # a stray quote may join a few lines into one record, never more
    assert _count(engine, DeclarationRow) == summary.stored + summary.amended
    assert _count(engine, QuarantineRow) == summary.quarantined


def test_generated_traffic_ingests(engine: Engine, tmp_path: Path) -> None:
    synthetic = pytest.importorskip("borderwatch.synthetic")
    traffic = synthetic.generate_traffic(synthetic.GeneratorConfig(declarations=400, seed=5, corrupt=10))
    path = tmp_path / "traffic.csv"
    synthetic.write_traffic(traffic, path)
    summary = ingest_file(engine=engine, path=path)
    assert summary.quarantined == 10
    assert summary.stored == traffic.frame.height
    named = load_declarations(engine)
    assert named.height == traffic.frame.height
    with engine.connect() as connection:
        parties = connection.execute(select(DeclarationRow.parties).limit(1)).scalar_one()
    assert parties["importer"]["name"]


def test_an_ingested_file_leaves_sqlite_planner_statistics(tmp_path: Path) -> None:
    # SQLite only: PostgreSQL's autovacuum keeps its own statistics.
    engine = make_engine(f"sqlite:///{tmp_path / 'stats.db'}")
    migrate(engine)
    with engine.connect() as connection:
        before = connection.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'declarations'")
        assert before.scalar() == 0  # migrated while empty: nothing to learn from yet
    ingest_file(engine=engine, path=_write(tmp_path / "s.csv", [_line("S1"), _line("S2"), _line("S3")]))
    with engine.connect() as connection:
        indexes = {
            row[0]
            for row in connection.exec_driver_sql("SELECT idx FROM sqlite_stat1 WHERE tbl = 'declarations'")
        }
    assert {"ix_declarations_lrn_current", "ix_declarations_current_date"} <= indexes
    engine.dispose()
