"""Screening benchmark: borderwatch, brute-force rapidfuzz and OpenSanctions' matcher on the same queries.

    .venv/bin/python bench/screening.py [--quick] [--noisy 1000] [--nk-negatives 10000] [--workers 2]

Lists: the shipped OFAC SDN files (sdn, alt, add) and the UN consolidated list. Positive queries:
- ``ofac-noise``: ``--noisy`` primary names of OFAC persons and organisations (half each), typed with the
  data-entry noise of ``borderwatch.screening.noise`` (spaces moved or lost, parts merged or split, letters
  swapped, dropped, doubled, inserted or replaced; one or two edits; parts reordered), seed 14;
- ``ofac-held-out``: another draw of the same noise (seed 214), on which no setting was chosen;
- ``un-treated``: the UN names of ``screening-bench/positives_un_treated.csv`` (typos, reordering, lost
  diacritics).
Negative queries: the 50,000 non-listed persons of ``negatives_global.csv`` (``--quick``: 5,000). Every
query is screened by name only (persons as persons, organisations as organisations), for all methods.

Methods:
- borderwatch: ``Matcher.screen``; a query's score is its best match's score, a positive's the score of its
  listed entry (0 when not among the matches).
- brute force: rapidfuzz ``token_sort_ratio`` of the query against every listed name (``process.cdist``,
  ``workers=-1``: both cores), the best per entry.
- nomenklatura ``logic-v2`` (OpenSanctions, MIT) scoring the 10 entries that brute force ranks first for
  each query (it has no index of its own); on the first ``--nk-negatives`` negatives only, for time.
Reported: recall at false-positive rates of 0.1 %, 0.5 % and 1 % (the threshold chosen on the negatives),
best F1 on labelled name pairs (``evaluate.labelled_pairs``), and queries/s. Other helpers share the 2 cores:
wall-clock rates are given with the load average beside them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from rapidfuzz import fuzz, process, utils
from rich.console import Console
from rich.table import Table

from borderwatch.screening.compare import compare_names
from borderwatch.screening.entries import WatchEntry
from borderwatch.screening.evaluate import NamePair, best_f1, labelled_pairs, recall_at_fpr
from borderwatch.screening.matcher import DEFAULT_THRESHOLD, Matcher, Query
from borderwatch.screening.noise import noisy_queries
from borderwatch.screening.normalize import normalize_name
from borderwatch.screening.parsers import read_ofac, read_un_consolidated

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("BORDERWATCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "bench" / "results" / "screening.json"
FPRS = (0.001, 0.005, 0.01)
NK_CANDIDATES = 10

_MATCHER: Matcher | None = None
_NK: Any = None


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _bw_chunk(queries: list[Query]) -> list[dict[str, float]]:
    assert _MATCHER is not None
    return [{m.entity_id: m.score for m in _MATCHER.screen(q, threshold=0.3, limit=10)} for q in queries]


def _parallel(func: Callable[[list[Any]], list[Any]], items: list[Any], workers: int) -> list[Any]:
    if workers <= 1:
        return func(items)
    chunks = [items[i : i + 250] for i in range(0, len(items), 250)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [r for part in pool.map(func, chunks) for r in part]


def run_borderwatch(queries: list[Query], workers: int) -> tuple[list[dict[str, float]], float, float]:
    start, cpu = time.perf_counter(), _cpu_seconds()
    results = _parallel(_bw_chunk, queries, workers)
    return results, time.perf_counter() - start, _cpu_seconds() - cpu


class BruteForce:
    """token_sort_ratio of each query against every listed name; best per entry."""

    def __init__(self, entries: Sequence[WatchEntry]) -> None:
        self.names: list[str] = []
        owners: list[int] = []
        self.entity_ids = [e.entity_id for e in entries]
        for index, entry in enumerate(entries):
            for alias in entry.names():
                self.names.append(utils.default_process(alias.name))
                owners.append(index)
        self.owner = np.asarray(owners, dtype=np.int32)
        self.index_of = {e: i for i, e in enumerate(self.entity_ids)}

    def run(
        self, queries: Sequence[str], expected: Sequence[str | None]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], list[list[int]]]:
        """Best score, score of the expected entry, and the top entries of each query."""
        best, right, top = [], [], []
        for start in range(0, len(queries), 1000):
            chunk = [utils.default_process(q) for q in queries[start : start + 1000]]
            matrix = process.cdist(
                chunk, self.names, scorer=fuzz.token_sort_ratio, dtype=np.uint8, workers=-1
            )
            best.append(matrix.max(axis=1).astype(np.float64) / 100)
            for row, exp in zip(matrix, expected[start : start + 1000], strict=True):
                if exp is not None:
                    right.append(float(row[self.owner == self.index_of[exp]].max()) / 100)
                else:
                    right.append(0.0)
                signed = -row.astype(np.int16)  # uint8 would wrap when negated
                order = np.argpartition(signed, 60)[:60]
                entries: list[int] = []
                for name_index in order[np.argsort(signed[order], kind="stable")]:
                    owner = int(self.owner[name_index])
                    if owner not in entries:
                        entries.append(owner)
                    if len(entries) == NK_CANDIDATES:
                        break
                top.append(entries)
        return np.concatenate(best), np.asarray(right), top


class Nomenklatura:
    """OpenSanctions' logic-v2 over FollowTheMoney entities built from the listed entries."""

    def __init__(self, entries: Sequence[WatchEntry]) -> None:
        from followthemoney import model
        from nomenklatura.matching import get_algorithm
        from nomenklatura.matching.types import ScoringConfig

        self.model = model
        self.algorithm: Any = get_algorithm("logic-v2")
        self.config = ScoringConfig.defaults()
        self.entries = entries
        self._cache: dict[int, Any] = {}

    @staticmethod
    def schema(kind: str | None) -> str:
        return {"person": "Person", "organization": "Organization", "vessel": "Vessel"}.get(
            kind or "", "LegalEntity"
        )

    def entity(self, names: Sequence[str], kind: str | None, key: str) -> Any:
        entity = self.model.make_entity(self.schema(kind))
        entity.id = key
        entity.add("name", list(names))
        return entity

    def listed(self, index: int) -> Any:
        if index not in self._cache:
            entry = self.entries[index]
            names = [a.name for a in entry.names() if a.name]
            self._cache[index] = self.entity(names, entry.kind, entry.entity_id)
        return self._cache[index]

    def score(self, left: str, right: str, kind: str) -> float:
        return float(
            self.algorithm.compare(
                self.entity([left], kind, f"q-{left}"), self.entity([right], kind, f"r-{right}"), self.config
            ).score
        )


