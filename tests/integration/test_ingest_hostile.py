"""What a hostile probe found in ingest (#22), on both databases: nothing lost, nothing crashes.

- A stray pair of quotes no longer hides declarations inside another's field: every line is a record or a
  problem of its own, and the summary's counts add up to the file's lines (defect 2).
- What a database cannot store (year 0, NUL, lone surrogates, numbers past what a column holds) is refused
  by validation; a record refused at insert all the same is quarantined alone (defect 3).
- Deep nesting, huge integers, too many goods items are problems, not crashes (defect 4).
- Invisible characters in identifiers do not make a re-sent declaration new (defect 10).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from borderwatch.core.settings import Settings
from borderwatch.ingest.frame import KCS_COLUMNS
from borderwatch.ingest.mapping import kcs_mapping
from borderwatch.ingest.readers import RawBatch
from borderwatch.ingest.schemas import CONTROL_REASON, Declaration
from borderwatch.ingest.service import (
    CheckedBatch,
    IngestSummary,
    _Context,
    check_batch,
    ingest_declarations,
    ingest_file,
    list_quarantine,
    store_isolating,
)
from borderwatch.ingest.store import load_declarations
from borderwatch.ingest.validate import Validated
from borderwatch.synthetic import GeneratorConfig, generate_traffic
from borderwatch.synthetic.traffic import KCS_LAYOUT, csv_field
from tests.integration.api_support import assert_error, build_world, client_for, declaration_json


def _non_blank_lines(path: Path, *, header: bool) -> int:
    lines = path.read_bytes().split(b"\n")[1 if header else 0 :]
    return sum(1 for line in lines if line.strip())


def _balanced(summary: IngestSummary) -> int:
    """The sum that must equal ``read``: every record read is accounted for exactly once."""
    return (
        summary.stored
        + summary.amended
        + summary.duplicates
        + summary.quarantined
        + summary.already_quarantined
        + summary.outcome_lines
    )


def _with_stray_quote_pairs(rows: list[list[str]], column: int, pairs: list[tuple[int, int]]) -> list[str]:
    """``rows`` as CSV lines, a quote opening ``column`` on the first line of each pair and closing it on the
    second: read as CSV, the lines between would be one record."""
    marks = {first: "open" for first, _ in pairs} | {last: "close" for _, last in pairs}
    lines = []
    for index, fields in enumerate(rows):
        cells = [csv_field(value) for value in fields]
        if index in marks:
            value = fields[column].replace('"', "").replace(",", " ")
            cells[column] = f'"{value}' if marks[index] == "open" else f'{value}"'
        lines.append(",".join(cells))
    return lines


PAIRS = [(40, 44), (300, 306), (777, 779), (1200, 1209), (1650, 1653), (1990, 1995)]


def test_generated_file_with_stray_quote_pairs_loses_no_declaration(engine: Engine, tmp_path: Path) -> None:
    traffic = generate_traffic(GeneratorConfig(declarations=2000, seed=7))
    frame = traffic.frame.select(*KCS_LAYOUT, "Goods Description").with_columns(
        pl.col("Goods Description").str.replace_all(r'[,"]', " ")
    )
    header = ",".join(frame.columns)
    rows = [[("" if v is None else str(v)) for v in row] for row in frame.iter_rows()]
    path = tmp_path / "generated.csv"
    path.write_text("\n".join([header, *_with_stray_quote_pairs(rows, len(KCS_LAYOUT), PAIRS)]) + "\n")
    assert _non_blank_lines(path, header=True) == 2000

    summary = ingest_file(engine=engine, path=path)
    # Before: read 1,971, stored 1,971: the lines inside each pair stored as one declaration's description.
    swallowed = sum(last - first + 1 for first, last in PAIRS)
    assert (summary.read, summary.quarantined) == (2000, swallowed)
    assert summary.read == _balanced(summary)
    assert summary.stored == 2000 - swallowed
    problems = list_quarantine(engine=engine, limit=100)
    lines = sorted(p.line or 0 for p in problems)
    assert lines == sorted(n + 2 for first, last in PAIRS for n in range(first, last + 1))
    assert all("\n" not in p.raw for p in problems)
    first = next(p for p in problems if p.line == PAIRS[0][0] + 2)
    assert first.field == "Goods Description"
    assert first.reason.startswith(
        f"line opens a quote in field 'Goods Description' that closes on line {46}"
    )
    stored = load_declarations(engine)["lrn"].to_list()
    assert len(stored) == len(set(stored)) == 2000 - swallowed
    again = ingest_file(engine=engine, path=path)
    assert (again.read, again.duplicates, again.already_quarantined) == (2000, 2000 - swallowed, swallowed)


def test_kcs_layout_with_stray_quote_pairs_loses_no_declaration(
    engine: Engine, kcs_dir: Path, tmp_path: Path
) -> None:
    with (kcs_dir / "df_syn_valid_eng.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for _, row in zip(range(1500), reader, strict=False)]
    pairs = [(10, 15), (500, 505), (1000, 1012)]
    path = tmp_path / "kcs.csv"
    column = header.index("Importer ID")
    path.write_text("\n".join([",".join(header), *_with_stray_quote_pairs(rows, column, pairs)]) + "\n")

    summary = ingest_file(engine=engine, path=path)
    swallowed = sum(last - first + 1 for first, last in pairs)
    # Before: read 1,478 of 1,500 lines; three quarantined rows held 25 lines between them.
    assert (summary.read, summary.quarantined, summary.stored) == (1500, swallowed, 1500 - swallowed)
    assert summary.read == _balanced(summary)
    opened = [p for p in list_quarantine(engine=engine, limit=100) if p.field == "Importer ID"]
    assert sorted(p.line or 0 for p in opened) == [first + 2 for first, _ in pairs]


def _kcs_line(lrn: int, day: str = "2021-01-01") -> str:
    return (
        f"{lrn},{day},40,B,11,11,11,40,76NV527,SHHZGSL,249LO7A,,760711,CN,CN,7.2,FCN1,E,901.2,415092.72,0,0"
    )


def test_what_a_database_cannot_store_is_quarantined_and_a_rerun_works(
    engine: Engine, tmp_path: Path
) -> None:
    header = ",".join(KCS_COLUMNS)
    days = {7: "0000-01-01", 13: "0001-01-01", 21: "0000-12-31", 30: "9999-12-31"}
    lines = [_kcs_line(10_000_000 + n, days.get(n, "2021-01-01")) for n in range(40)]
    path = tmp_path / "dates.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    # Before: PostgreSQL refused year 0 in COPY and the whole file was lost, again on every re-run.
    summary = ingest_file(engine=engine, path=path)
    assert (summary.read, summary.stored, summary.quarantined) == (40, 36, 4)
    reasons = {p.line: p.reason for p in list_quarantine(engine=engine)}
    assert reasons[9] == "'0000-01-01' is outside the accepted dates (1900-01-01 to 2999-12-31)"
    again = ingest_file(engine=engine, path=path)
    assert (again.read, again.duplicates, again.already_quarantined) == (40, 36, 4)


def _declaration(lrn: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "lrn": lrn,
        "date": "2026-02-03",
        "office": "30",
        "parties": {"importer": {"id": "IMP1", "name": "Acme"}},
        "items": [{"hs_code": "440890", "customs_value": 100, "currency": "USD", "description": "planks"}],
    }
    record.update(changes)
    return record


def _item(**changes: Any) -> dict[str, Any]:
    return {"hs_code": "440890", "customs_value": 100, "currency": "USD"} | changes


def test_hostile_json_lines_are_problems_and_the_rest_is_stored(engine: Engine, tmp_path: Path) -> None:
    hostile = [
        json.dumps(_declaration("H1", items=[_item(description="pla\u0000nks")])),
        json.dumps(_declaration("H2", parties={"importer": {"id": "IMP1", "name": "Ac\u0000me"}})),
        '{"lrn": "H3", "x": ' + "9" * 5000 + "}",
        "[" * 1000 + "]" * 1000,
        '{"lrn": "H5", "a": ' + '{"b": ' * 900 + "1" + "}" * 900 + "}",
        json.dumps(_declaration("H6", items=[_item()] * 10_001)),
        json.dumps(_declaration("H7", date="0000-01-01")),
        json.dumps(_declaration("H8", items=[_item(customs_value=float("inf"))])),
        json.dumps(_declaration("H9", items=[_item(description="\ud800")])),
        json.dumps(_declaration("H10", items=[_item(item_no=2**40)])),
        json.dumps(_declaration("H11", items=[_item(customs_value=10**400)])),
        json.dumps({"lrn": "H12", "recorded_on": "2026-01-01", "fraud": True, "findings": "a\u0000b"}),
    ]
    good = [json.dumps(_declaration(f"G{n}")) for n in range(3)]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join([good[0], *hostile, good[1], good[2]]) + "\n")
    # Before: a crash (an integer past Python's digit limit, a recursion error; on PostgreSQL, the NUL).
    summary = ingest_file(engine=engine, path=path, fmt="jsonl")
    assert (summary.read, summary.stored, summary.quarantined) == (15, 3, 12)
    reasons = {p.line: (p.field, p.reason) for p in list_quarantine(engine=engine, limit=100)}
    assert reasons[2] == ("items.0.description", "contains a NUL character (U+0000), which cannot be stored")
    assert reasons[4] == (None, "line holds an integer of more than 4,300 digits")
    assert reasons[5] == (None, "line is nested deeper than 10 levels")
    assert reasons[6] == (None, "line is nested deeper than 10 levels")
    assert reasons[7] == ("items", "has more than 10,000 goods items; split the declaration")
    assert reasons[8] == ("date", "'0000-01-01' is not a date in the format %Y-%m-%d")
    assert reasons[9] == ("items.0.customs_value", "'inf' is not a number")
    assert reasons[11] == ("items.0.item_no", f"'{2**40}' is not an item number (1 to 999,999,999)")
    again = ingest_file(engine=engine, path=path, fmt="jsonl")
    assert (again.duplicates, again.already_quarantined) == (3, 12)


def test_a_record_the_database_refuses_at_insert_is_quarantined_alone(engine: Engine) -> None:
    rows = [{"line": str(n), "raw": f"raw {n}"} | _flat(f"I{n}") for n in range(1, 7)]
    records = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))
    batch = RawBatch(records=records.cast({"line": pl.Int64}))
    valid = check_batch(batch, mapping=kcs_mapping(), labels={})
    assert valid.problems == [] and valid.validated.rows.height == 6
    # A value validation let through and the database refuses (here: a NULL where the column forbids it).
    refused = valid.validated.rows.with_columns(
        pl.when(pl.col("line") == 4).then(None).otherwise(pl.col("hs_code")).alias("hs_code")
    )
    checked = CheckedBatch(
        batch=valid.batch, validated=Validated(refused, valid.validated.problems), problems=[]
    )
    context = _Context(source="insert-test", reader="jsonl", agency="a", context=None)
    summary = store_isolating(engine, checked=checked, context=context)
    assert (summary.read, summary.stored, summary.quarantined) == (6, 5, 1)
    [problem] = list_quarantine(engine=engine, source="insert-test")
    assert (problem.line, problem.record_key, problem.raw) == (4, "I4", "raw 4")
    assert problem.reason.startswith("the database refused to store it (")
    assert sorted(load_declarations(engine, agency="a")["lrn"].to_list()) == ["I1", "I2", "I3", "I5", "I6"]
    again = store_isolating(engine, checked=checked, context=context)
    assert (again.duplicates, again.already_quarantined) == (5, 1)


def _flat(lrn: str) -> dict[str, str]:
    return {
        "lrn": lrn,
        "declared_on": "2026-02-03",
        "office": "30",
        "hs_code": "440890",
        "customs_value": "100",
        "currency": "USD",
    }


INVISIBLE = ["\u200b", "\ufeff", "\u2060", "\u00ad", "\u200e"]


def test_invisible_characters_do_not_bypass_duplicate_detection(engine: Engine, tmp_path: Path) -> None:
    declarations = [Declaration.model_validate(_declaration(f"L{n}")) for n in range(70)]
    ingest_declarations(engine=engine, declarations=declarations, agency="a")
    resent = [
        _declaration(f"{INVISIBLE[n % 5]}L{n}" if n % 2 else f"L{n}{INVISIBLE[n % 5]}") for n in range(70)
    ]
    resent[0]["lrn"] = "L\uff10"  # a full-width digit zero: NFKC makes it "L0"
    # Before: all 70 stored again as new declarations.
    summary = ingest_declarations(
        engine=engine, declarations=[Declaration.model_validate(d) for d in resent], agency="a"
    )
    assert (summary.read, summary.stored, summary.duplicates) == (70, 0, 70)
    path = tmp_path / "resent.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in resent) + "\n")
    again = ingest_file(engine=engine, path=path, fmt="jsonl", agency="a")
    assert (again.read, again.stored, again.duplicates) == (70, 0, 70)
    # The CSV readers normalise the same way; a control character is refused, not stored.
    lines = [
        _kcs_line(10_000_001),
        "\ufeff" + _kcs_line(10_000_001),
        "10000\u200b001" + _kcs_line(0)[1:],
        _kcs_line(10_000_002).replace("10000002", "1000\x070002", 1),
    ]
    csv_path = tmp_path / "resent.csv"
    csv_path.write_text("\n".join([",".join(KCS_COLUMNS), *lines]) + "\n")
    mixed = ingest_file(engine=engine, path=csv_path)
    assert (mixed.read, mixed.stored, mixed.duplicates, mixed.quarantined) == (4, 1, 2, 1)
    [refused] = list_quarantine(engine=engine, source="resent.csv")
    assert (refused.field, refused.reason) == ("Declaration ID", CONTROL_REASON)
    assert load_declarations(engine, agency="default")["lrn"].to_list() == ["10000001"]


def test_api_refuses_what_cannot_be_stored_with_a_4xx(settings: Settings) -> None:
    world = build_world(settings, agencies=("a",))
    headers = world.auth("analyst_a")
    nul = declaration_json("N-1")
    nul["items"][0]["description"] = "pla\u0000nks"  # type: ignore[index]
    year0 = declaration_json("N-2") | {"date": "0000-01-01"}
    many = declaration_json("N-3")
    many["items"] = [dict(many["items"][0], item_no=n + 1) for n in range(10_001)]  # type: ignore[index]
    invisible = declaration_json("N-4\u200b")
    with client_for(settings) as client:
        # Before: a 500 on PostgreSQL (its COPY refused the NUL) and the rest of the batch lost.
        response = client.post(
            "/api/declarations/batch", json=[declaration_json("OK-1"), nul], headers=headers
        )
        assert "NUL" in str(assert_error(response, 422)["message"])
        assert_error(client.post("/api/declarations", json=year0, headers=headers), 422)
        error = assert_error(client.post("/api/declarations/batch", json=[many], headers=headers), 422)
        assert "10000" in str(error["message"]) or "10,000" in str(error["message"])
        stored = client.post("/api/declarations", json=declaration_json("N-4"), headers=headers)
        assert stored.status_code == 201, stored.text
        again = client.post("/api/declarations", json=invisible, headers=headers)
        assert again.status_code == 201 and again.json()["status"] == "duplicate", again.text
