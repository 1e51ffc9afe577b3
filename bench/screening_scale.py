"""Screening at scale: the real OFAC and UN lists inside a synthetic collection of 10k, 100k and 1M entries.

    .venv/bin/python bench/screening_scale.py [--sizes 10000,100000,1000000] [--negatives 3000]

For each size: index build time and the process's resident memory after it; an incremental reload (1 % of
the entries changed, 0.1 % removed) re-indexing only those; re-screening the known parties (the negatives)
on that update against the changed entries only, against a full re-screen; recall at a false-positive
rate of 0.5 % on the 1,000 treated OFAC names of bench/screening.py against ``--negatives`` non-listed
persons (also without the negatives whose name is a listed name, parts in any order: the synthetic
collection lists some common names), and recall and FPR at the shipped threshold; queries/s in one
process and with two (fork), and per CPU second in one. The brute-force baseline (rapidfuzz
``token_sort_ratio`` over every listed name, ``process.cdist`` on both cores) is timed on 200 of the same
queries at each size. Other helpers share the 2 cores: the load average is printed beside the rates.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process, utils
from rich.console import Console
from rich.table import Table

from borderwatch.screening.entries import Alias
from borderwatch.screening.evaluate import recall_at_fpr
from borderwatch.screening.matcher import DEFAULT_THRESHOLD, Matcher, Query
from borderwatch.screening.noise import noisy_queries
from borderwatch.screening.normalize import normalize_name
from borderwatch.screening.parsers import read_ofac, read_un_consolidated
from borderwatch.screening.synthetic import synthetic_entries

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BORDERWATCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "bench" / "results" / "screening_scale.json"
_MATCHER: Matcher | None = None


def _rss_mib() -> float:
    with Path("/proc/self/statm").open() as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _chunk(queries: list[Query]) -> list[dict[str, float]]:
    assert _MATCHER is not None
    return [{m.entity_id: m.score for m in _MATCHER.screen(q, threshold=0.3, limit=10)} for q in queries]


def _screen(queries: list[Query], workers: int) -> tuple[list[dict[str, float]], float]:
    start = time.perf_counter()
    if workers <= 1:
        return _chunk(queries), time.perf_counter() - start
    parts = [queries[i : i + 250] for i in range(0, len(queries), 250)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = [r for part in pool.map(_chunk, parts) for r in part]
    return results, time.perf_counter() - start


def main() -> None:
    global _MATCHER  # noqa: PLW0603 - the worker processes inherit it by fork
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--negatives", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    console = Console(width=160)
    lists = DATA / "watchlists"
    real = read_ofac([lists / f"ofac_{p}.csv" for p in ("sdn", "alt", "add")]) + read_un_consolidated(
        lists / "un_consolidated.xml"
    )
    noisy = noisy_queries(real, count=1000, seed=14)
    negatives = pl.read_csv(DATA / "screening-bench" / "negatives_global.csv", infer_schema=False)
    neg_names = negatives.sample(args.negatives, seed=7)["full_name"].to_list()
    pos_queries = [Query(n.query, kind=n.kind) for n in noisy]
    neg_queries = [Query(n, kind="person") for n in neg_names]
    rows: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        _MATCHER = None
        before = _rss_mib()
        start = time.perf_counter()
        matcher = Matcher(real)
        matcher.update(synthetic_entries(max(size - len(real), 0), seed=size))
        build = time.perf_counter() - start
        memory = _rss_mib() - before
        # An incremental reload: 1 % changed (an alias added), 0.1 % removed; only those are re-indexed.
        changed = [
            replace(e, aliases=(*e.aliases, Alias(f"{e.name} X")))
            for e in islice(synthetic_entries(max(size - len(real), 0), seed=size), 0, size // 100)
        ]
        removed = [f"synthetic:{i}" for i in range(size // 100, size // 100 + size // 1000)]
        start = time.perf_counter()
        reindexed = matcher.update(changed, removed=removed)
        reload_s = time.perf_counter() - start
        _MATCHER = matcher
        pos, _ = _screen(pos_queries, 1)
        cpu = time.process_time()
        neg, single_s = _screen(neg_queries, 1)
        single_cpu = time.process_time() - cpu
        _, multi_s = _screen(neg_queries, args.workers)
        # Re-screening on a list update (rescreen.rescreen_changes): the known parties (here the negatives)
        # against a matcher over the changed entries only, against a full re-screen over every entry.
        start = time.perf_counter()
        delta = Matcher(changed)
        for query in neg_queries:
            delta.screen(query)
        delta_s = time.perf_counter() - start
        pos_scores = [r.get(n.entity_id, 0.0) for r, n in zip(pos, noisy, strict=True)]
        neg_scores = [max(r.values(), default=0.0) for r in neg]
        at = recall_at_fpr(pos_scores, neg_scores, 0.005)
        # A negative whose name *is* a listed name (same parts, any order) is no longer a non-listed person:
        # the synthetic collection draws common given and family names, so it lists some of them.
        listed = {" ".join(sorted(text.split())) for text in matcher._name_text}
        collides = [" ".join(sorted(normalize_name(q.name).tokens)) in listed for q in neg_queries]
        others = [score for score, c in zip(neg_scores, collides, strict=True) if not c]
        clean = recall_at_fpr(pos_scores, others, 0.005)
        del listed
        names = [utils.default_process(a.name) for e in matcher.entries for a in e.names()]
        sample = [utils.default_process(q.name) for q in neg_queries[:200]]
        start, cpu = time.perf_counter(), time.process_time()  # process_time: both threads' CPU
        for i in range(0, len(sample), 50):
            process.cdist(sample[i : i + 50], names, scorer=fuzz.token_sort_ratio, dtype=np.uint8, workers=-1)
        brute_qps = len(sample) / (time.perf_counter() - start)
        brute_cpu_qps = len(sample) / (time.process_time() - cpu)
        del names
        row = {
            "entries": matcher.entry_count,
            "names": matcher.name_count,
            "build_seconds": round(build, 1),
            "memory_mib": round(memory, 0),
            "reload_reindexed_entries": reindexed + len(removed),
            "reload_seconds": round(reload_s, 2),
            "rescreen_delta_seconds": round(delta_s, 2),
            "rescreen_full_seconds": round(single_s, 2),
            "recall_at_fpr_0.005": round(at.recall, 4),
            "fpr": round(at.fpr, 4),
            "negatives_equal_to_a_listed_name": sum(collides),
            "recall_at_fpr_0.005_without_them": round(clean.recall, 4),
            "recall_at_default_threshold": round(
                float((np.asarray(pos_scores) >= DEFAULT_THRESHOLD).mean()), 4
            ),
            "fpr_at_default_threshold": round(float((np.asarray(neg_scores) >= DEFAULT_THRESHOLD).mean()), 4),
            "queries_per_second_1_process": round(len(neg_queries) / single_s, 1),
            "queries_per_cpu_second": round(len(neg_queries) / single_cpu, 1),
            f"queries_per_second_{args.workers}_processes": round(len(neg_queries) / multi_s, 1),
            "brute_force_queries_per_second": round(brute_qps, 1),
            "brute_force_queries_per_cpu_second": round(brute_cpu_qps, 1),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        rows.append(row)
        console.print(row)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"sizes": rows}, indent=2) + "\n")  # each size as soon as it is done
    table = Table(title="Screening at scale (real OFAC + UN inside a synthetic collection)")
    for column in rows[0]:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int | float) else str(v) for v in row.values()))
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"sizes": rows}, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
