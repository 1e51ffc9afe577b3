"""In-memory ingest (``ingest_declarations``, used by the API): stores what a JSON Lines file would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from borderwatch.ingest.schemas import Declaration
from borderwatch.ingest.service import (
    ingest_declarations,
    ingest_file,
    list_quarantine,
)
from borderwatch.ingest.store import load_declarations, load_outcomes


def _declaration(lrn: str, *, value: float = 1000.0, items: int = 1) -> Declaration:
    data: dict[str, Any] = {
        "lrn": lrn,
        "date": "2026-02-03",
        "office": "30",
        "procedure": {"process_type": "B", "import_type": "11", "import_use": "21", "payment_type": "11"},
        "transport": {"mode": "10", "departure_country": "CN", "origin_country": "CN"},
        "parties": {"importer": {"id": "IMP1"}, "declarant": {"id": "DCL1"}},
        "items": [
            {"hs_code": "440890", "net_mass": 12.0 + n, "customs_value": value + n, "currency": "USD"}
            for n in range(items)
        ],
    }
    return Declaration.model_validate(data)


def test_memory_and_file_store_the_same_declarations(engine: Engine, tmp_path: Path) -> None:
    batch = [_declaration("M1"), _declaration("M2", items=2)]
    summary = ingest_declarations(engine=engine, declarations=batch, agency="a", source="api")
    assert (summary.read, summary.stored, summary.duplicates, summary.quarantined) == (2, 2, 0, 0)
    stored = load_declarations(engine, agency="a")
    assert sorted(stored["lrn"].to_list()) == ["M1", "M2", "M2"]
    # The same declarations as a JSON Lines file hash to the same content: all duplicates.
    path = tmp_path / "same.jsonl"
    path.write_text("\n".join(d.model_dump_json(exclude_none=True) for d in batch) + "\n")
    again = ingest_file(engine=engine, path=path, fmt="jsonl", agency="a")
    assert (again.stored, again.amended, again.duplicates) == (0, 0, 2)


def test_memory_ingest_versions_amendments_and_ignores_resubmission(engine: Engine) -> None:
    ingest_declarations(engine=engine, declarations=[_declaration("V1")], agency="a")
    same = ingest_declarations(engine=engine, declarations=[_declaration("V1")], agency="a")
    assert (same.stored, same.amended, same.duplicates) == (0, 0, 1)
    changed = ingest_declarations(engine=engine, declarations=[_declaration("V1", value=2500.0)], agency="a")
    assert (changed.stored, changed.amended) == (0, 1)
    current = load_declarations(engine, agency="a", lrns=["V1"])
    assert current["customs_value"].to_list() == [2500.0]


def test_another_agency_under_the_same_lrn_neither_amends_nor_labels_a_declaration(
    engine: Engine, tmp_path: Path
) -> None:
    ingest_declarations(engine=engine, declarations=[_declaration("X1")], agency="a")
    # Agency b uses a's LRN with other content, next to a declaration of its own: both are b's own.
    summary = ingest_declarations(
        engine=engine, declarations=[_declaration("X1", value=9.0), _declaration("B1")], agency="b"
    )
    assert (summary.read, summary.stored, summary.amended, summary.quarantined) == (2, 2, 0, 0)
    assert load_declarations(engine, agency="a", lrns=["X1"])["customs_value"].to_list() == [1000.0]
    assert load_declarations(engine, agency="b", lrns=["X1"])["customs_value"].to_list() == [9.0]
    assert list_quarantine(engine=engine, source="api") == []
    # An outcome line for X1 from b's file labels b's declaration, not a's.
    path = tmp_path / "outcomes.jsonl"
    path.write_text(
        '{"lrn": "X1", "recorded_on": "2026-02-05", "fraud": true}\n'
        '{"lrn": "B1", "recorded_on": "2026-02-05", "fraud": false}\n'
    )
    result = ingest_file(engine=engine, path=path, fmt="jsonl", agency="b")
    assert (result.read, result.outcomes, result.quarantined) == (2, 2, 0)
    assert sorted(load_outcomes(engine, agency="b")["lrn"].to_list()) == ["B1", "X1"]
    assert load_outcomes(engine, agency="a").is_empty()
