"""Limits of one record, without a database: memory linear in goods items, long lines, identifiers (#22)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from borderwatch.ingest.frame import KCS_COLUMNS
from borderwatch.ingest.mapping import kcs_mapping
from borderwatch.ingest.readers import MAX_LINE_BYTES, CsvReader, JsonLinesReader, RawBatch
from borderwatch.ingest.schemas import Declaration, normalise_identifier, reason_of
from borderwatch.ingest.validate import validate_records


def _declaration(items: int) -> str:
    return json.dumps(
        {
            "lrn": f"M{items}",
            "date": "2026-02-03",
            "office": "30",
            "parties": {"importer": {"id": "IMP1", "name": "Acme Trading"}},
            "items": [
                {"item_no": n + 1, "hs_code": "440890", "customs_value": 10.0 + n, "currency": "USD"}
                for n in range(items)
            ],
        }
    )


def _batch(tmp_path: Path, text: str) -> RawBatch:
    path = tmp_path / "one.jsonl"
    path.write_text(text + "\n")
    reader, lines = JsonLinesReader.open(path)
    [batch] = list(reader.batches(lines, size=5000))
    return batch


def test_a_records_raw_text_is_kept_once_not_once_per_goods_item(tmp_path: Path) -> None:
    small, large = _batch(tmp_path, _declaration(200)), _batch(tmp_path, _declaration(2000))
    assert large.records.height == 2000
    assert large.records["raw"].drop_nulls().to_list() == [_declaration(2000)]
    # Linear: ten times the items, about ten times the frame (a copy of the line per item made it ~100x).
    ratio = large.records.estimated_size() / small.records.estimated_size()
    assert 8 < ratio < 12, ratio


def test_a_json_lines_batch_holds_a_bounded_number_of_goods_items(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(_declaration(300) for _ in range(10)) + "\n")
    reader, lines = JsonLinesReader.open(path)
    sizes = [batch.records.height for batch in reader.batches(lines, size=1000)]
    assert sizes == [1200, 1200, 600]


@pytest.mark.parametrize("reader_kind", ["csv", "jsonl"])
def test_a_line_over_the_limit_is_a_problem_and_the_next_line_is_read(
    tmp_path: Path, reader_kind: str
) -> None:
    good_csv = (
        "97061800,2020-01-01,30,B,11,21,11,10,ZZR1LT6,QLRUBN9,0VKY2BR,,440890,BE,BE,0.0,FEU1,G,108.0,1.0,0,0"
    )
    long = "x" * (MAX_LINE_BYTES + 10)
    path = tmp_path / f"long.{reader_kind}"
    if reader_kind == "csv":
        path.write_text("\n".join([",".join(KCS_COLUMNS), long, good_csv]) + "\n")
        reader, lines = CsvReader.open(path, kcs_mapping())
        first = 2
    else:
        path.write_text("\n".join([long, _declaration(1)]) + "\n")
        reader, lines = JsonLinesReader.open(path)  # type: ignore[assignment]
        first = 1
    [batch] = list(reader.batches(lines, size=10))
    [problem] = batch.problems
    assert problem.line == first
    assert problem.reason == f"line is longer than {MAX_LINE_BYTES:,} bytes, the limit of one record"
    assert len(problem.raw) < 70_000
    assert batch.records["line"].unique().to_list() == [first + 1]


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("L1\u200b", "L1"),
        ("\ufeffL1", "L1"),
        ("L\u00ad1", "L1"),
        ("L\u2060\u200e1", "L1"),
        ("\uff2c\uff11", "L1"),  # full-width letters and digits
        (" L1 ", "L1"),
        ("Straße", "Straße"),  # NFKC keeps what is not a compatibility form
    ],
)
def test_identifiers_are_normalised_the_same_in_json_and_csv(value: str, normalised: str) -> None:
    assert normalise_identifier(value) == normalised
    row = {"line": "2", "lrn": value, "declared_on": "2024-01-02", "office": "30", "hs_code": "440890"}
    frame = pl.DataFrame([row], schema=dict.fromkeys(row, pl.String)).cast({"line": pl.Int64})
    result = validate_records(frame, defaults={"currency": "KRW"}, constants={"customs_value": "5"})
    assert result.problems.is_empty()
    assert result.rows["lrn"].to_list() == [normalised]


def _csv_problem(**fields: str) -> tuple[str, str] | None:
    row = {
        "line": "2",
        "lrn": "X1",
        "declared_on": "2024-01-02",
        "office": "30",
        "hs_code": "440890",
    } | fields
    frame = pl.DataFrame([row], schema=dict.fromkeys(row, pl.String)).cast({"line": pl.Int64})
    result = validate_records(frame, defaults={"currency": "KRW"}, constants={"customs_value": "5"})
    return None if result.problems.is_empty() else result.problems.select("field", "reason").row(0)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"declared_on": "0000-01-01"},
            ("declared_on", "'0000-01-01' is outside the accepted dates (1900-01-01 to 2999-12-31)"),
        ),
        (
            {"declared_on": "3000-01-01"},
            ("declared_on", "'3000-01-01' is outside the accepted dates (1900-01-01 to 2999-12-31)"),
        ),
        ({"lrn": "X\x071"}, ("lrn", "contains a control character; an identifier cannot hold one")),
        (
            {"importer_id": "I\x00"},
            ("importer_id", "contains a control character; an identifier cannot hold one"),
        ),
        (
            {"description": "a\x00b"},
            ("description", "contains a NUL character (U+0000), which cannot be stored"),
        ),
        ({"importer_name": "n" * 257}, ("importer_name", "is longer than 256 characters")),
        ({"item_no": "1234567890"}, ("item_no", "is longer than 9 characters")),
        ({"net_mass": "1" * 400}, ("net_mass", f"'{'1' * 400}' is not a number")),
        ({"lrn": "\u200b"}, ("lrn", "is missing")),
    ],
)
def test_validation_refuses_what_a_database_cannot_store(
    fields: dict[str, str], expected: tuple[str, str]
) -> None:
    assert _csv_problem(**fields) == expected


def _json_reasons(**changes: object) -> list[tuple[str, str]]:
    record: dict[str, object] = {
        "lrn": "J1",
        "date": "2024-01-02",
        "office": "30",
        "items": [{"hs_code": "440890", "customs_value": 10, "currency": "EUR"}],
    } | changes
    with pytest.raises(ValidationError) as error:
        Declaration.model_validate(record)
    return [reason_of(e) for e in error.value.errors()]


def test_the_json_boundary_refuses_the_same() -> None:
    assert _json_reasons(date="1899-12-31") == [
        ("date", "'1899-12-31' is outside the accepted dates (1900-01-01 to 2999-12-31)")
    ]
    assert _json_reasons(lrn="J\x1b1") == [
        ("lrn", "contains a control character; an identifier cannot hold one")
    ]
    assert _json_reasons(procedure={"import_type": "1" * 17}) == [
        ("procedure.import_type", "is longer than 16 characters")
    ]
    item = {"hs_code": "440890", "customs_value": 10, "currency": "EUR"}
    assert _json_reasons(items=[item] * 10_001) == [
        ("items", "has more than 10,000 goods items; split the declaration")
    ]
    assert _json_reasons(items=[item | {"net_mass": float("nan")}]) == [
        ("items.0.net_mass", "'nan' is not a number")
    ]
    assert _json_reasons(documents=[{"type": "invoice", "number": "N\x00"}]) == [
        ("documents.0.number", "contains a control character; an identifier cannot hold one")
    ]


def test_many_items_with_long_declaration_fields_are_refused_before_flattening() -> None:
    # 2,300 items each carrying 7 KB of parties and containers took 178 MB; 10,000 took 622 MB, and with
    # 100 long documents 2.3 GB, from a line under 1 MB.
    party = {"id": "I" * 64, "name": "n" * 256, "address": "a" * 512}
    item = {"hs_code": "440890", "customs_value": 10, "currency": "EUR"}
    [(field, reason)] = _json_reasons(
        parties=dict.fromkeys(("importer", "declarant", "seller", "courier"), party),
        transport={"container_ids": ["C" * 32] * 100},
        items=[item] * 10_000,
    )
    assert field == "record"
    assert reason.startswith("has 10,000 goods items and ") and reason.endswith(
        "split it into declarations of fewer items"
    )
    # The same declaration with a usual number of items is accepted.
    Declaration.model_validate(
        {"lrn": "J1", "date": "2024-01-02", "office": "30", "items": [item] * 100}
        | {"parties": {"importer": party}, "transport": {"container_ids": ["C" * 32] * 100}}
    )


def test_a_declarations_own_fields_stay_under_the_bound_that_skips_measuring_them() -> None:
    # Declaration._bounded_copies skips the JSON rendering when items x OWN_FIELDS_BOUND fits: every own
    # field at its longest, in characters that JSON writes longest (\u0001 in names, \" in identifiers).
    from borderwatch.ingest.schemas import ADDRESS_LENGTH, MAX_COPIED_BYTES, NAME_LENGTH, OWN_FIELDS_BOUND

    quote, control = '"', "\x01"
    longest = Declaration.model_validate(
        {
            "lrn": quote * 64,
            "date": "2026-01-01",
            "office": quote * 32,
            "procedure": dict.fromkeys(
                ("process_type", "import_type", "import_use", "payment_type"), control * 16
            ),
            "transport": {
                "mode": control * 16,
                "departure_country": "CN",
                "transit_countries": ["CN"] * 40,
                "origin_country": "CN",
                "origin_indicator": control * 16,
                "means_id": quote * 64,
                "container_ids": [quote * 32] * 100,
            },
            "parties": {
                key: {"id": quote * 64, "name": control * NAME_LENGTH, "address": control * ADDRESS_LENGTH}
                for key in ("importer", "declarant", "seller", "courier")
            },
            "items": [{"hs_code": "610910", "customs_value": 1, "currency": "KRW"}],
            "documents": [
                {"type": control * 64, "number": quote * 128, "sha256": "a" * 64, "issuer": quote * 128}
            ]
            * 100,
        }
    )
    assert len(longest.model_dump_json(exclude={"items"})) < OWN_FIELDS_BOUND
    assert MAX_COPIED_BYTES // OWN_FIELDS_BOUND >= 2
