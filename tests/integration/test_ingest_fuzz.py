"""Fuzzing the whole ingest (reader → validation → store) on both databases: no input crashes it, and every
non-blank line of a file is stored, a duplicate or quarantined, never hidden inside another record (#22).

Small by default (``BORDERWATCH_FUZZ_EXAMPLES``: 15 examples per reader and database);
``bench/fuzz_ingest.py`` runs it for minutes with many more.
"""

from __future__ import annotations

import json
import os
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from borderwatch.ingest.frame import KCS_COLUMNS
from borderwatch.ingest.models import QuarantineRow
from borderwatch.ingest.service import IngestSummary, ingest_file

EXAMPLES = int(os.environ.get("BORDERWATCH_FUZZ_EXAMPLES", "15"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
_FILES = count()

KCS_TEMPLATE = (
    "{lrn},2021-01-01,40,B,11,11,11,40,76NV527,SHHZGSL,249LO7A,,760711,CN,CN,7.2,FCN1,E,901.2,4.5,0,0"
)
# Values a careless clerk or a hostile sender puts in a field.
NASTY = [
    "",
    " ",
    '"',
    '""',
    '"x',
    'x"',
    ",",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "2021-02-30",
    "9" * 5000,
    "1e999",
    "-1",
    "NaN",
    "inf",
    "-0",
    "99999999999999999999",
    "\u200b",
    "\ufeff",
    "\u00ad",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\uff2c\uff11",
    "\ud800",
    "\U0001f600",
    "\u2028",
    "x" * 300,
]
nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))


@st.composite
def csv_line(draw: st.DrawFn) -> bytes:
    """One physical line: a KCS record, mutated or not, or garbage."""
    kind = draw(st.sampled_from(["valid", "field", "quote", "open", "close", "text", "bytes"]))
    line = KCS_TEMPLATE.format(lrn=draw(st.integers(10_000_000, 10_000_400)))
    if kind in {"open", "close"}:
        # A stray pair: a quote opening a field on one line and closing the same field on a later one.
        fields = line.split(",")
        at = draw(st.sampled_from([9, 16]))
        fields[at] = f'"{fields[at]}' if kind == "open" else f'{fields[at]}"'
        line = ",".join(fields)
    elif kind == "field":
        fields = line.split(",")
        fields[draw(st.integers(0, len(fields) - 1))] = draw(nasty_text)
        line = ",".join(fields)
    elif kind == "quote":
        at = draw(st.integers(0, len(line)))
        line = f'{line[:at]}"{line[at:]}'
    elif kind == "text":
        line = draw(st.text(max_size=60))
    data = draw(st.binary(max_size=60)) if kind == "bytes" else line.encode("utf-8", "surrogatepass")
    return data.replace(b"\n", b" ")


def _declaration(lrn: str) -> dict[str, Any]:
    return {
        "lrn": lrn,
        "date": "2026-02-03",
        "office": "30",
        "transport": {"departure_country": "CN", "container_ids": ["MSCU1234567"]},
        "parties": {"importer": {"id": "IMP1", "name": "Acme"}},
        "items": [{"hs_code": "440890", "customs_value": 100, "currency": "USD", "description": "planks"}],
        "documents": [{"type": "invoice", "number": "INV-1"}],
    }


PATHS = [
    ("lrn",),
    ("date",),
    ("office",),
    ("transport", "departure_country"),
    ("transport", "container_ids"),
    ("parties", "importer", "id"),
    ("parties", "importer", "name"),
    ("parties",),
    ("items", 0, "hs_code"),
    ("items", 0, "customs_value"),
    ("items", 0, "item_no"),
    ("items", 0, "description"),
    ("items",),
    ("documents", 0, "number"),
    ("extra",),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | nasty_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
RAW_LINES = [
    '{"lrn": "R1", "items": ' + "9" * 5000 + "}",
    "[" * 1000 + "]" * 1000,
    '{"a": ' * 50 + "1" + "}" * 50,
    '{"lrn": "R2", "date": "2026-02-03", "office": "30", "items": [1e999]}',
    '{"lrn": "R3", "recorded_on": "2026-02-03", "fraud": true, "findings": "\\u0000"}',
    '{"lrn": "\\ud800", "date": "2026-02-03", "office": "30", "items": []}',
]


@st.composite
def jsonl_line(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["valid", "field", "outcome", "raw", "text", "bytes"]))
    record: Any = _declaration(f"J{draw(st.integers(0, 400))}")
    if kind == "field":
        *parents, last = draw(st.sampled_from(PATHS))
        target = record
        for part in parents:
            target = target[part]
        target[last] = draw(json_values)
    elif kind == "outcome":
        record = {"lrn": record["lrn"], "recorded_on": draw(st.sampled_from(["2026-02-05", "0000-01-01"]))}
        record |= {
            "fraud": draw(st.booleans() | st.sampled_from(["yes", None])),
            "findings": draw(nasty_text),
        }
    if kind == "raw":
        return draw(st.sampled_from(RAW_LINES)).encode()
    if kind == "text":
        return draw(st.text(max_size=60)).encode("utf-8", "surrogatepass").replace(b"\n", b" ")
    if kind == "bytes":
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    return json.dumps(record, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def _non_blank(lines: list[bytes], first: int) -> list[int]:
    return [number for number, line in enumerate(lines, start=first) if line.strip(b" \t\r\n\f\v")]


def _check_balance(engine: Engine, path: Path, summary: IngestSummary, expected: list[int]) -> None:
    assert summary.read == len(expected)
    assert summary.read == (
        summary.stored
        + summary.amended
        + summary.duplicates
        + summary.quarantined
        + summary.already_quarantined
        + summary.outcome_lines
    )
    with engine.connect() as connection:
        lines = (
            connection.execute(select(QuarantineRow.line).where(QuarantineRow.source_file == str(path)))
            .scalars()
            .all()
        )
    assert len(lines) == len(set(lines)) == summary.quarantined
    assert set(lines) <= set(expected)


def _file(tmp_path_factory: pytest.TempPathFactory, suffix: str, lines: list[bytes]) -> Path:
    path = tmp_path_factory.getbasetemp() / f"fuzz_{os.getpid()}_{next(_FILES)}{suffix}"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@FUZZ
@given(lines=st.lists(csv_line(), min_size=1, max_size=25))
def test_fuzz_csv_every_line_stored_duplicate_or_quarantined(
    engine: Engine, tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]
) -> None:
    expected = _non_blank(lines, first=2)
    if not expected:
        return
    path = _file(tmp_path_factory, ".csv", [",".join(KCS_COLUMNS).encode(), *lines])
    _check_balance(engine, path, ingest_file(engine=engine, path=path, batch_size=7), expected)


@FUZZ
@given(lines=st.lists(jsonl_line(), min_size=1, max_size=25))
def test_fuzz_json_lines_every_line_stored_duplicate_or_quarantined(
    engine: Engine, tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]
) -> None:
    expected = _non_blank(lines, first=1)
    if not expected:
        return
    path = _file(tmp_path_factory, ".jsonl", lines)
    _check_balance(engine, path, ingest_file(engine=engine, path=path, batch_size=7), expected)
