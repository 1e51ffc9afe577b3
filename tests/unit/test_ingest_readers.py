"""Readers and validation without a database: malformed input becomes a problem, never a crash or a loss."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borderwatch.core.errors import ConfigError
from borderwatch.ingest.frame import KCS_COLUMNS
from borderwatch.ingest.mapping import kcs_mapping, load_mapping
from borderwatch.ingest.readers import CsvReader, JsonLinesReader, SourceError
from borderwatch.ingest.validate import validate_records
from tests.hypothesis_profiles import examples

HEADER = ",".join(KCS_COLUMNS)
GOOD = (
    "97061800,2020-01-01,30,B,11,21,11,10,ZZR1LT6,QLRUBN9,0VKY2BR,,440890,BE,BE,0.0,FEU1,G,108.0,372254.4,0,0"
)


def _good(lrn: int) -> str:
    return GOOD.replace("97061800", str(lrn), 1)


def _read_csv(path: Path, size: int = 1000) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    reader, lines = CsvReader.open(path, kcs_mapping())
    frames: list[pl.DataFrame] = []
    problems: list[tuple[int, str]] = []
    for batch in reader.batches(lines, size=size):
        frames.append(batch.records)
        problems.extend((p.line, p.reason) for p in batch.problems)
    return pl.concat(frames), problems


def test_kcs_csv_lines_numbered_and_malformed_lines_reported(tmp_path: Path) -> None:
    lines = [
        HEADER,
        _good(1),
        _good(2).replace(",30,", ',"30,', 1),  # unclosed quote
        _good(3),
        ",".join(_good(4).split(",")[:9]),  # truncated
        "",
        _good(5) + ",extra",  # one field too many
        _good(6),
    ]
    path = tmp_path / "kcs.csv"
    path.write_text("\n".join(lines) + "\n")
    records, problems = _read_csv(path, size=2)
    assert records["line"].to_list() == [2, 4, 8]
    assert records["lrn"].to_list() == ["1", "3", "6"]
    assert dict(problems) == {
        3: "line has an unclosed quote in field 'Office ID'; a record cannot span lines",
        5: "line has 9 fields where the header has 22 (a truncated line or a stray delimiter)",
        7: "line has 23 fields where the header has 22 (a truncated line or a stray delimiter)",
    }


def test_a_record_spanning_lines_quarantines_each_line_it_would_swallow(tmp_path: Path) -> None:
    # No field of these layouts holds a line break: a quoted field across lines is each line's problem.
    header = HEADER + ",Goods Description"
    path = tmp_path / "multi.csv"
    path.write_text(f'{header}\n{_good(1)},"wooden\nplanks, sawn"\n{_good(2)},bolts\n')
    records, problems = _read_csv(path)
    assert records["line"].to_list() == [4]
    assert problems == [
        (
            2,
            "line opens a quote in field 'Goods Description' that closes on line 3: a record cannot span"
            " lines (no field of this layout holds a line break)",
        ),
        (
            3,
            "line is inside a record that spans lines 2 to 3 (a quote opens in field 'Goods Description'"
            " on line 2); a record cannot span lines",
        ),
    ]


def test_undecodable_and_nul_lines_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "bytes.csv"
    path.write_bytes(f"{HEADER}\n{_good(1)}\n".encode() + b"\xff\xfe broken\n" + b"a\x00b\n")
    records, problems = _read_csv(path)
    assert records.height == 1
    assert problems == [(3, "line is not valid utf-8 text"), (4, "line contains a NUL character")]


def test_source_errors_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        CsvReader.open(tmp_path / "missing.csv", kcs_mapping())
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(SourceError, match="is empty"):
        CsvReader.open(tmp_path / "empty.csv", kcs_mapping())
    (tmp_path / "other.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(SourceError, match=r"is not a CSV of the kcs layout: its header lacks Declaration ID"):
        CsvReader.open(tmp_path / "other.csv", kcs_mapping())


@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.sampled_from([_good(9), _good(10).replace(",", ',"', 1), '"', ",,,", _good(11) + '"']),
            st.builds(_good, st.integers(min_value=1, max_value=10**9)),
        ),
        max_size=30,
    )
)
def test_fuzz_every_line_is_a_record_or_a_problem(
    tmp_path_factory: pytest.TempPathFactory, body: list[bytes | str]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.csv"
    chunks = [item if isinstance(item, bytes) else item.encode() for item in body]
    # One physical line per item: a random item's own newlines would make it several lines.
    chunks = [chunk.replace(b"\n", b" ").replace(b"\r", b" ") for chunk in chunks]
    path.write_bytes(HEADER.encode() + b"\n" + b"\n".join(chunks) + b"\n")
    reader, lines = CsvReader.open(path, kcs_mapping())
    seen: list[int] = []
    for batch in reader.batches(lines, size=7):
        seen.extend(batch.records["line"].to_list())
        seen.extend(p.line for p in batch.problems)
        validated = validate_records(batch.records.drop("raw"), labels=reader.labels())
        assert validated.rows["line"].n_unique() + validated.problems.height == batch.records.height
    non_blank = [number for number, chunk in enumerate(chunks, start=2) if chunk.strip(b" \t\r\n\f\v")]
    # Every non-blank line comes out exactly once, as a record or a problem: none inside another.
    assert sorted(seen) == non_blank


def _validate_one(**fields: str) -> tuple[str | None, str | None]:
    base = dict(
        zip(
            ["lrn", "declared_on", "office", "hs_code", "customs_value"],
            ["X1", "2024-01-02", "30", "440890", "10"],
            strict=True,
        )
    )
    row = {"line": 2, **base, **fields}
    frame = pl.DataFrame([row], schema=dict.fromkeys(row, pl.String)).with_columns(
        pl.col("line").cast(pl.Int64)
    )
    result = validate_records(frame, defaults={"currency": "KRW"})
    if result.problems.is_empty():
        return None, None
    _, field, reason = result.problems.row(0)
    return field, reason


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"hs_code": "12AB56"}, "hs_code", "'12AB56' is not an HS code of 6 to 10 digits"),
        ({"hs_code": "12345"}, "hs_code", "'12345' is not an HS code of 6 to 10 digits"),
        ({"departure_country": "QQ"}, "departure_country", "'QQ' is not an ISO 3166 country code"),
        ({"transit_countries": "NL QQ"}, "transit_countries", "'QQ' is not an ISO 3166 country code"),
        ({"net_mass": "-12.5"}, "net_mass", "'-12.5' is negative; it must be 0 or more"),
        ({"customs_value": "abc"}, "customs_value", "'abc' is not a number"),
        ({"declared_on": "2024-13-45"}, "declared_on", "'2024-13-45' is not a date in the format %Y-%m-%d"),
        ({"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code"),
        ({"office": ""}, "office", "is missing"),
        ({"process_type": "x" * 17}, "process_type", "is longer than 16 characters"),
        ({"fraud": "maybe"}, "fraud", "'maybe' is not a yes/no value (0 or 1)"),
        ({"hs_code": "4408.90", "transit_countries": "nl  de"}, None, None),
    ],
)
def test_validation_messages(fields: dict[str, str], field: str | None, reason: str | None) -> None:
    assert _validate_one(**fields) == (field, reason)


def test_batches_of_one_shape_validated_with_different_mappings_keep_their_own_rules() -> None:
    # the checks are built once per batch shape and mapping: each mapping must still get its own
    row = {"line": "2", "lrn": "X1", "declared_on": "02/01/2024", "office": "30", "hs_code": "440890"}
    frame = pl.DataFrame([row], schema=dict.fromkeys(row, pl.String)).with_columns(
        pl.col("line").cast(pl.Int64)
    )
    first = validate_records(
        frame, date_format="%d/%m/%Y", defaults={"currency": "KRW"}, constants={"customs_value": "5"}
    )
    assert first.problems.is_empty()
    assert first.rows.select("declared_on", "currency", "customs_value").row(0) == (
        date(2024, 1, 2),
        "KRW",
        5.0,
    )
    labelled = validate_records(frame, date_format="%d/%m/%Y", labels={"customs_value": "Value"})
    assert labelled.problems.select("field", "reason").row(0) == ("Value", "is missing")
    strict = validate_records(frame, defaults={"currency": "KRW"}, constants={"customs_value": "5"})
    assert strict.rows.is_empty()
    assert strict.problems.select("field", "reason").row(0) == (
        "declared_on",
        "'02/01/2024' is not a date in the format %Y-%m-%d",
    )


def _declaration(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "lrn": "J1",
        "date": "2024-01-02",
        "office": "30",
        "transport": {"departure_country": "CN", "transit_countries": ["SG"]},
        "parties": {"importer": {"id": "IMP1", "name": "Acme"}},
        "items": [{"hs_code": "440890", "customs_value": 10, "currency": "EUR", "net_mass": 5}],
    }
    record.update(changes)
    return record


@pytest.mark.parametrize(
    ("changes", "csv_fields"),
    [
        ({"transport": {"departure_country": "QQ"}}, {"departure_country": "QQ"}),
        ({"items": [{"hs_code": "12AB56", "customs_value": 1, "currency": "EUR"}]}, {"hs_code": "12AB56"}),
        (
            {"items": [{"hs_code": "440890", "customs_value": 1, "currency": "EUR", "net_mass": -3}]},
            {"net_mass": "-3"},
        ),
        ({"items": [{"hs_code": "440890", "customs_value": 1, "currency": "XYZ"}]}, {"currency": "XYZ"}),
    ],
)
def test_json_and_csv_give_the_same_reason(
    tmp_path: Path, changes: dict[str, object], csv_fields: dict[str, str]
) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(_declaration(**changes)) + "\n")
    reader, lines = JsonLinesReader.open(path)
    [batch] = list(reader.batches(lines, size=10))
    [problem] = batch.problems
    assert problem.line == 1
    assert problem.reason == _validate_one(**csv_fields)[1]


def test_jsonl_reader_flattens_items_and_reads_outcomes(tmp_path: Path) -> None:
    two_items = _declaration(
        items=[
            {"hs_code": "440890", "customs_value": 10, "currency": "EUR"},
            {"item_no": 2, "hs_code": "690722", "customs_value": 3, "currency": "EUR"},
        ]
    )
    outcome = {"lrn": "J1", "recorded_on": "2024-02-01", "fraud": True, "critical_fraud": 1}
    path = tmp_path / "mixed.jsonl"
    path.write_text(f"{json.dumps(two_items)}\n\n{json.dumps(outcome)}\n[1, 2]\n{{broken\n")
    reader, lines = JsonLinesReader.open(path)
    [batch] = list(reader.batches(lines, size=10))
    assert batch.records["line"].to_list() == [1, 1]
    assert batch.records["hs_code"].to_list() == ["440890", "690722"]
    assert batch.records["importer_name"].to_list() == ["Acme", "Acme"]
    assert [o.critical_fraud for o in batch.outcomes] == [1]
    assert batch.outcome_lines == [3]
    assert [(p.line, p.reason.split(" (")[0]) for p in batch.problems] == [
        (4, "line is not a JSON object"),
        (5, "line is not valid JSON"),
    ]


def test_mapping_file_errors_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("columns:\n  lrn: No\n  colour: Paint\n")
    with pytest.raises(ConfigError, match="unknown fields \\['colour'\\]"):
        load_mapping(path)
    path.write_text("columns:\n  lrn: No\n")
    with pytest.raises(ConfigError, match="required field 'declared_on'"):
        load_mapping(path)
    path.write_text("columns: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_mapping(path)


@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.builds(
                json.dumps,
                st.dictionaries(
                    st.sampled_from(["lrn", "date", "items", "recorded_on"]), st.text(max_size=5)
                ),
            ),
            st.just(json.dumps(_declaration())),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fuzz_jsonl_every_line_is_a_record_or_a_problem(
    tmp_path_factory: pytest.TempPathFactory, body: list[bytes | str]
) -> None:
    chunks = [(item if isinstance(item, bytes) else item.encode()).replace(b"\n", b" ") for item in body]
    if not any(chunk.strip() for chunk in chunks):
        return
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.jsonl"
    path.write_bytes(b"\n".join(chunks) + b"\n")
    reader, lines = JsonLinesReader.open(path)
    seen: list[int] = []
    for batch in reader.batches(lines, size=4):
        seen.extend(batch.records["line"].unique().to_list())
        seen.extend(p.line for p in batch.problems)
        seen.extend(batch.outcome_lines)
    assert sorted(seen) == [n for n, chunk in enumerate(chunks, start=1) if chunk.strip()]
