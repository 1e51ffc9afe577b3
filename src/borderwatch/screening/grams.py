"""A second candidate channel: letter trigrams of the name written without spaces.

The part index (``index.NameIndex``) reads a query part by part; when spaces moved *and* a letter changed
(``DeaTa nkers`` for ``DENA TANKERS``, ``SHAKBANI ALI`` for ``SHAMKHANI, Ali``) no part of the query is one
edit from a listed part, and the name without spaces is two edits from the listed one, beyond its key. A
trigram set of the name without spaces (doubled letters written once) does not care
where the spaces are, and one edit changes at most three trigrams: a name of fifteen letters keeps about
two thirds of its trigrams after two edits. Names are ranked by the Jaccard similarity of their trigram
sets (unpadded beyond five letters: parts come in any order); the best few join the part index's
candidates, and the scorer decides.

Postings are NumPy CSR arrays over trigram ids (built in batches, a small delta for names added since the
last compaction, removed names masked), like the part index. Trigrams found in very many names add little
and cost most: they are skipped when the query has enough rarer ones.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from borderwatch.screening.normalize import squeeze

IntArray = npt.NDArray[np.int32]

PAD = "#"


def trigrams(joined: str) -> list[str]:
    """The distinct trigrams of ``joined`` (a name without spaces), doubled letters written once.

    Short names are padded at both ends so that they have trigrams; longer ones are not, since the parts
    of a person's name come in any order and the ends would then differ for the same name."""
    text = squeeze(joined)
    if len(text) < 6:
        text = f"{PAD}{text}{PAD}"
    return list(dict.fromkeys(text[i : i + 3] for i in range(len(text) - 2)))


class GramIndex:
    """Trigram postings over names without spaces; names are identified by the caller's name ids."""

    def __init__(self, *, compact_every: int = 50_000, common_share: float = 0.02) -> None:
        self.compact_every = compact_every
        self.common_share = common_share
        self._vocab: dict[str, int] = {}
        self._df: list[int] = []
        self._sizes = array("i")  # trigrams per name id
        self._alive = np.zeros(0, dtype=bool)
        self._alive_count = 0
        self._offsets: IntArray = np.zeros(1, dtype=np.int32)
        self._postings: IntArray = np.zeros(0, dtype=np.int32)
        self._delta: dict[int, list[int]] = defaultdict(list)
        self._delta_size = 0
        self._pending_grams: array[int] = array("i")
        self._pending_names: array[int] = array("i")

    def add(self, name_id: int, tokens: Sequence[str]) -> None:
        """Index the name ``name_id`` (its normalised parts; ids are given in increasing order).

        The trigrams of the name written in its own order and with its first part moved last (``smith
        john`` -> ``johnsmith``), since persons are listed family name first and typed either way."""
        while len(self._sizes) < name_id:
            self._sizes.append(0)
        grams = trigrams("".join(tokens))
        if len(tokens) > 1:
            grams = list(dict.fromkeys([*grams, *trigrams("".join((*tokens[1:], tokens[0])))]))
        self._sizes.append(len(grams))
        for gram in grams:
            gid = self._vocab.get(gram)
            if gid is None:
                gid = self._vocab[gram] = len(self._df)
                self._df.append(0)
            self._df[gid] += 1
            self._pending_grams.append(gid)
            self._pending_names.append(name_id)

    def remove(self, name_ids: Iterable[int]) -> None:
        ids = [i for i in name_ids if i < len(self._alive) and self._alive[i]]
        self._alive[ids] = False
        self._alive_count -= len(ids)

    def commit(self, *, compact: bool = False) -> None:
        count = len(self._sizes)
        if len(self._alive) < count:
            grown = np.ones(count, dtype=bool)
            grown[: len(self._alive)] = self._alive
            self._alive_count += count - len(self._alive)
            self._alive = grown
        pending = len(self._pending_grams)
        limit = max(self.compact_every, len(self._postings) // 4)
        if compact or not len(self._postings) or self._delta_size + pending > limit:
            self._compact()
        else:
            for gid, name_id in zip(self._pending_grams, self._pending_names, strict=True):
                self._delta[gid].append(name_id)
            self._delta_size += pending
        self._pending_grams, self._pending_names = array("i"), array("i")

    def _compact(self) -> None:
        delta_grams = [g for g, listed in self._delta.items() for _ in listed]
        delta_names = [n for listed in self._delta.values() for n in listed]
        old = np.repeat(np.arange(len(self._offsets) - 1, dtype=np.int32), np.diff(self._offsets))
        grams = np.concatenate(
            [old, np.frombuffer(self._pending_grams, dtype=np.int32), np.asarray(delta_grams, dtype=np.int32)]
        )
        names = np.concatenate(
            [
                self._postings,
                np.frombuffer(self._pending_names, dtype=np.int32),
                np.asarray(delta_names, dtype=np.int32),
            ]
        )
        keep = self._alive[names]
        grams, names = grams[keep], names[keep]
        order = np.lexsort((names, grams))
        grams, names = grams[order], names[order]
        counts = np.bincount(grams, minlength=len(self._df))
        self._offsets = np.zeros(len(self._df) + 1, dtype=np.int32)
        np.cumsum(counts, out=self._offsets[1:])
        self._postings = names.astype(np.int32)
        self._delta = defaultdict(list)
        self._delta_size = 0

    def memory_bytes(self) -> int:
        return int(self._offsets.nbytes + self._postings.nbytes + self._alive.nbytes + len(self._sizes) * 4)

    def candidates(self, joined: str, *, limit: int, min_similarity: float) -> list[tuple[int, float]]:
        """At most ``limit`` (name id, Jaccard similarity) pairs with a similarity of ``min_similarity`` or
        more, best first."""
        if not self._alive_count:
            return []
        grams = trigrams(joined)
        gids = [g for gram in grams if (g := self._vocab.get(gram)) is not None]
        size = len(grams)
        if not gids:
            return []
        common = max(1000, int(self.common_share * self._alive_count))
        rare = [g for g in gids if self._df[g] <= common]
        # A query made of common trigrams only still looks them up; else the common ones are left out,
        # which can only lower the similarity of a name (never raise a wrong one).
        use = rare if len(rare) >= max(3, size // 2) else gids
        tids = np.asarray(use, dtype=np.int64)
        in_csr = tids < len(self._offsets) - 1
        starts = self._offsets[tids[in_csr]].astype(np.int64)
        ends = self._offsets[tids[in_csr] + 1].astype(np.int64)
        lengths = ends - starts
        total = int(lengths.sum())
        shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        parts = [self._postings[np.arange(total, dtype=np.int64) + shift]]
        if self._delta:
            parts.extend(np.asarray(self._delta[g], dtype=np.int32) for g in use if self._delta.get(g))
        ids = np.concatenate(parts)
        if not len(ids):
            return []
        names, shared = np.unique(ids, return_counts=True)
        sizes = np.frombuffer(self._sizes, dtype=np.int32)[names]
        similarity = shared / (size + sizes - shared)
        keep = np.flatnonzero((similarity >= min_similarity) & self._alive[names])
        if len(keep) > limit:
            keep = keep[np.argpartition(-similarity[keep], limit)[:limit]]
        keep = keep[np.argsort(-similarity[keep], kind="stable")]
        return [(int(names[i]), float(similarity[i])) for i in keep]