def _nk_chunk(items: list[tuple[str, str | None, list[int]]]) -> list[dict[int, float]]:
    assert _NK is not None
    out = []
    for name, kind, candidates in items:
        # A fresh id per query: logic-v2 caches what it derives from an entity under its id.
        query = _NK.entity([name], kind, f"query-{name}-{kind}")
        out.append(
            {c: float(_NK.algorithm.compare(query, _NK.listed(c), _NK.config).score) for c in candidates}
        )
    return out


def _nk_pairs_chunk(pairs: list[NamePair]) -> list[float]:
    assert _NK is not None
    return [_NK.score(p.left, p.right, p.kind) for p in pairs]


def main() -> None:
    global _MATCHER, _NK  # noqa: PLW0603 - worker processes inherit them by fork
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5,000 negatives instead of 50,000")
    parser.add_argument("--noisy", type=int, default=1000, help="treated OFAC names")
    parser.add_argument("--nk-negatives", type=int, default=10_000)
    parser.add_argument("--no-nomenklatura", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threshold", type=float, default=DEFAULT_THRESHOLD, help="borderwatch's operating threshold"
    )
    args = parser.parse_args()
    console = Console(width=160)
    bench_dir, lists_dir = DATA / "screening-bench", DATA / "watchlists"
    if not bench_dir.exists():
        console.print(f"[red]no benchmark data at {bench_dir}[/]")
        raise SystemExit(2)

    entries = read_ofac([lists_dir / f"ofac_{p}.csv" for p in ("sdn", "alt", "add")]) + read_un_consolidated(
        lists_dir / "un_consolidated.xml"
    )
    start = time.perf_counter()
    matcher = Matcher(entries)
    build_s = time.perf_counter() - start
    _MATCHER = matcher

    noisy = noisy_queries(entries, count=args.noisy, seed=14)
    # A second draw no setting was chosen on (docs/decisions/screening-0002-trigram-channel.md).
    held_out = noisy_queries(entries, count=args.noisy, seed=214)
    treated = pl.read_csv(bench_dir / "positives_un_treated.csv", infer_schema=False)
    untreated = pl.read_csv(bench_dir / "positives_un_untreated.csv", infer_schema=False)
    negatives = pl.read_csv(bench_dir / "negatives_global.csv", infer_schema=False)
    if args.quick:
        negatives = negatives.sample(5000, seed=7)
    un_ids = {e.entity_id for e in entries if e.entity_id.startswith("un:")}
    by_name: dict[str, str] = {}
    for entry in entries:
        if entry.entity_id in un_ids:
            for alias in entry.names():
                by_name.setdefault(normalize_name(alias.name).text, entry.entity_id)
    un_pairs = [
        (q, by_name[normalize_name(u).text])
        for q, u in zip(treated["full_name"], untreated["full_name"], strict=True)
        if normalize_name(u).text in by_name
    ]
    sets: dict[str, list[tuple[str, str | None, str]]] = {
        "ofac-noise": [(n.query, n.kind, n.entity_id) for n in noisy],
        "ofac-held-out": [(n.query, n.kind, n.entity_id) for n in held_out],
        "un-treated": [(q, None, e) for q, e in un_pairs],
    }
    neg_names = negatives["full_name"].to_list()

    # borderwatch
    bw_pos: dict[str, np.ndarray] = {}
    for set_name, items in sets.items():
        results, _, _ = run_borderwatch([Query(name=q, kind=k) for q, k, _ in items], args.workers)
        bw_pos[set_name] = np.asarray([r.get(e, 0.0) for r, (_, _, e) in zip(results, items, strict=True)])
    neg_queries = [Query(name=n, kind="person") for n in neg_names]
    neg_results, bw_seconds, bw_cpu = run_borderwatch(neg_queries, args.workers)
    bw_neg = np.asarray([max(r.values(), default=0.0) for r in neg_results])
    _, single_seconds, _ = run_borderwatch(neg_queries[:3000], 1)
    bw_speed = {
        "queries_per_second": len(neg_queries) / bw_seconds,
        "queries_per_second_single_process": 3000 / single_seconds,
        "queries_per_cpu_second": len(neg_queries) / bw_cpu,
    }

    # brute force
    brute = BruteForce(entries)
    bf_pos: dict[str, np.ndarray] = {}
    bf_top: dict[str, list[list[int]]] = {}
    for set_name, items in sets.items():
        _, right, top = brute.run([q for q, _, _ in items], [e for _, _, e in items])
        bf_pos[set_name], bf_top[set_name] = right, top
    start, cpu = time.perf_counter(), _cpu_seconds()
    bf_neg, _, neg_top = brute.run(neg_names, [None] * len(neg_names))
    bf_seconds, bf_cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    bf_speed = {
        "queries_per_second": len(neg_names) / bf_seconds,
        "queries_per_cpu_second": len(neg_names) / bf_cpu,
    }

    # nomenklatura
    nk_pos: dict[str, np.ndarray] = {}
    nk_neg = np.zeros(0)
    nk_speed: dict[str, float] = {}
    if not args.no_nomenklatura:
        _NK = Nomenklatura(entries)
        for set_name, items in sets.items():
            work = [(q, k, bf_top[set_name][i]) for i, (q, k, _) in enumerate(items)]
            scored = _parallel(_nk_chunk, work, args.workers)
            nk_pos[set_name] = np.asarray(
                [r.get(brute.index_of[e], 0.0) for r, (_, _, e) in zip(scored, items, strict=True)]
            )
        count = min(args.nk_negatives, len(neg_names))
        work = [(neg_names[i], "person", neg_top[i]) for i in range(count)]
        start, cpu = time.perf_counter(), _cpu_seconds()
        scored = _parallel(_nk_chunk, work, args.workers)
        nk_seconds, nk_cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        nk_neg = np.asarray([max(r.values(), default=0.0) for r in scored])
        nk_speed = {
            "queries_per_second": count / nk_seconds,
            "queries_per_cpu_second": count / nk_cpu,
            "negatives": count,
        }

    # labelled pairs
    pair_noise = noisy_queries(entries, count=1000, seed=15)  # another draw than the queries above
    pairs = labelled_pairs(pair_noise, entries, neg_names, seed=15, negatives=1000)
    pairs += [
        NamePair(q, u, "person", True, "un treated")
        for q, u in zip(treated["full_name"], untreated["full_name"], strict=True)
    ][:400]
    labels = [p.same for p in pairs]
    pair_scores = {
        "borderwatch": [compare_names(p.left, p.right, p.kind) for p in pairs],
        "brute force": [
            fuzz.token_sort_ratio(p.left, p.right, processor=utils.default_process) / 100 for p in pairs
        ],
    }
    if _NK is not None:
        pair_scores["nomenklatura"] = _parallel(_nk_pairs_chunk, pairs, args.workers)

    result: dict[str, Any] = {
        "quick": args.quick,
        "listed_entries": len(entries),
        "listed_names": matcher.name_count,
        "index_build_seconds": round(build_s, 3),
        "negatives": len(neg_names),
        "positives": {k: len(v) for k, v in sets.items()},
        "pairs": {"same": int(sum(labels)), "different": len(labels) - int(sum(labels))},
        "load_average_1min": round(os.getloadavg()[0], 2),
        "methods": {},
    }
    methods: list[tuple[str, dict[str, np.ndarray], np.ndarray, dict[str, float]]] = [
        ("borderwatch", bw_pos, bw_neg, bw_speed),
        ("brute force", bf_pos, bf_neg, bf_speed),
    ]
    if nk_pos:
        methods.append(("nomenklatura", nk_pos, nk_neg, nk_speed))
    table = Table(
        title=f"Screening recall at a false-positive rate: {len(entries)} listed entries, "
        f"{len(neg_names):,} negatives (nomenklatura: {len(nk_neg):,})"
    )
    for column in ("method", "set", "@0.1%", "@0.5%", "@1%", "threshold @0.5%", "pairs best F1", "queries/s"):
        table.add_column(column, justify="left" if column in ("method", "set") else "right")
    for method, pos, neg, speed in methods:
        f1, f1_threshold = best_f1(pair_scores[method], labels)
        record: dict[str, Any] = {"speed": {k: round(v, 1) for k, v in speed.items()}}
        record["pairs_best_f1"] = round(f1, 4)
        record["pairs_best_f1_threshold"] = round(f1_threshold, 4)
        for set_name in [*sets, "all"]:
            scores = np.concatenate(list(pos.values())) if set_name == "all" else pos[set_name]
            at = [recall_at_fpr(scores.tolist(), neg.tolist(), f) for f in FPRS]
            record[set_name] = {
                f"recall_at_fpr_{f}": {
                    "recall": round(a.recall, 4),
                    "threshold": round(a.threshold, 4),
                    "fpr": round(a.fpr, 5),
                }
                for f, a in zip(FPRS, at, strict=True)
            }
            table.add_row(
                method,
                set_name,
                *(f"{a.recall:.4f}" for a in at),
                f"{at[1].threshold:.3f}",
                f"{f1:.3f}" if set_name == "all" else "",
                f"{speed.get('queries_per_second', 0):,.0f}" if set_name == "all" else "",
            )
        result["methods"][method] = record
    operating: dict[str, Any] = {
        "threshold": args.threshold,
        "fpr": round(float((bw_neg >= args.threshold).mean()), 5),
    }
    for set_name, scores in [*bw_pos.items(), ("all", np.concatenate(list(bw_pos.values())))]:
        operating[f"recall_{set_name}"] = round(float((scores >= args.threshold).mean()), 4)
    result["methods"]["borderwatch"]["operating_point"] = operating
    console.print(table)
    console.print(
        f"borderwatch at its threshold {args.threshold}: FPR {operating['fpr']:.4%}, recall "
        + ", ".join(f"{k} {operating[f'recall_{k}']:.4f}" for k in [*bw_pos, "all"])
        + f"; {bw_speed['queries_per_second']:,.0f} q/s with {args.workers} processes, "
        f"{bw_speed['queries_per_second_single_process']:,.0f} in one, "
        f"{bw_speed['queries_per_cpu_second']:,.0f} per CPU second; index built in {build_s:.1f} s; "
        f"brute force {bf_speed['queries_per_second']:,.0f} q/s (2 threads), "
        f"{bf_speed['queries_per_cpu_second']:,.0f} per CPU second; "
        f"load average {result['load_average_1min']}"
    )
    misses = [
        (q, e, round(float(s), 3))
        for (q, _, e), s in zip(sets["ofac-noise"], bw_pos["ofac-noise"], strict=True)
        if s < result["methods"]["borderwatch"]["all"]["recall_at_fpr_0.005"]["threshold"]
    ]
    result["borderwatch_misses_ofac_noise"] = misses[:50]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
