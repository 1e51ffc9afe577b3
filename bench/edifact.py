"""EDIFACT throughput against the CSV reader on the same declarations, and reconciliation against planted
discrepancies, in one run.

    .venv/bin/python bench/edifact.py [--declarations N] [--seed S]

Generated declarations (``borderwatch.synthetic``, KCS layout) are written twice: as the KCS CSV and, by
``synthetic.edifact.write_edifact``, as a CUSDEC interchange (one message per declaration) beside a CUSCAR
manifest with planted discrepancies. Arms, each on one core in this process:

- parse: CSV ``CsvReader`` batches + ``check_batch`` (the CSV path before the database) against EDIFACT
  ``EdifactReader`` batches + ``check_batch``; and pydifact's tokeniser alone on the same interchange (the
  tokeniser this reader does not use: decision ingest-0002);
- stored: ``ingest_file`` of each file into its own fresh SQLite database (read, validate, store);
- reconciliation: the manifest and declarations ingested, ``features.reconcile.stored_discrepancies``,
  precision and recall of each kind against the planted truth.

Prints tables and writes bench/results/edifact.json. The machine is shared (2 cores, other jobs): wall
rates count the time other jobs held the cores, so each arm also reports its CPU seconds
(``time.process_time``), and rates per CPU second are the rates on one core; the ratios measured in the same
run are the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from borderwatch.core.vocabulary import MANIFEST_DISCREPANCIES
from borderwatch.db.session import make_engine, migrate
from borderwatch.features.reconcile import stored_discrepancies
from borderwatch.ingest.edifact.reader import EdifactReader
from borderwatch.ingest.frame import read_kcs_frames
from borderwatch.ingest.mapping import kcs_mapping
from borderwatch.ingest.readers import CsvReader
from borderwatch.ingest.service import check_batch, ingest_file
from borderwatch.synthetic import GeneratorConfig, generate_traffic, write_traffic
from borderwatch.synthetic.edifact import write_edifact

RESULTS = Path(__file__).resolve().parent / "results" / "edifact.json"


@dataclass(frozen=True)
class Took:
    """Wall seconds and this process's CPU seconds (``time.process_time``: every thread of the process, so
    a rate per CPU second is at most the rate on one core). On a shared machine wall time also counts the
    time other jobs held the cores; CPU time does not."""

    wall: float
    cpu: float


def _timed(work: Any) -> tuple[Took, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    return Took(time.perf_counter() - started, time.process_time() - cpu), result


def _csv_parse(path: Path) -> int:
    mapping = kcs_mapping()
    reader, lines = CsvReader.open(path, mapping)
    rows = 0
    for batch in reader.batches(lines, size=5000):
        rows += check_batch(batch, mapping=mapping, labels=reader.labels()).validated.rows.height
    return rows


def _edifact_parse(path: Path) -> int:
    reader = EdifactReader.open(path)
    rows = 0
    for batch in reader.batches(path, size=5000):
        checked = check_batch(batch, mapping=_jsonl_mapping(), labels={})
        rows += checked.validated.rows.height
    return rows


def _jsonl_mapping() -> Any:
    from borderwatch.ingest.mapping import ColumnMapping

    columns = {n: n for n in ("lrn", "declared_on", "office", "hs_code", "customs_value", "currency")}
    return ColumnMapping(name="jsonl", constants={}, defaults={}, columns=columns)


def _tokenise(path: Path) -> int:
    from borderwatch.ingest.edifact.syntax import Message, read_messages

    with path.open("rb") as handle:
        return sum(len(m.segments) for m in read_messages(handle) if isinstance(m, Message))


def _pydifact(path: Path) -> int:
    from pydifact.control.characters import Characters
    from pydifact.tokenizer import Tokenizer

    text = path.read_text(encoding="latin-1")
    body = text[9:] if text.startswith("UNA") else text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tokens = Tokenizer().get_tokens(body, Characters())  # type: ignore[no-untyped-call]
        return len([token for token in tokens if token.type.name == "TERMINATOR"])


def _stored(path: Path, scratch: Path, name: str) -> tuple[Took, int]:
    engine = make_engine(f"sqlite:///{scratch / f'{name}.db'}")
    migrate(engine)
    seconds, summary = _timed(lambda: ingest_file(engine=engine, path=path))
    engine.dispose()
    return seconds, summary.stored


def _keys(found: pl.DataFrame) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {kind: set() for kind in MANIFEST_DISCREPANCIES}
    for kind, lrn, consignment, container in found.select(
        "kind", "lrn", "consignment_ref", "container_id"
    ).iter_rows():
        if kind == "undeclared_consignment":
            keys[kind].add(consignment)
        elif kind == "undeclared_container":
            keys[kind].add(f"{consignment} {container}")
        elif lrn is not None:
            keys[kind].add(lrn)
    return keys


def _reconciliation(folder: Path, scratch: Path, truth: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    engine = make_engine(f"sqlite:///{scratch / 'reconcile.db'}")
    migrate(engine)
    ingest_file(engine=engine, path=folder / "cuscar.edi")
    ingest_file(engine=engine, path=folder / "cusdec.edi")
    found = stored_discrepancies(
        engine, agency="default", since=date(1900, 1, 1), until=date(2999, 1, 1), as_of=date(2999, 1, 1)
    )
    engine.dispose()
    predicted = _keys(found)
    out: dict[str, dict[str, float]] = {}
    for kind in MANIFEST_DISCREPANCIES:
        planted, got = set(truth[kind]), predicted[kind]
        hit = len(planted & got)
        out[kind] = {
            "planted": len(planted),
            "found": len(got),
            "precision": hit / len(got) if got else float("nan"),
            "recall": hit / len(planted) if planted else float("nan"),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--declarations", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        csv_path = scratch / "traffic.csv"
        start = date(2026, 1, 1)
        write_traffic(
            generate_traffic(
                GeneratorConfig(declarations=args.declarations, seed=args.seed, start=start, days=60)
            ),
            csv_path,
        )
        declarations, _ = read_kcs_frames(csv_path)
        truth = write_edifact(declarations, scratch / "edi", seed=args.seed)
        edi_path = scratch / "edi" / "cusdec.edi"
        segments = sum(
            1 for line in edi_path.read_text(encoding="latin-1").splitlines() if line.endswith("'")
        )
        count = declarations["lrn"].n_unique()
        csv_parse, csv_rows = _timed(lambda: _csv_parse(csv_path))
        edi_parse, edi_rows = _timed(lambda: _edifact_parse(edi_path))
        pyd_seconds, pyd_segments = _timed(lambda: _pydifact(edi_path))
        own_seconds, own_segments = _timed(lambda: _tokenise(edi_path))
        csv_store, csv_stored = _stored(csv_path, scratch, "csv")
        edi_store, edi_stored = _stored(edi_path, scratch, "edi")
        recon = _reconciliation(scratch / "edi", scratch, truth["truth"])
    rows = [
        ("CSV reader + validation", csv_parse, csv_rows, None),
        ("EDIFACT reader + validation", edi_parse, edi_rows, segments),
        ("our tokeniser + envelope alone", own_seconds, None, own_segments),
        ("pydifact tokeniser alone", pyd_seconds, None, pyd_segments),
        ("CSV ingest_file (SQLite)", csv_store, csv_stored, None),
        ("EDIFACT ingest_file (SQLite)", edi_store, edi_stored, segments),
    ]
    print(f"{count:,} declarations, {segments:,} CUSDEC segments (machine shared: wall rates indicative)")
    print(f"{'arm':32} {'wall s':>7} {'cpu s':>7} {'decl/cpu s':>11} {'seg/wall s':>11} {'seg/cpu s':>10}")
    table = []
    for arm, took, done, segs in rows:
        per_decl = done / took.cpu if done else None
        per_seg, per_seg_cpu = (segs / took.wall, segs / took.cpu) if segs else (None, None)
        print(
            f"{arm:32} {took.wall:7.2f} {took.cpu:7.2f} {per_decl or 0:11,.0f}"
            f" {per_seg or 0:11,.0f} {per_seg_cpu or 0:10,.0f}"
        )
        table.append(
            {
                "arm": arm,
                "seconds": took.wall,
                "cpu_seconds": took.cpu,
                "declarations_per_s": done / took.wall if done else None,
                "declarations_per_cpu_s": per_decl,
                "segments_per_s": per_seg,
                "segments_per_cpu_s": per_seg_cpu,
            }
        )
    ratio_parse = (edi_rows / edi_parse.cpu) / (csv_rows / csv_parse.cpu)
    ratio_store = (edi_stored / edi_store.cpu) / (csv_stored / csv_store.cpu)
    print(f"EDIFACT/CSV declarations per CPU second: parse {ratio_parse:.2f}, stored {ratio_store:.2f}")
    goal = segments / edi_parse.cpu
    print(f"EDIFACT reader + validation: {goal:,.0f} segments per CPU second (goal 50,000 on one core)")
    tokeniser_ratio = (own_segments / own_seconds.cpu) / (pyd_segments / pyd_seconds.cpu)
    print(f"our tokeniser against pydifact's, segments per CPU second: {tokeniser_ratio:.1f}x")
    print(f"\n{'discrepancy':24} {'planted':>8} {'found':>6} {'precision':>9} {'recall':>7}")
    for kind, figures in recon.items():
        counts = f"{figures['planted']:8.0f} {figures['found']:6.0f}"
        print(f"{kind:24} {counts} {figures['precision']:9.3f} {figures['recall']:7.3f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "declarations": count,
                "segments": segments,
                "arms": table,
                "ratio_edifact_csv_parse": ratio_parse,
                "ratio_edifact_csv_stored": ratio_store,
                "ratio_tokeniser_pydifact": tokeniser_ratio,
                "reconciliation": recon,
                "note": "shared machine (2 cores, other jobs running): absolute rates indicative",
                "window_days": 7,
                "start": str(start),
                "end": str(start + timedelta(days=60)),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
