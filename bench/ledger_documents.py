"""Forged and re-used certificates found by the document ledger, against a check without it, same run.

    .venv/bin/python bench/ledger_documents.py [--declarations 20000] [--share 0.02]

The synthetic generator (``synthetic.documents``) gives every declaration a certificate of origin and plants,
with ground truth, ``--share`` re-used, altered and unregistered ones each. The issuers that register put
their certificates in the ledger (through the ``LogWriter``); then the declarations arrive in batches of 500,
in order: each batch is checked (``ledger.documents.check_documents``: the findings scoring turns into
reasons) and then presented (appended through the ``LogWriter``). Baseline, in the same run: what an agency
sees without a ledger, its own declarations only: a certificate (issuer, number) stated on an earlier
declaration is flagged as re-used (it cannot tell an altered or an unregistered one). Reports precision and
recall per finding and the check's time per declaration; writes bench/results/ledger_documents.json.
Other helpers share the machine's 2 cores: the time is given with the load average beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from borderwatch.core.vocabulary import DOCUMENT_FINDINGS
from borderwatch.db.session import make_engine, migrate
from borderwatch.ledger import service
from borderwatch.ledger.documents import check_documents, present_documents, register_issued
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.writer import WriterPool
from borderwatch.synthetic.documents import plant_documents

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "ledger_documents.json"
BATCH = 500


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind in DOCUMENT_FINDINGS:
        f = {lrn for lrn, k in found if k == kind}
        t = {lrn for lrn, k in truth if k == kind}
        hit = len(f & t)
        out[kind] = {
            "planted": len(t),
            "flagged": len(f),
            "precision": hit / len(f) if f else 0.0,
            "recall": hit / len(t) if t else 0.0,
        }
    return out


def baseline(stated: pl.DataFrame) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    flagged = set()
    for lrn, issuer, number in stated.select("lrn", "issuer", "number").iter_rows():
        if (issuer, number) in seen:
            flagged.add((lrn, "reused"))
        seen.add((issuer, number))
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=20_000)
    parser.add_argument("--share", type=float, default=0.02)
    args = parser.parse_args()
    planted = plant_documents([f"D{i:07d}" for i in range(args.declarations)], seed=11, share=args.share)
    truth = set(planted.truth.drop_nulls("finding").iter_rows())
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'documents.db'}")
        migrate(engine)
        keys = KeyStore(Path(scratch))
        keys.generate_log_key("bench.example/documents")
        service.ensure_log(engine, agency="a", origin="bench.example/documents")
        pool = WriterPool(engine, signer=keys.log_signer)
        try:
            register_issued(keys, pool.writer("a"), planted.issued)
            checking = 0.0
            found: list[pl.DataFrame] = []
            for start in range(0, planted.stated.height, BATCH):
                batch = planted.stated.slice(start, BATCH)
                t0 = time.perf_counter()
                found.append(check_documents(engine, keys, agency="a", documents=batch))
                checking += time.perf_counter() - t0
                present_documents(engine, keys, pool, agency="a", documents=batch)
        finally:
            pool.close()
        engine.dispose()
    ledger_found = set(pl.concat(found).select("lrn", "finding").iter_rows())
    result: dict[str, Any] = {
        "declarations": args.declarations,
        "registered": planted.issued.height,
        "ledger": scores(ledger_found, truth),
        "baseline_without_ledger": scores(baseline(planted.stated), truth),
        "check_ms_per_declaration": 1000 * checking / args.declarations,
        "load_average_1min": load,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.declarations:,} declarations, {planted.issued.height:,} certificates registered")
    print(
        f"{'finding':<14}{'planted':>8}  {'ledger P':>8} {'ledger R':>8}  "
        f"{'no-ledger P':>11} {'no-ledger R':>11}"
    )
    for kind in DOCUMENT_FINDINGS:
        a, b = result["ledger"][kind], result["baseline_without_ledger"][kind]
        print(
            f"{kind:<14}{a['planted']:>8}  {a['precision']:>8.3f} {a['recall']:>8.3f}  "
            f"{b['precision']:>11.3f} {b['recall']:>11.3f}"
        )
    print(
        f"check: {result['check_ms_per_declaration']:.2f} ms a declaration "
        f"(load average {load:.1f}, 2 cores shared with other work); wrote {RESULTS.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
