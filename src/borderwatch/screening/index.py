"""The candidate index: which listed names are worth comparing with a query, without scanning the list.

Two levels, so that a list of a million entries stays small and a query stays cheap:

1. **Vocabulary**: every distinct name part (token) gets an id; its blocking keys point to token ids, not to
   names. The keys of a token are its *symmetric one-deletion neighbourhood* (the token and the token with
   any one letter removed: two tokens one swap, drop, insertion or replacement apart share a key), its
   metaphone key and its consonant skeleton (transliteration variants). Keys are computed once per distinct
   token, not per name.
2. **Postings**: for each token id, the names that contain it (a sorted NumPy array per token, built in
   batches; names added later go to a small delta until the next compaction; removed names are masked).

A query's parts are looked up as written, and also **re-segmented**, since data entry moves, drops and adds
spaces: two neighbouring parts joined (``tar ding`` -> ``tarding``), and a long part cut where one side is a
known part (``johnsmiht`` -> ``john`` + ``smiht``). Each listed name earns, for each query part, the best
credit of these readings (similarity x the part's rarity weight), and the names with the highest share of
the query's weight are the candidates. Parts shared by very many names (``mohammad``) are only checked
against the candidates that rarer parts found.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import OSA

from borderwatch.screening.normalize import (
    ORG_STOPWORDS,
    PARTICLES,
    consonant_skeleton,
    phonetic_key,
    squeeze,
)

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]

EXACT = 1.0
ONE_EDIT = 0.85
TWO_EDITS = 0.65
SOUNDS_ALIKE = 0.7


@lru_cache(maxsize=100_000)
def deletion_keys(token: str) -> tuple[str, ...]:
    """The token and every form of it with one letter removed (tokens of three letters or more)."""
    if len(token) < 3 or token.isdigit():
        return (token,)
    return (token, *dict.fromkeys(token[:i] + token[i + 1 :] for i in range(len(token))))


def _sound_keys(token: str) -> list[str]:
    if len(token) < 3 or token.isdigit():
        return []
    keys = []
    phonetic = phonetic_key(token)
    if len(phonetic) >= 2:
        keys.append(f"p:{phonetic}")
    skeleton = consonant_skeleton(token)
    if len(skeleton) >= 3:
        keys.append(f"s:{skeleton}")
    return keys


@dataclass(frozen=True, slots=True)
class _Similar:
    """The listed tokens a query part may be: the rare ones as arrays (token ids, similarities), the
    common ones as (token id, similarity) pairs."""

    any: bool
    rare: npt.NDArray[np.int64]
    rare_similarity: FloatArray
    common: tuple[tuple[int, float], ...]


class _Readings:
    """The readings of a query's parts: each part (group) has readings (the part as written, cut in two,
    joined with a neighbour); each reading has options (one per piece), each the listed tokens that piece
    may be, with their credit (similarity x the piece's share of the part's weight). Options of a reading
    are numbered contiguously, and readings of a group."""

    def __init__(self, parts: int) -> None:
        self.parts = parts
        self.options: list[tuple[_Similar, float, float]] = []  # (tokens, credit = similarity x both)
        self.reading_of: list[int] = []  # option -> reading
        self.caps: list[float] = []  # reading -> the weight of its part
        self.group_of: list[int] = []  # reading -> part

    def add(self, group: int, cap: float, pieces: list[tuple[_Similar, float, float]]) -> None:
        for piece in pieces:
            self.options.append(piece)
            self.reading_of.append(len(self.caps))
        self.caps.append(cap)
        self.group_of.append(group)

    def coverage(
        self, names: npt.NDArray[np.int64], option_ids: npt.NDArray[np.int64], credit: FloatArray
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """From (name, option, credit) triples: each option's best credit per name, summed over a
        reading's options (capped at the part's weight), the best reading per part, summed over the parts.
        Returns the names (sorted) and their sums. One sort; options without a triple add nothing."""
        options, readings = len(self.options), len(self.caps)
        key = names * options + option_ids
        order = np.argsort(key, kind="stable")
        key, credit = key[order], credit[order]
        starts = _run_starts(key)
        key, credit = key[starts], np.maximum.reduceat(credit, starts)
        # per (name, reading): the sum of its options' credits, at most the part's weight
        key = key // options * readings + np.asarray(self.reading_of)[key % options]
        starts = _run_starts(key)
        key, credit = key[starts], np.add.reduceat(credit, starts)
        reading_ids = key % readings
        np.minimum(credit, np.asarray(self.caps)[reading_ids], out=credit)
        # per (name, part): its best reading; per name: the sum over parts
        key = key // readings * self.parts + np.asarray(self.group_of)[reading_ids]
        starts = _run_starts(key)
        key, credit = key[starts], np.maximum.reduceat(credit, starts)
        names = key // self.parts
        starts = _run_starts(names)
        return names[starts], np.add.reduceat(credit, starts)


def _run_starts(key: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Where each run of equal values of the sorted ``key`` starts."""
    return np.concatenate(([0], np.flatnonzero(key[1:] != key[:-1]) + 1))


