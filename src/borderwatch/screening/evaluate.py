"""Measures of a screening method: recall at a false-positive rate, F1 on labelled name pairs.

Pure functions over score arrays, so borderwatch and its peers are measured by the same code.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from borderwatch.screening.entries import WatchEntry
from borderwatch.screening.noise import NoisyName
from borderwatch.screening.normalize import normalize_name

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RecallAtFpr:
    target_fpr: float
    threshold: float
    recall: float
    fpr: float


def recall_at_fpr(positives: Sequence[float], negatives: Sequence[float], target_fpr: float) -> RecallAtFpr:
    """Recall of the lowest threshold whose false-positive rate is at most ``target_fpr``.

    ``positives`` are the scores given to the right listed entry of each positive query (0 when not
    proposed), ``negatives`` the best score of each negative query; a query is a hit when its score is at
    least the threshold.
    """
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.sort(np.asarray(negatives, dtype=np.float64))[::-1]
    allowed = int(np.floor(target_fpr * len(neg) + 1e-9))
    if allowed >= len(neg):
        threshold = float(neg[-1]) if len(neg) else 0.0
    else:
        # Just above the first negative that must not pass; ties at that score are excluded with it.
        threshold = float(np.nextafter(neg[allowed], np.inf))
    threshold = max(threshold, 1e-9)  # a score of zero is never a hit
    return RecallAtFpr(
        target_fpr=target_fpr,
        threshold=threshold,
        recall=float((pos >= threshold).mean()) if len(pos) else 0.0,
        fpr=float((neg >= threshold).mean()) if len(neg) else 0.0,
    )


def best_f1(scores: Sequence[float], labels: Sequence[bool]) -> tuple[float, float]:
    """The best F1 over all thresholds, and that threshold, of pair ``scores`` against ``labels``."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]  # the last index of each distinct score
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / max(int(y.sum()), 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    best = int(np.argmax(f1))
    return float(f1[best]), float(s[last[best]])


def f1_at(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> float:
    s = np.asarray(scores, dtype=np.float64) >= threshold
    y = np.asarray(labels, dtype=bool)
    tp = float((s & y).sum())
    return 2 * tp / max(float(s.sum() + y.sum()), 1.0)


@dataclass(frozen=True, slots=True)
class NamePair:
    left: str
    right: str
    kind: str
    same: bool
    source: str  # how the pair was made


def labelled_pairs(
    noisy: Sequence[NoisyName],
    entries: Sequence[WatchEntry],
    outsiders: Sequence[str],
    *,
    seed: int,
    negatives: int,
) -> list[NamePair]:
    """Same-name pairs (each treated name with its listed name) and as many different-name pairs.

    Different-name pairs are chosen without any matcher, so no method is favoured: two listed entries of
    the same kind that share a name part of four letters or more (``Ali Hassan`` / ``Hassan Rouhani``), and
    a non-listed person with a listed person sharing a part.
    """
    rng = random.Random(seed)
    pairs = [NamePair(n.query, n.source, n.kind, True, "treated") for n in noisy]
    by_token: dict[tuple[str, str], list[WatchEntry]] = defaultdict(list)
    for entry in entries:
        if entry.kind not in ("person", "organization"):
            continue
        for token in set(normalize_name(entry.name, entry.kind).tokens):
            if len(token) >= 4:
                by_token[(entry.kind, token)].append(entry)
    shared = [group for group in by_token.values() if len(group) >= 2]
    seen: set[tuple[str, str]] = set()
    made = 0
    while made < negatives // 2 and shared:
        group = rng.choice(shared)
        a, b = rng.sample(group, 2)
        key = (min(a.entity_id, b.entity_id), max(a.entity_id, b.entity_id))
        if key in seen or normalize_name(a.name, a.kind).text == normalize_name(b.name, b.kind).text:
            continue
        seen.add(key)
        pairs.append(NamePair(a.name, b.name, a.kind, False, "listed vs listed"))
        made += 1
    persons = [e for e in entries if e.kind == "person"]
    person_tokens: dict[str, list[WatchEntry]] = defaultdict(list)
    for entry in persons:
        for token in set(normalize_name(entry.name).tokens):
            if len(token) >= 4:
                person_tokens[token].append(entry)
    candidates = list(outsiders)
    rng.shuffle(candidates)
    for name in candidates:
        if made >= negatives:
            break
        tokens = [t for t in normalize_name(name).tokens if t in person_tokens]
        if not tokens:
            continue
        listed = rng.choice(person_tokens[rng.choice(tokens)])
        pairs.append(NamePair(name, listed.name, "person", False, "outsider vs listed"))
        made += 1
    return pairs