class NameIndex:
    """Blocking index over normalised names (token tuples); names are identified by their insertion number."""

    def __init__(self, *, common_postings: int = 1000, compact_every: int = 50_000) -> None:
        self.common_postings = common_postings
        self.compact_every = compact_every
        self._vocab: dict[str, int] = {}
        self._tokens: list[str] = []
        self._keys: dict[str, list[int]] = defaultdict(list)  # blocking key -> token ids
        self._offsets: IntArray = np.zeros(1, dtype=np.int32)  # CSR over token ids
        self._postings: IntArray = np.zeros(0, dtype=np.int32)
        self._delta: dict[int, list[int]] = defaultdict(list)
        self._delta_size = 0
        self._df: list[int] = []  # names per token (alive or not)
        self._name_tokens: list[tuple[int, ...]] = []
        self._alive = np.zeros(0, dtype=bool)
        self._alive_count = 0
        # (token id, name id) pairs not yet in the CSR or the delta
        self._pending_tids: array[int] = array("i")
        self._pending_names: array[int] = array("i")
        self._joined: dict[str, list[int]] = defaultdict(list)  # the name without spaces -> name ids
        self._similar_cache: dict[str, _Similar] = {}

    # -- building -------------------------------------------------------------------------------------

    def _token_id(self, token: str) -> int:
        tid = self._vocab.get(token)
        if tid is None:
            tid = len(self._tokens)
            self._vocab[token] = tid
            self._tokens.append(token)
            self._df.append(0)
            for key in deletion_keys(token):
                self._keys[key].append(tid)
            for key in _sound_keys(token):
                self._keys[key].append(tid)
        return tid

    def add(self, tokens: Sequence[str]) -> int:
        """Index one name (its normalised tokens); returns its name id. Call ``commit`` after a batch."""
        name_id = len(self._name_tokens)
        if len(tokens) > 1:
            # Written without spaces in its own order and with its first part moved last (``smith john``
            # -> ``johnsmith``): what a query whose spaces moved or were lost still spells.
            # Doubled letters are written once, so a letter doubled or lost at the seam still meets.
            for joined in dict.fromkeys(
                squeeze(j) for j in ("".join(tokens), "".join((*tokens[1:], tokens[0])))
            ):
                self._joined[joined].append(name_id)
        ids = tuple(dict.fromkeys(self._token_id(t) for t in tokens))
        self._name_tokens.append(ids)
        for tid in ids:
            self._df[tid] += 1
            self._pending_tids.append(tid)
            self._pending_names.append(name_id)
        return name_id

    def remove(self, name_ids: Iterable[int]) -> None:
        """Mask names (a changed or removed list entry's); they are dropped at the next compaction."""
        ids = [i for i in name_ids if i < len(self._alive) and self._alive[i]]
        self._alive[ids] = False
        self._alive_count -= len(ids)

    def commit(self, *, compact: bool = False) -> None:
        """Make the names added since the last commit searchable (into the delta, or by a compaction)."""
        count = len(self._name_tokens)
        if len(self._alive) < count:
            grown = np.ones(count, dtype=bool)
            grown[: len(self._alive)] = self._alive
            self._alive_count += count - len(self._alive)
            self._alive = grown
        pending = len(self._pending_tids)
        # Compacting when the delta reaches a quarter of the CSR keeps a long series of loads O(n log n).
        limit = max(self.compact_every, len(self._postings) // 4)
        if compact or not len(self._postings) or self._delta_size + pending > limit:
            self._compact()
        else:
            for tid, name_id in zip(self._pending_tids, self._pending_names, strict=True):
                self._delta[tid].append(name_id)
            self._delta_size += pending
        self._pending_tids, self._pending_names = array("i"), array("i")
        self._similar_cache = {}

    def _compact(self) -> None:
        delta_tids = [t for t, listed in self._delta.items() for _ in listed]
        delta_names = [n for listed in self._delta.values() for n in listed]
        old_tids = np.repeat(np.arange(len(self._offsets) - 1, dtype=np.int32), np.diff(self._offsets))
        tids = np.concatenate(
            [
                old_tids,
                np.frombuffer(self._pending_tids, dtype=np.int32),
                np.asarray(delta_tids, dtype=np.int32),
            ]
        )
        names = np.concatenate(
            [
                self._postings,
                np.frombuffer(self._pending_names, dtype=np.int32),
                np.asarray(delta_names, dtype=np.int32),
            ]
        )
        keep = self._alive[names]
        tids, names = tids[keep], names[keep]
        order = np.lexsort((names, tids))
        tids, names = tids[order], names[order]
        counts = np.bincount(tids, minlength=len(self._tokens))
        self._offsets = np.zeros(len(self._tokens) + 1, dtype=np.int32)
        np.cumsum(counts, out=self._offsets[1:])
        self._postings = names.astype(np.int32)
        self._delta = defaultdict(list)
        self._delta_size = 0

    @property
    def name_count(self) -> int:
        return self._alive_count

    @property
    def token_count(self) -> int:
        return len(self._tokens)

    def memory_bytes(self) -> int:
        """The NumPy arrays' size (the vocabulary and key dictionaries come on top)."""
        return int(self._offsets.nbytes + self._postings.nbytes + self._alive.nbytes)

    # -- querying -------------------------------------------------------------------------------------

    def _postings_of(self, tid: int) -> IntArray:
        if tid + 1 < len(self._offsets):
            base = self._postings[self._offsets[tid] : self._offsets[tid + 1]]
        else:
            base = self._postings[:0]
        extra = self._delta.get(tid)
        if extra:
            base = np.concatenate([base, np.asarray(extra, dtype=np.int32)])
        return base

    def _weight(self, token: str, kind_is_person: bool) -> float:
        tid = self._vocab.get(token)
        df = self._df[tid] if tid is not None else 1
        weight = math.log(1 + max(self._alive_count, 1) / max(df, 1))
        if len(token) == 1:
            return 0.3 * weight
        if token in PARTICLES or (not kind_is_person and token in ORG_STOPWORDS):
            return 0.3 * weight
        return weight

    def _similar_tokens(self, token: str) -> _Similar:
        """Listed tokens a query part may be, with their similarity (exact, one or two edits, sound), as
        arrays, the rare ones (in at most ``common_postings`` names) apart from the common ones."""
        cached = self._similar_cache.get(token)
        if cached is None:
            if len(self._similar_cache) > 200_000:
                self._similar_cache = {}
            found = self._find_similar(token)
            rare = [t for t in found if self._df[t] <= self.common_postings]
            common = [t for t in found if self._df[t] > self.common_postings]
            cached = self._similar_cache[token] = _Similar(
                bool(found),
                np.asarray(rare, dtype=np.int64),
                np.asarray([found[t] for t in rare]),
                tuple((t, found[t]) for t in common),
            )
        return cached

    def _find_similar(self, token: str) -> dict[int, float]:
        found: dict[int, float] = {}
        exact = self._vocab.get(token)
        if exact is not None:
            found[exact] = EXACT
        if len(token) >= 3 and not token.isdigit():
            for key in deletion_keys(token):
                for tid in self._keys.get(key, ()):
                    if tid in found:
                        continue
                    other = self._tokens[tid]
                    distance = OSA.distance(token, other, score_cutoff=2)
                    if distance <= 1:
                        found[tid] = ONE_EDIT
                    elif distance == 2 and min(len(token), len(other)) >= 6:
                        found[tid] = TWO_EDITS
            for key in _sound_keys(token):
                for tid in self._keys.get(key, ()):
                    if tid not in found and self._tokens[tid][0] == token[0]:
                        found[tid] = SOUNDS_ALIKE
        return found

    def _splits(self, token: str) -> list[tuple[str, str]]:
        """Cuts of a long part into two where one side is a known part (``johnsmiht`` -> john, smiht)."""
        out = []
        for cut in range(2, len(token) - 1):
            left, right = token[:cut], token[cut:]
            if (left in self._vocab and len(left) >= 3) or (right in self._vocab and len(right) >= 3):
                out.append((left, right))
        return out

    def _gather(self, tid_array: npt.NDArray[np.int64]) -> tuple[IntArray, npt.NDArray[np.int64]]:
        """The names containing each of ``tid_array`` (CSR and delta), with the position in
        ``tid_array`` of the token that found each name."""
        if not len(tid_array):
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
        in_csr = np.flatnonzero(tid_array < len(self._offsets) - 1)
        starts = self._offsets[tid_array[in_csr]].astype(np.int64)
        lengths = self._offsets[tid_array[in_csr] + 1].astype(np.int64) - starts
        total = int(lengths.sum())
        shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        ids = self._postings[np.arange(total, dtype=np.int64) + shift]
        which = np.repeat(in_csr, lengths)
        if self._delta:
            extra = [(self._delta[t], i) for i, t in enumerate(tid_array.tolist()) if self._delta.get(t)]
            if extra:
                ids = np.concatenate([ids, *(np.asarray(names, dtype=np.int32) for names, _ in extra)])
                which = np.concatenate([which, *(np.full(len(names), i) for names, i in extra)])
        return ids, which

    def _spelled(self, tokens: Sequence[str]) -> list[int]:
        """Names with the same letters as the query up to one added letter, spaced differently."""
        joined = squeeze("".join(tokens))
        spelled: list[int] = []
        for key in deletion_keys(joined) if len(joined) >= 8 else (joined,):
            spelled.extend(self._joined.get(key, ()))
        return spelled

    def _readings(self, tokens: Sequence[str], weights: list[float]) -> _Readings:
        """Each query part's readings: as written, cut in two where one side is a known part, joined with
        a neighbour."""
        readings = _Readings(len(tokens))
        merged = [self._similar_tokens(tokens[i] + tokens[i + 1]) for i in range(len(tokens) - 1)]
        for index, token in enumerate(tokens):
            readings.add(index, weights[index], [(self._similar_tokens(token), weights[index], 1.0)])
            if len(token) >= 6:
                share = weights[index] / len(token)
                for left, right in self._splits(token)[:6]:
                    readings.add(
                        index,
                        weights[index],
                        [
                            (self._similar_tokens(left), share, len(left)),
                            (self._similar_tokens(right), share, len(right)),
                        ],
                    )
            for neighbour in (index - 1, index):
                if 0 <= neighbour < len(merged) and merged[neighbour].any:
                    readings.add(index, weights[index], [(merged[neighbour], weights[index], 1.0)])
        return readings

    def candidates(
        self,
        tokens: Sequence[str],
        *,
        person: bool,
        limit: int,
        min_coverage: float,
    ) -> list[int]:
        """Ids of at most ``limit`` names with at least ``min_coverage`` of the query's weight, best first."""
        if not tokens or not self._alive_count:
            return []
        weights = [self._weight(t, person) for t in tokens]
        total = sum(weights)
        readings = self._readings(tokens, weights)
        options = readings.options
        # Phase 1: names found through rarer tokens (and through the name spelled without spaces).
        rare_tids = [similar.rare for similar, _, _ in options]
        ids, which = self._gather(np.concatenate(rare_tids))
        option_index = np.repeat(np.arange(len(options)), [len(t) for t in rare_tids])
        credits = np.concatenate([similar.rare_similarity * one * two for similar, one, two in options])
        spelled = self._spelled(tokens)
        common = [
            (option, tid, similarity * one * two)
            for option, (similar, one, two) in enumerate(options)
            for tid, similarity in similar.common
        ]
        if not len(ids) and not spelled:
            # Only common parts: their names are the pool (a short, common name).
            arrays = [self._postings_of(tid) for _, tid, _ in common]
            if not arrays or not sum(len(a) for a in arrays):
                return []
            pool = np.unique(np.concatenate(arrays))
        else:
            pool = np.unique(np.concatenate([ids, np.asarray(spelled, dtype=np.int32)]))
        pool = pool[self._alive[pool]]
        if not len(pool):
            return []
        # Phase 2, over the (name, option, credit) triples found: each option's best credit per name,
        # summed over a reading's options (capped at the part's weight), the best reading per part,
        # summed over the parts. One sort; names and options without a triple add nothing.
        name_parts = [ids]
        option_parts = [option_index[which]]
        credit_parts = [credits[which]]
        for option, tid, value in common:
            postings = self._postings_of(tid)  # sorted: the delta holds only names newer than the CSR's
            if not len(postings):
                continue
            where = np.minimum(np.searchsorted(postings, pool), len(postings) - 1)
            hit = pool[postings[where] == pool]
            name_parts.append(hit)
            option_parts.append(np.full(len(hit), option))
            credit_parts.append(np.full(len(hit), value))
        names = np.concatenate(name_parts).astype(np.int64)
        alive = self._alive[names]
        names = names[alive]
        option_ids = np.concatenate(option_parts)[alive]
        credit = np.concatenate(credit_parts)[alive]
        score = np.zeros(len(pool))
        if len(names):
            found, sums = readings.coverage(names, option_ids, credit)
            score[np.searchsorted(pool, found)] = sums
        if spelled:
            # The same letters up to one added letter, spaced differently: as good as every part found.
            where = np.minimum(np.searchsorted(pool, spelled), len(pool) - 1)
            score[where] = np.maximum(score[where], 0.9 * total)
        keep = np.flatnonzero(score >= min_coverage * total)
        if len(keep) > limit:
            keep = keep[np.argpartition(-score[keep], limit)[:limit]]
        keep = keep[np.argsort(-score[keep], kind="stable")]
        return [int(pool[i]) for i in keep]
